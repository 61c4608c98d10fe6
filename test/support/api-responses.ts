/**
 * Every answer an e2e test gets from a local stack is checked against the
 * committed OpenAPI document (openapi-validator.ts), not a sample: an e2e
 * file calls checkResponsesFrom(stack.url) once the stack is up, and from
 * then on the global fetch checks each answer from that origin before the
 * test sees it. A wrong answer rejects the test's own `await fetch(...)`
 * with what was wrong; afterAll fails the file too (in case a test caught
 * that error) and when no answer at all was checked.
 */
import { OPENAPI_LOCAL_PATH } from '../../functions/openapi';
import { OpenApiValidator } from './openapi-validator';

let validator: OpenApiValidator | undefined;
const origins = new Map<string, number>();
const wrong: string[] = [];
const originalFetch = globalThis.fetch;

function requestOf(input: Parameters<typeof fetch>[0], init: Parameters<typeof fetch>[1]): { url: URL; method: string } {
  const url = new URL(input instanceof Request ? input.url : String(input));
  const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
  return { url, method: method.toUpperCase() };
}

async function checkedFetch(input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]): Promise<Response> {
  const response = await originalFetch(input, init);
  const { url, method } = requestOf(input, init);
  const seen = origins.get(url.origin);
  // The document itself is not an API route (the local front serves it); its own test compares it.
  if (seen === undefined || (method === 'GET' && url.pathname === OPENAPI_LOCAL_PATH)) return response;
  origins.set(url.origin, seen + 1);
  validator ??= new OpenApiValidator();
  const problems = validator.problems({ method, path: url.pathname, status: response.status, headers: response.headers, body: await response.clone().text() });
  if (problems.length > 0) {
    wrong.push(...problems);
    throw new Error(`the answer does not match docs/openapi.json:\n${problems.join('\n')}`);
  }
  return response;
}

/** Checks every answer from this base URL (a local stack's) against the document, from now until the file ends. */
export function checkResponsesFrom(baseUrl: string): void {
  origins.set(new URL(baseUrl).origin, 0);
  globalThis.fetch = checkedFetch as typeof fetch;
}

/** The problems found so far, cleared: for a test that makes a wrong answer on purpose. */
export function takeProblems(): string[] {
  return wrong.splice(0);
}

/** How many answers were checked so far (all origins). */
export function checkedResponses(): number {
  return [...origins.values()].reduce((sum, count) => sum + count, 0);
}

afterAll(() => {
  globalThis.fetch = originalFetch;
  const unchecked = [...origins].filter(([, count]) => count === 0).map(([origin]) => origin);
  origins.clear();
  expect(wrong).toEqual([]);
  // A stack registered but never answered through fetch: the check did not run.
  expect(unchecked).toEqual([]);
});
