/**
 * End to end: the local stack serves the OpenAPI document at
 * GET /openapi.json (no key), exactly as committed; and the response check
 * every e2e file runs rejects a wrong answer that comes over real HTTP from
 * the local front (the real get-task route, served by a handler that
 * answers a field the document does not have).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { OPENAPI_DOCUMENT_PATH, OPENAPI_LOCAL_PATH } from '../../functions/openapi';
import { routes } from '../../functions/routes';
import { startHttpFront, type HttpFront } from '../../lib/local/http-front';
import { startLocalStack, type LocalStack } from '../../lib/local/local-stack';
import { checkResponsesFrom, takeProblems } from '../support/api-responses';
import { testEndpoint } from '../support/dynamo';

let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({
    env: {},
    port: 0,
    dynamoEndpoint: testEndpoint(),
    tablePrefix: `oas${randomBytes(4).toString('hex')}_`,
    background: false,
    accessLog: false,
    errorLog: () => undefined,
  });
  checkResponsesFrom(stack.url);
});
afterAll(async () => {
  await stack?.stop();
});

test('GET /openapi.json: the committed document, without a key', async () => {
  const response = await fetch(`${stack.url}${OPENAPI_LOCAL_PATH}`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(await response.json()).toEqual(JSON.parse(readFileSync(join(__dirname, '..', '..', OPENAPI_DOCUMENT_PATH), 'utf8')));
});

test('the document is served on GET only; another method is an unknown route', async () => {
  const response = await fetch(`${stack.url}${OPENAPI_LOCAL_PATH}`, { method: 'POST', body: '{}' });
  expect(response.status).toBe(404);
});

test('create, then list the deliveries of a task without a hook: both answers as documented', async () => {
  const headers = { Authorization: `Bearer ${stack.clientKey}`, 'Content-Type': 'application/json' };
  const created = await fetch(`${stack.url}/luma/generations`, { method: 'POST', headers, body: JSON.stringify({ user_prompt: 'a dog on a beach' }) });
  expect(created.status).toBe(200);
  const taskId = ((await created.json()) as any).data.task_id;
  const listed = await fetch(`${stack.url}/luma/generations/${taskId}/deliveries`, { headers });
  expect(listed.status).toBe(200);
  // Issue 9: the list also says where each notification stands (none here: the task has no hook).
  expect(((await listed.json()) as any).data).toEqual({ task_id: taskId, deliveries: [], notifications: [] });
});

describe('a wrong answer over HTTP fails the check', () => {
  let front: HttpFront;
  const getTask = routes.find((route) => route.functionName === 'get-task')!;
  const task = {
    task_id: 'bd2699dc-6b17-4ec7-8733-d75cb90dfd34',
    task_status: 'completed',
    parent_task_id: null,
    prompt: 'add cat',
    video_url: 'https://cdn.example.com/v.mp4',
    video_raw_url: null,
    thumbnail_url: null,
    last_frame_url: null,
    asset_state: 'pending',
    asset_failure_reason: null,
    urls_expire_at: null,
    failure_reason: null,
    failure_code: null,
    created_at: 1795543663,
    updated_at: 1795543700,
  };
  const answer = (data: unknown): APIGatewayProxyResult => ({
    statusCode: 200,
    headers: { 'Content-Type': 'application/json', 'X-Request-Id': 'req-1' },
    body: JSON.stringify({ code: 0, message: 'success', request_id: 'req-1', data }),
  });
  let data: unknown = task;

  beforeAll(async () => {
    front = await startHttpFront({
      routes: [getTask],
      loadHandler: async () => async () => answer(data),
      authorizer: async () => ({
        principalId: 'client-1',
        policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: '*' }] },
        context: { clientId: 'client-1' },
      }),
      accessLog: false,
      errorLog: () => undefined,
    });
    checkResponsesFrom(front.url);
  });
  afterAll(() => front?.stop());

  const read = () => fetch(`${front.url}/luma/generations/${task.task_id}`, { headers: { Authorization: 'Bearer lgw_0123456789abcdef' } });

  test('the right answer passes', async () => {
    data = task;
    expect((await read()).status).toBe(200);
  });

  test('an undocumented field rejects the request, and is recorded', async () => {
    data = { ...task, owner_id: 'client-1' };
    await expect(read()).rejects.toThrow(/GET \/luma\/generations\/\{task_id\} → 200: body\/data must NOT have additional properties \{"additionalProperty":"owner_id"\}/);
    expect(takeProblems()).toHaveLength(1);
  });

  test('a missing field too', async () => {
    const { video_url: _dropped, ...rest } = task;
    data = rest;
    await expect(read()).rejects.toThrow(/must have required property 'video_url'/);
    expect(takeProblems()).toHaveLength(1);
  });
});
