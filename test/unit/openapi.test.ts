/**
 * The OpenAPI document: the committed file is what the code generates; it
 * has every route of the route table and nothing else; its error codes are
 * the gateway's; the envelope schemas match what the gateway sends; the
 * request schemas never refuse what the gateway accepts; and the response
 * check the e2e tests run fails on wrong answers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { join } from 'node:path';
import * as z from 'zod/mini';
import { DomainError, type FailureKind } from '#domain/errors';
import { generationRequestSchema, taskIdPathSchema } from '#domain/generation-request';
import { deliveryListSchema, taskViewSchema } from '#domain/views';
import { errorResponse, successResponse } from '#http/envelope';
import { errorCatalog } from '#http/error-catalog';
import { errorEnvelopeSchema, successEnvelopeSchema } from '#http/envelope-schema';
import { ErrorCode, HttpError, httpErrorOf, internalError } from '#http/errors';
import { gatewayResponseBody, gatewayResponses } from '#http/gateway-responses';
import { OPENAPI_DOCUMENT_PATH, openApiDocument, openApiText } from '../../functions/openapi';
import { routes, type RouteDefinition } from '../../functions/routes';
import { committedOpenApiDocument, documentedOperations, OpenApiValidator } from '../support/openapi-validator';

const ROOT = join(__dirname, '..', '..');
const generated = openApiDocument();
const committed = committedOpenApiDocument();
const validator = new OpenApiValidator(committed);

const TASK = {
  task_id: 'bd2699dc-6b17-4ec7-8733-d75cb90dfd34',
  task_status: 'pending',
  parent_task_id: '4665a07c-7641-4809-a133-10786201bb56',
  prompt: 'add cat',
  video_url: null,
  video_raw_url: null,
  thumbnail_url: null,
  last_frame_url: null,
  asset_state: null,
  asset_failure_reason: null,
  urls_expire_at: null,
  failure_reason: null,
  failure_code: null,
  created_at: 1795543663,
  updated_at: 1795543663,
};

describe('the committed document', () => {
  test(`${OPENAPI_DOCUMENT_PATH} is what the code generates (else: npm run openapi, and commit it)`, () => {
    expect(readFileSync(join(ROOT, OPENAPI_DOCUMENT_PATH), 'utf8')).toBe(openApiText(generated));
  });

  test('a field added to a view makes the committed document stale', () => {
    const listDeliveries = routes.find((route) => route.functionName === 'list-deliveries')!;
    const grown = z.extend(deliveryListSchema, { total: z.int() });
    const changed = routes.map((route) => (route === listDeliveries ? { ...route, contract: { ...route.contract!, data: grown } } : route));
    expect(openApiText(openApiDocument(changed))).not.toBe(readFileSync(join(ROOT, OPENAPI_DOCUMENT_PATH), 'utf8'));
  });
});

describe('routes', () => {
  test('every route of the route table is in the document, and nothing else', () => {
    expect(documentedOperations(committed).sort()).toEqual(routes.map((route) => `${route.method} ${route.path}`).sort());
  });

  test('client routes take the Bearer key; the callback route none (its token is in the path)', () => {
    for (const route of routes) {
      const operation = committed.paths[route.path][route.method.toLowerCase()];
      expect(operation.security).toEqual(route.auth === 'client' ? [{ clientKey: [] }] : []);
      // Client routes: the authorizer's 401. The callback never answers 401: a wrong token is answered as an unknown one (404).
      expect('401' in operation.responses).toBe(route.auth === 'client');
    }
    expect(committed.components.securitySchemes.clientKey).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  test('a route without a contract, or whose contract names other path parameters, is refused', () => {
    const bare: RouteDefinition = { functionName: 'later', method: 'GET', path: '/luma/later', auth: 'client', jsonBody: false, summary: 'later' };
    expect(() => openApiDocument([...routes, bare])).toThrow('route GET /luma/later has no contract');
    const mismatched: RouteDefinition = { ...bare, path: '/luma/later/{id}', contract: { pathParameters: taskIdPathSchema, data: taskViewSchema, errors: [] } };
    expect(() => openApiDocument([mismatched])).toThrow(/path parameters \(task_id\) are not the path's/);
  });
});

describe('error codes', () => {
  const inCatalog = (status: number, code: number) => errorCatalog.some((entry) => entry.status === status && entry.code === code);
  const kinds: FailureKind[] = ['invalid', 'unauthenticated', 'not-found', 'conflict', 'idempotency-mismatch', 'unavailable', 'upstream-rejected', 'upstream-failed', 'upstream-timeout'];

  test('every envelope code of errors.ts is in the catalog', () => {
    const codes = new Set<number>(errorCatalog.map((entry) => entry.code));
    expect(Object.values(ErrorCode).filter((code) => !codes.has(code))).toEqual([]);
  });

  test("every domain failure and the internal error answer a status and code of the catalog", () => {
    for (const kind of kinds) {
      const { status, code } = httpErrorOf(new DomainError(kind, 'x'))!;
      expect([kind, inCatalog(status, code)]).toEqual([kind, true]);
    }
    expect(inCatalog(internalError().status, internalError().code)).toBe(true);
  });

  test("every gateway response's status and code is in the catalog (a function error is DEFAULT_5XX at 502)", () => {
    for (const response of gatewayResponses) {
      expect([response.type, inCatalog(response.statusCode ?? response.fallbackStatus, response.code)]).toEqual([response.type, true]);
    }
    expect(inCatalog(502, gatewayResponses.find((response) => response.type === 'DEFAULT_5XX')!.code)).toBe(true);
  });

  test("every row of the README's error table is in the catalog", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Errors'), readme.indexOf('\n### ', readme.indexOf('### Errors') + 1));
    const rows = [...section.matchAll(/^\| (\d{3}) \| ([\d /]+) \|/gm)].flatMap((m) => m[2].split('/').map((code) => [Number(m[1]), Number(code.trim())] as const));
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.filter(([status, code]) => !inCatalog(status, code))).toEqual([]);
  });

  test("each error status in the document allows exactly that status's codes", () => {
    const statuses = [...new Set(errorCatalog.map((entry) => entry.status))];
    const named = Object.fromEntries(statuses.map((status) => [STATUS_CODES[status]!.replace(/[^A-Za-z0-9]+/g, ''), status]));
    const responses = committed.components.responses as Record<string, any>;
    expect(Object.keys(responses).filter((name) => !(name in named))).toEqual([]);
    for (const [name, response] of Object.entries(responses)) {
      const code = response.content['application/json'].schema.properties.code;
      const expected = errorCatalog.filter((entry) => entry.status === named[name]).map((entry) => entry.code);
      expect([name, code.enum ?? [code.const]]).toEqual([name, expected]);
    }
  });
});

describe('envelope schemas match what the gateway sends', () => {
  test('success and error answers of the handlers', () => {
    const success = successResponse(TASK, 'req-1');
    expect(successEnvelopeSchema(taskViewSchema).safeParse(JSON.parse(success.body)).success).toBe(true);
    const failure = errorResponse(new HttpError(409, ErrorCode.idempotencyMismatch, 'reused'), 'req-2');
    expect(errorEnvelopeSchema([ErrorCode.conflict, ErrorCode.idempotencyMismatch]).safeParse(JSON.parse(failure.body)).success).toBe(true);
    expect(errorEnvelopeSchema([ErrorCode.conflict]).safeParse(JSON.parse(failure.body)).success).toBe(false);
  });

  test("API Gateway's own answers", () => {
    for (const response of gatewayResponses) {
      const status = response.statusCode ?? response.fallbackStatus;
      const codes = errorCatalog.filter((entry) => entry.status === status).map((entry) => entry.code) as [number, ...number[]];
      expect([response.type, errorEnvelopeSchema(codes).safeParse(gatewayResponseBody(response, 'req-3')).success]).toEqual([response.type, true]);
    }
  });
});

describe('request schemas: the document never refuses what the gateway accepts', () => {
  const deployed = generationRequestSchema({ allowLoopbackHttp: false });
  const bodyProblems = (body: unknown) => validator.valueProblems('#/components/schemas/GenerationRequest', body);
  const pathIdProblems = (id: string) => validator.valueProblems('#/paths/~1luma~1generations~1{task_id}/get/parameters/0/schema', id);

  test.each([
    ['the seed example', { user_prompt: 'add cat' }],
    ['a prompt to trim', { user_prompt: ' add cat ', expand_prompt: false }],
    ['every field', { user_prompt: 'a', image_url: 'https://example.com/a.png', image_end_url: 'data:image/png;base64,iVBORw0KGgo=', notify_hook: 'https://hooks.example.com/luma' }],
    ['a 100 kB data URL', { user_prompt: 'a', image_url: `data:image/webp;base64,${'A'.repeat(100_000)}` }],
  ])('accepted by both: %s', (_name, body) => {
    expect(deployed.safeParse(body).success).toBe(true);
    expect(bodyProblems(body)).toEqual([]);
  });

  test.each([
    ['no prompt', {}],
    ['a number for a string', { user_prompt: 5 }],
    ['an unknown field', { user_prompt: 'a', prompt: 'b' }],
    ['a string for a boolean', { user_prompt: 'a', expand_prompt: 'yes' }],
    ['a prompt too long', { user_prompt: 'x'.repeat(4001) }],
  ])('refused by both: %s', (_name, body) => {
    expect(deployed.safeParse(body).success).toBe(false);
    expect(bodyProblems(body)).not.toEqual([]);
  });

  test('a path id in either case (zod accepts both; the pattern carries no flags)', () => {
    for (const id of ['4665a07c-7641-4809-a133-10786201bb56', '4665A07C-7641-4809-A133-10786201BB56']) {
      expect(taskIdPathSchema.safeParse({ task_id: id }).success).toBe(true);
      expect(pathIdProblems(id)).toEqual([]);
    }
    expect(pathIdProblems('not-a-uuid')).not.toEqual([]);
  });
});

describe('the response check (what the e2e tests run on every answer)', () => {
  const headers = (values: Record<string, string>) => new Headers(values);
  const json = { 'content-type': 'application/json; charset=utf-8', 'x-request-id': 'req-1' };
  const answer = (status: number, body: unknown, path = `/luma/generations/${TASK.task_id}`, method = 'GET', values: Record<string, string> = json) => ({
    method,
    path,
    status,
    headers: headers(values),
    body: JSON.stringify(body),
  });
  const success = (data: unknown) => ({ code: 0, message: 'success', request_id: 'req-1', data });
  const failure = (code: number) => ({ code, message: 'task x was not found', request_id: 'req-1', data: null });

  test('right answers pass', () => {
    expect(validator.problems(answer(200, success(TASK)))).toEqual([]);
    expect(validator.problems(answer(404, failure(40400)))).toEqual([]);
    expect(validator.problems(answer(404, failure(40400), '/luma/nowhere'))).toEqual([]);
    expect(validator.problems(answer(200, success({ task_id: TASK.task_id, deliveries: [], notifications: [] }), `/luma/generations/${TASK.task_id}/deliveries`))).toEqual([]);
  });

  test.each([
    ['a field missing', answer(200, success({ ...TASK, video_url: undefined })), /must have required property 'video_url'/],
    ['a field the document does not have', answer(200, success({ ...TASK, progress: 3 })), /must NOT have additional properties/],
    ['a wrong type', answer(200, success({ ...TASK, created_at: '2026-01-01' })), /created_at must be integer/],
    ['a status the task does not have', answer(200, success({ ...TASK, task_status: 'queued' })), /task_status must be equal to one of the allowed values/],
    ['another route\'s data', answer(200, success({ task_id: TASK.task_id, deliveries: [] })), /must have required property/],
    ['a code of another status', answer(404, failure(40900)), /body\/code must be equal to/],
    ['an undocumented status', answer(409, failure(40900)), /status not documented/],
    ['no X-Request-Id on a success', answer(200, success(TASK), undefined, undefined, { 'content-type': 'application/json' }), /header X-Request-Id is required/],
    ['not JSON by Content-Type', answer(200, success(TASK), undefined, undefined, { ...json, 'content-type': 'text/plain' }), /Content-Type text\/plain is not application\/json/],
    ['an unknown route answered 200', answer(200, success(TASK), '/luma/nowhere'), /must be answered 404/],
    ['a method the route does not have', answer(200, success(TASK), `/luma/generations/${TASK.task_id}`, 'DELETE'), /must be answered 404/],
  ])('%s fails', (_name, response, problem) => {
    const problems = validator.problems(response);
    expect(problems.join('\n')).toMatch(problem);
  });

  test('notifications are checked against the webhook', () => {
    expect(validator.webhookBodyProblems('taskChanged', TASK)).toEqual([]);
    expect(validator.webhookBodyProblems('taskChanged', { ...TASK, owner_id: 'c1' })).not.toEqual([]);
  });

  test('every e2e file checks its answers', () => {
    const dir = join(ROOT, 'test', 'e2e');
    const unchecked = readdirSync(dir)
      .filter((file) => file.endsWith('.e2e.test.ts'))
      .filter((file) => !/checkResponsesFrom\(stack\.url\)/.test(readFileSync(join(dir, file), 'utf8')));
    expect(unchecked).toEqual([]);
  });
});
