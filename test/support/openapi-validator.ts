/**
 * Checks an HTTP answer against an OpenAPI document (by default the
 * committed docs/openapi.json, what clients are given): the route is in the
 * document (else the answer must be the unknown-route 404), the status is
 * documented for it, the Content-Type is the documented media type, the
 * required headers are there, and the body validates against the schema
 * (ajv, JSON Schema 2020-12: the dialect of OpenAPI 3.1 schemas).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { OPENAPI_DOCUMENT_PATH } from '../../functions/openapi';

export interface ObservedResponse {
  readonly method: string;
  /** The path as requested, without the query. */
  readonly path: string;
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  readonly body: string;
}

type Json = { [key: string]: any };

const DOCUMENT_ID = 'urn:luma-gateway:openapi';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
/** The answer to a path or method the document does not list (the gateway's MISSING_AUTHENTICATION_TOKEN). */
const UNKNOWN_ROUTE_RESPONSE = '#/components/responses/NotFound';

const pointerToken = (token: string) => token.replace(/~/g, '~0').replace(/\//g, '~1');

export function committedOpenApiDocument(): Json {
  return JSON.parse(readFileSync(join(__dirname, '..', '..', OPENAPI_DOCUMENT_PATH), 'utf8'));
}

interface CompiledPath {
  readonly template: string;
  readonly pattern: RegExp;
  /** Literal segments win over {param} ones, as in API Gateway. */
  readonly literalSegments: number;
}

export class OpenApiValidator {
  private readonly ajv: Ajv2020;
  private readonly paths: CompiledPath[];
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(private readonly document: Json = committedOpenApiDocument()) {
    this.ajv = new Ajv2020({ allErrors: true, strict: true });
    addFormats(this.ajv);
    // The document's own fields are not JSON Schema keywords; the schemas inside it are checked strictly.
    this.ajv.addVocabulary(['openapi', 'info', 'servers', 'paths', 'webhooks', 'components', 'security', 'tags', 'externalDocs', 'jsonSchemaDialect']);
    this.ajv.addSchema({ ...document, $id: DOCUMENT_ID });
    this.paths = Object.keys(document.paths ?? {})
      .map((template) => ({
        template,
        pattern: new RegExp(`^${template.split('/').map((segment) => (/^\{[^}]+\}$/.test(segment) ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/')}$`),
        literalSegments: template.split('/').filter((segment) => segment !== '' && !segment.startsWith('{')).length,
      }))
      .sort((a, b) => b.literalSegments - a.literalSegments);
  }

  /** The documented route (path template and method) an answer belongs to, or undefined. */
  route(method: string, path: string): { template: string; method: string } | undefined {
    const lower = method.toLowerCase();
    const found = this.paths.find((candidate) => candidate.pattern.test(path) && this.document.paths[candidate.template][lower] !== undefined);
    return found && { template: found.template, method: lower };
  }

  /** What is wrong with an answer, as sentences; empty when it is what the document says. */
  problems(response: ObservedResponse): string[] {
    const route = this.route(response.method, response.path);
    const label = route ? `${response.method} ${route.template} → ${response.status}` : `${response.method} ${response.path} (no such route) → ${response.status}`;
    let pointer: string;
    if (route === undefined) {
      if (response.status !== 404) return [`${label}: a path or method the document does not list must be answered 404`];
      pointer = UNKNOWN_ROUTE_RESPONSE;
    } else {
      const responsesPointer = `#/paths/${pointerToken(route.template)}/${route.method}/responses`;
      const documented = this.resolve(responsesPointer) as Json;
      const key = String(response.status) in documented ? String(response.status) : `${String(response.status)[0]}XX` in documented ? `${String(response.status)[0]}XX` : 'default';
      if (!(key in documented)) return [`${label}: status not documented (documented: ${Object.keys(documented).join(', ')})`];
      pointer = `${responsesPointer}/${key}`;
    }
    const { pointer: responsePointer, value: documentedResponse } = this.follow(pointer);
    return this.checkAgainst(label, responsePointer, documentedResponse, response);
  }

  /** What is wrong with a webhook's body (a notification a client's hook received). */
  webhookBodyProblems(name: string, body: unknown): string[] {
    return this.valueProblems(`#/webhooks/${pointerToken(name)}/post/requestBody/content/application~1json/schema`, body);
  }

  /** What is wrong with a value, against the schema at a pointer of the document (#/components/schemas/Task). */
  valueProblems(pointer: string, value: unknown): string[] {
    return this.schemaProblems(pointer, pointer, value);
  }

  private checkAgainst(label: string, pointer: string, documented: Json, response: ObservedResponse): string[] {
    const problems: string[] = [];
    for (const [name, header] of Object.entries((documented.headers ?? {}) as Record<string, Json>)) {
      if (header.required === true && response.headers.get(name) === null) problems.push(`${label}: header ${name} is required`);
    }
    const content = (documented.content ?? {}) as Record<string, Json>;
    const mediaTypes = Object.keys(content);
    if (mediaTypes.length === 0) {
      if (response.body !== '') problems.push(`${label}: the document gives no body, got ${response.body.length} bytes`);
      return problems;
    }
    const contentType = (response.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
    const mediaType = mediaTypes.find((type) => type.toLowerCase() === contentType);
    if (mediaType === undefined) return [...problems, `${label}: Content-Type ${contentType || '(none)'} is not ${mediaTypes.join(' or ')}`];
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch {
      return [...problems, `${label}: the body is not JSON: ${response.body.slice(0, 200)}`];
    }
    return [...problems, ...this.schemaProblems(label, `${pointer}/content/${pointerToken(mediaType)}/schema`, body)];
  }

  private schemaProblems(label: string, pointer: string, value: unknown): string[] {
    let validate = this.validators.get(pointer);
    if (validate === undefined) {
      validate = this.ajv.compile({ $ref: `${DOCUMENT_ID}${pointer}` });
      this.validators.set(pointer, validate);
    }
    if (validate(value)) return [];
    const shown = JSON.stringify(value).slice(0, 300);
    return (validate.errors ?? []).map((error) => `${label}: body${error.instancePath || ''} ${error.message ?? 'is invalid'}${error.params ? ` ${JSON.stringify(error.params)}` : ''} (body ${shown})`);
  }

  /** The value at a local JSON pointer (#/a/b). */
  private resolve(pointer: string): unknown {
    let value: unknown = this.document;
    for (const raw of pointer.replace(/^#\//, '').split('/')) {
      const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      value = (value as Json | undefined)?.[token];
      if (value === undefined) throw new Error(`the document has nothing at ${pointer}`);
    }
    return value;
  }

  /** A response object, following a $ref to components.responses. */
  private follow(pointer: string): { pointer: string; value: Json } {
    const value = this.resolve(pointer) as Json;
    return typeof value.$ref === 'string' ? this.follow(value.$ref) : { pointer, value };
  }
}

/** The methods a path item documents. */
export function documentedOperations(document: Json): string[] {
  return Object.entries((document.paths ?? {}) as Record<string, Json>).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((key) => METHODS.includes(key))
      .map((method) => `${method.toUpperCase()} ${path}`),
  );
}
