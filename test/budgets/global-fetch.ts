/**
 * Where a bundle refers to the global `fetch` (an outbound call that skips
 * the keep-alive agents of node:http/node:https; issue 13: its first request
 * costs 2 to 4 times theirs). The minified bundle is parsed (swc) and every
 * identifier `fetch` is looked at:
 *
 * - a property name (`x.fetch`, `{ fetch: ... }`, a method or class member
 *   named fetch) is not the global, unless read off a global object
 *   (`globalThis.fetch`, `self.fetch`, `window.fetch`, `global.fetch`);
 * - every other `fetch` identifier is: the minifier renames local bindings,
 *   so one left by that name is the global (`fetch(...)`, `const f = fetch`,
 *   the shorthand `{ fetch }`).
 *
 * Text in strings and comments ("Failed to fetch", the SDK's package.json
 * naming @smithy/fetch-http-handler) is no identifier and never counts.
 */
import { parseSync } from '@swc/core';

const GLOBAL_OBJECTS = new Set(['globalThis', 'global', 'self', 'window']);
const NAME_POSITIONS = new Set(['key', 'property']);

/** Each global-fetch reference, as a short excerpt of the code around it. */
export function globalFetchReferences(code: string): string[] {
  const ast = parseSync(code, { syntax: 'ecmascript', target: 'es2022' });
  const found: string[] = [];
  const offset = ast.span.start;
  const excerpt = (span: { start: number; end: number }) => code.slice(Math.max(0, span.start - offset - 40), span.end - offset + 40);
  const visit = (node: unknown, key: string | undefined, parent: any): void => {
    if (node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const child of node) visit(child, key, parent);
      return;
    }
    const n = node as Record<string, any>;
    if (n.type === 'Identifier' && n.value === 'fetch') {
      const offGlobal = parent?.type === 'MemberExpression' && parent.object?.type === 'Identifier' && GLOBAL_OBJECTS.has(parent.object.value);
      if (!NAME_POSITIONS.has(key ?? '') || offGlobal) found.push(excerpt(n.span));
      return;
    }
    // `x["fetch"]` off a global object counts too.
    if (n.type === 'MemberExpression' && n.object?.type === 'Identifier' && GLOBAL_OBJECTS.has(n.object.value) && n.property?.type === 'Computed' && n.property.expression?.value === 'fetch') {
      found.push(excerpt(n.span));
    }
    for (const [childKey, child] of Object.entries(n)) if (childKey !== 'span') visit(child, childKey, n);
  };
  visit(ast, undefined, undefined);
  return found;
}
