/**
 * zod schemas as OpenAPI 3.1 schema objects (JSON Schema 2020-12, zod 4's
 * z.toJSONSchema). A schema named with z.meta({ id }) becomes one entry of
 * components.schemas and is referenced wherever it is used, so a type that
 * appears in several answers (Task) is one component for client generators.
 */
import * as z from 'zod/mini';

export type JsonSchema = { [keyword: string]: unknown };

/** Which side of a transform a schema describes: what a client sends, or what it receives. */
export type SchemaSide = 'input' | 'output';

const COMPONENT_REF = '#/components/schemas/';

/** zod names the definitions it hoists #/$defs/<id>; in the document they are components. */
function withComponentRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withComponentRefs);
  if (value === null || typeof value !== 'object') return value;
  const result: JsonSchema = {};
  for (const [key, field] of Object.entries(value)) {
    result[key] = key === '$ref' && typeof field === 'string' && field.startsWith('#/$defs/') ? COMPONENT_REF + field.slice('#/$defs/'.length) : withComponentRefs(field);
  }
  return result;
}

export class SchemaComponents {
  /** components.schemas, in the order first met. */
  readonly schemas: Record<string, JsonSchema> = {};

  convert(schema: z.ZodMiniType, side: SchemaSide): JsonSchema {
    // 'throw': a type JSON Schema cannot express (a transform's output, a bigint) fails the build
    // rather than becoming `{}`. Refinements (superRefine) are not types: they vanish silently,
    // which is why each such rule is stated in its field's description (generation-request.ts).
    const generated = z.toJSONSchema(schema, { target: 'draft-2020-12', io: side, unrepresentable: 'throw', cycles: 'throw', reused: 'inline' }) as JsonSchema;
    const { $schema: _dialect, $defs, ...root } = generated;
    for (const [name, definition] of Object.entries(($defs ?? {}) as Record<string, unknown>)) this.add(name, withComponentRefs(definition) as JsonSchema);
    return withComponentRefs(root) as JsonSchema;
  }

  private add(name: string, definition: JsonSchema): void {
    const existing = this.schemas[name];
    if (existing !== undefined && JSON.stringify(existing) !== JSON.stringify(definition)) {
      throw new Error(`two different schemas are named ${name} (an id given twice, or one schema read as input and as output)`);
    }
    this.schemas[name] = definition;
  }
}
