/**
 * End to end: the whole local stack (front, authorizer, extend handler,
 * local Secrets Manager, upstream simulator) against the jest DynamoDB
 * Local, driven over HTTP with fetch as a client would.
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { sha256Hex } from '#domain/credentials';
import { MAX_BODY_BYTES } from '../../functions/routes';
import { localDynamoClient } from '../../lib/local/dynamodb-local';
import type { AccessLogEntry } from '../../lib/local/http-front';
import { startLocalStack, type LocalStack } from '../../lib/local/local-stack';
import type { UpstreamSimulator } from '../../lib/local/upstream-simulator';
import { tasksWithPrompt as tasksWithPromptIn, testEndpoint } from '../support/dynamo';
import { checkResponsesFrom } from '../support/api-responses';

jest.setTimeout(30_000);

const PARENT = '4665a07c-7641-4809-a133-10786201bb56';
const UPSTREAM_TIMEOUT_MS = 1000;

let stack: LocalStack;
let sim: UpstreamSimulator;
let doc: DynamoDBDocumentClient;
const accessLog: AccessLogEntry[] = [];
const errors: string[] = [];

beforeAll(async () => {
  stack = await startLocalStack({
    env: {}, // nothing from the developer's shell
    port: 0,
    dynamoEndpoint: testEndpoint(),
    tablePrefix: `e2e${randomBytes(4).toString('hex')}_`,
    upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS,
    background: false,
    simulator: { seed: 42, stepDelayMs: 300 },
    accessLog: (entry) => accessLog.push(entry),
    errorLog: (line) => errors.push(line),
  });
  checkResponsesFrom(stack.url);
  sim = stack.upstream!;
  doc = DynamoDBDocumentClient.from(localDynamoClient(stack.dynamoEndpoint));
});
afterAll(async () => {
  doc?.destroy();
  await stack?.stop();
});
afterEach(() => sim.reset());

const auth = () => ({ Authorization: `Bearer ${stack.clientKey}`, 'Content-Type': 'application/json' });
const unique = (label: string) => `${label} ${randomBytes(4).toString('hex')}`;

function extend(body: unknown, options: { headers?: Record<string, string>; parent?: string; raw?: string } = {}) {
  return fetch(`${stack.url}/luma/generations/${options.parent ?? PARENT}/extend`, {
    method: 'POST',
    headers: options.headers ?? auth(),
    body: options.raw ?? JSON.stringify(body),
  });
}

async function countTasks(): Promise<number> {
  let count = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(new ScanCommand({ TableName: stack.tableNames.tasks, Select: 'COUNT', ConsistentRead: true, ExclusiveStartKey: start }));
    count += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start);
  return count;
}

const tasksWithPrompt = (prompt: string) => tasksWithPromptIn(doc, stack.tableNames.tasks, prompt);

const readTask = async (taskId: string) =>
  (await doc.send(new GetCommand({ TableName: stack.tableNames.tasks, Key: { task_id: taskId }, ConsistentRead: true }))).Item as Record<string, any> | undefined;

const json = async (response: Response): Promise<any> => response.json();

test('100 extends on one warm process read the upstream secret once', async () => {
  sim.setFaults({ callbacks: { dropRate: 1 } }); // measure the extends alone
  const before = stack.secrets.getSecretValueCalls;
  const started = Date.now();
  const statuses: number[] = [];
  for (let batch = 0; batch < 10; batch += 1) {
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => extend({ user_prompt: `burst ${batch}-${i}` })));
    statuses.push(...answers.map((r) => r.status));
    await Promise.all(answers.map((r) => r.arrayBuffer()));
  }
  const elapsed = Date.now() - started;
  const calls = stack.secrets.getSecretValueCalls - before;
  console.log(`Secrets Manager GetSecretValue calls for 100 extend requests on one warm process: ${calls} (100 extends in ${elapsed} ms, 10 concurrent)`);
  expect(statuses).toEqual(Array(100).fill(200));
  expect(calls).toBe(1);
  expect(sim.requests.filter((r) => r.path.endsWith('/extend'))).toHaveLength(100);
});

test('extend: the envelope, the task in DynamoDB, and what the upstream received', async () => {
  sim.setFaults({ stepDelayMs: 10_000 }); // keep the task pending while we look
  const prompt = unique('add cat');
  const clientHook = 'http://127.0.0.1:9/client-hook';
  const response = await extend({ user_prompt: prompt, expand_prompt: true, image_url: 'https://example.com/a.png', notify_hook: clientHook });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = await json(response);
  expect(body).toMatchObject({ code: 0, message: 'success', request_id: expect.any(String) });
  expect(body.data).toMatchObject({ task_status: 'pending', parent_task_id: PARENT });
  expect(body.data.task_id).toMatch(/^[0-9a-f-]{36}$/);
  expect(body.data.task_id).not.toBe(PARENT);
  expect(Number.isInteger(body.data.created_at) && Number.isInteger(body.data.updated_at)).toBe(true);
  expect(Math.abs(body.data.created_at - Date.now() / 1000)).toBeLessThan(60);

  // What the upstream got.
  const sent = sim.requests.filter((r) => (r.body as any)?.user_prompt === prompt);
  expect(sent).toHaveLength(1);
  const [request] = sent;
  expect(request).toMatchObject({ method: 'POST', path: `/luma/generations/${PARENT}/extend`, auth: 'valid', authValid: true });
  expect(request.headers['content-type']).toMatch(/^application\/json/);
  expect(request.headers.accept).toBe('application/json');
  const upstreamBody = request.body as Record<string, any>;
  expect(upstreamBody).toMatchObject({ user_prompt: prompt, expand_prompt: true, image_url: 'https://example.com/a.png' });
  const hook = new URL(upstreamBody.notify_hook);
  expect(`${hook.protocol}//${hook.host}`).toBe(stack.url);
  const token = /^\/luma\/callbacks\/([^/]+)$/.exec(hook.pathname)?.[1];
  expect(token).toBeDefined();
  expect(upstreamBody.notify_hook).not.toContain('client-hook');
  const [tokenTaskId, tokenSecret] = token!.split('.');
  expect(tokenTaskId).toBe(body.data.task_id);

  // What DynamoDB holds.
  const task = await readTask(body.data.task_id);
  expect(task).toMatchObject({
    task_id: body.data.task_id,
    owner_id: stack.clientId,
    parent_task_id: PARENT,
    parent_upstream_id: PARENT,
    prompt,
    task_status: 'pending',
    notify_hook: clientHook,
    upstream_id: sim.requests.find((r) => r === request) && expect.stringMatching(/^[0-9a-f-]{36}$/),
  });
  expect(sim.generation(task!.upstream_id)?.prompt).toBe(prompt);
  expect(task!.callback_token_hash).toBe(sha256Hex(tokenSecret));
  const stored = JSON.stringify(task);
  expect(stored).not.toContain(tokenSecret);
  expect(stored).not.toContain(stack.clientKey);
});

test("the upstream's callbacks reach the gateway's callback URL, and GET shows the result", async () => {
  const response = await extend({ user_prompt: unique('to the end') });
  const { data } = await json(response);
  await sim.idle();
  const deliveries = sim.callbacks.filter((d) => d.url.includes(`/luma/callbacks/${data.task_id}.`));
  expect(deliveries.map((d) => d.state)).toEqual(['pending', 'processing', 'completed']);
  expect(deliveries.every((d) => d.url.startsWith(`${stack.url}/luma/callbacks/`))).toBe(true);
  expect(deliveries.map((d) => d.outcome)).toEqual(['delivered', 'delivered', 'delivered']);
  const view = await json(await fetch(`${stack.url}/luma/generations/${data.task_id}`, { headers: auth() }));
  // No background functions here: its media are not copied, and the links are still the upstream's.
  expect(view.data).toMatchObject({ task_id: data.task_id, task_status: 'completed', asset_state: 'pending', video_url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/media\/.+\.mp4\?/) });
});

test('Idempotency-Key: a replay returns the same task and the upstream sees one request; another body is 409', async () => {
  const key = `idem-${randomBytes(6).toString('hex')}`;
  const prompt = unique('idempotent');
  const headers = { ...auth(), 'Idempotency-Key': key };
  const first = await json(await extend({ user_prompt: prompt }, { headers }));
  const replay = await extend({ user_prompt: prompt }, { headers });
  expect(replay.status).toBe(200);
  expect((await json(replay)).data.task_id).toBe(first.data.task_id);
  expect(sim.requests.filter((r) => (r.body as any)?.user_prompt === prompt)).toHaveLength(1);

  const conflict = await extend({ user_prompt: `${prompt} but different` }, { headers });
  expect(conflict.status).toBe(409);
  const body = await json(conflict);
  expect(body).toMatchObject({ code: expect.any(Number), data: null });
  expect(body.message).toMatch(/Idempotency-Key/);
  expect(sim.requests).toHaveLength(1);
});

describe('bad input: a 4xx envelope with a clear message, and nothing written', () => {
  const cases: [string, () => Promise<Response>, number, RegExp][] = [
    ['missing user_prompt', () => extend({ expand_prompt: true }), 400, /user_prompt is required/],
    ['wrong-typed fields', () => extend({ user_prompt: 5, expand_prompt: 'yes' }), 400, /user_prompt must be a string.*expand_prompt must be a boolean|expand_prompt.*user_prompt/],
    ['empty prompt', () => extend({ user_prompt: '' }), 400, /user_prompt/],
    ['whitespace prompt', () => extend({ user_prompt: '   \n\t ' }), 400, /user_prompt/],
    ['non-JSON body', () => extend(undefined, { raw: '{"user_prompt": "cat"' }), 400, /JSON/],
    ['unknown field', () => extend({ user_prompt: 'cat', colour: 'red' }), 400, /colour/],
    ['wrong content type', () => extend(undefined, { raw: 'user_prompt=cat', headers: { ...auth(), 'Content-Type': 'text/plain' } }), 415, /Content-Type/],
    ['no key', () => extend({ user_prompt: 'cat' }, { headers: { 'Content-Type': 'application/json' } }), 401, /API key/],
    ['wrong key', () => extend({ user_prompt: 'cat' }, { headers: { ...auth(), Authorization: 'Bearer lgw_not-a-real-key-0000000000' } }), 401, /API key/],
    ['non-UUID path id', () => extend({ user_prompt: 'cat' }, { parent: 'not-a-uuid' }), 400, /task_id must be a UUID/],
    ['notify_hook plain http on a public host', () => extend({ user_prompt: 'cat', notify_hook: 'http://example.com/hook' }), 400, /notify_hook must be an https URL/],
    ['notify_hook https to a private address', () => extend({ user_prompt: 'cat', notify_hook: 'https://10.0.0.1/hook' }), 400, /notify_hook must not point at a private/],
    ['notify_hook to the metadata address', () => extend({ user_prompt: 'cat', notify_hook: 'http://169.254.169.254/latest/meta-data/' }), 400, /notify_hook/],
    ['notify_hook https to the metadata address', () => extend({ user_prompt: 'cat', notify_hook: 'https://169.254.169.254/' }), 400, /notify_hook must not point/],
    ['notify_hook to AWS IPv6 metadata', () => extend({ user_prompt: 'cat', notify_hook: 'https://[fd00:ec2::254]/' }), 400, /notify_hook must not point/],
    ['notify_hook not a URL', () => extend({ user_prompt: 'cat', notify_hook: 'my server' }), 400, /notify_hook/],
    ['image_url not a URL', () => extend({ user_prompt: 'cat', image_url: 'file:///etc/passwd' }), 400, /image_url/],
    ['body over the handler limit', () => extend(undefined, { raw: JSON.stringify({ user_prompt: 'x'.repeat(MAX_BODY_BYTES + 10) }) }), 413, /at most/],
    ['body over API Gateway\'s 10 MB', () => extend(undefined, { raw: 'x'.repeat(10 * 1024 * 1024 + 1) }), 413, /too large/],
  ];

  test.each(cases)('%s', async (_name, send, status, message) => {
    const before = await countTasks();
    const response = await send();
    expect(response.status).toBe(status);
    const text = await response.text();
    const body = JSON.parse(text);
    expect(body).toEqual({ code: expect.any(Number), message: expect.stringMatching(message), request_id: expect.any(String), data: null });
    expect(body.code).not.toBe(0);
    expect(text).not.toMatch(/\bat \S+\.(ts|js):\d+/); // no stack trace
    expect(await countTasks()).toBe(before);
    expect(sim.requests).toHaveLength(0);
  });
});

test('locally, plain http hooks are allowed on loopback only', async () => {
  for (const hook of ['http://127.0.0.1:9/x', 'http://[::1]:9/x', 'http://localhost:9/x']) {
    const response = await extend({ user_prompt: unique('loopback hook'), notify_hook: hook });
    expect(response.status).toBe(200);
  }
});

test('create (POST /luma/generations) runs the same pipeline without a parent', async () => {
  const prompt = unique('a new video');
  const response = await fetch(`${stack.url}/luma/generations`, { method: 'POST', headers: auth(), body: JSON.stringify({ user_prompt: prompt }) });
  expect(response.status).toBe(200);
  const { data } = await json(response);
  expect(data).toMatchObject({ task_status: 'pending', parent_task_id: null });
  const [request] = sim.requests.filter((r) => (r.body as any)?.user_prompt === prompt);
  expect(request).toMatchObject({ method: 'POST', path: '/luma/generations', authValid: true });
  expect((request.body as any).notify_hook).toMatch(new RegExp(`^${stack.url}/luma/callbacks/${data.task_id}\\.`));
});

test('the upstream may answer in the wrapped shape', async () => {
  sim.setFaults({ shape: 'wrapped' });
  const response = await extend({ user_prompt: unique('wrapped') });
  expect(response.status).toBe(200);
  expect((await json(response)).data.task_status).toBe('pending');
});

describe('upstream faults', () => {
  test('a refusal (429) is a 503 with Retry-After, and the task is kept as failed with the reason', async () => {
    sim.setFaults({ errorRate: 1, errorStatus: 429, retryAfterSeconds: 7 });
    const prompt = unique('refused');
    const response = await extend({ user_prompt: prompt });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('7');
    expect(await json(response)).toMatchObject({ message: expect.stringMatching(/throttling/), data: null });
    const tasks = await tasksWithPrompt(prompt);
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ task_status: 'failed', failure_code: 'refused', owner_id: stack.clientId, failure_reason: expect.stringMatching(/throttling/) });
  });

  const unknown: [string, Parameters<UpstreamSimulator['setFaults']>[0]][] = [
    ['500 panic', { errorRate: 1, errorStatus: 500 }],
    ['503 non-JSON', { errorRate: 1, errorStatus: 503 }],
    ['hang', { hang: true }],
    ['reset', { resetConnection: true }],
  ];

  test.each(unknown)('%s: an unknown outcome is a 202 with the task, kept open and unconfirmed, never the upstream text', async (_name, faults) => {
    sim.setFaults(faults);
    const prompt = unique('unknown');
    const started = Date.now();
    const response = await extend({ user_prompt: prompt });
    expect(response.status).toBe(202);
    const body = await json(response);
    expect(body).toMatchObject({ code: 0, message: expect.stringMatching(/outcome is being confirmed/), data: { task_status: 'submitting', prompt } });
    expect(JSON.stringify(body)).not.toMatch(/Panic|Service Unavailable/);
    if (faults.hang) expect(Date.now() - started).toBeLessThan(UPSTREAM_TIMEOUT_MS + 3000);
    const tasks = await tasksWithPrompt(prompt);
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ task_id: body.data.task_id, task_status: 'submitting', unconfirmed_since: expect.any(Number) });
  });
});

test('a rotated upstream key: one 401, one refresh from Secrets Manager, then success', async () => {
  const rotated = `sk-rotated-${randomBytes(12).toString('hex')}`;
  sim.setApiKey(rotated);
  stack.secrets.putSecretValue(stack.upstreamSecretId, rotated);
  const reads = stack.secrets.getSecretValueCalls;
  const prompt = unique('after rotation');
  const response = await extend({ user_prompt: prompt });
  expect(response.status).toBe(200);
  const attempts = sim.requests.filter((r) => (r.body as any)?.user_prompt === prompt);
  expect(attempts.map((r) => [r.auth, r.status])).toEqual([
    ['invalid', 401],
    ['valid', 200],
  ]);
  expect(stack.secrets.getSecretValueCalls - reads).toBe(1);
  // The new key is cached now: no more reads.
  expect((await extend({ user_prompt: unique('after rotation, again') })).status).toBe(200);
  expect(stack.secrets.getSecretValueCalls - reads).toBe(1);
});

test('the access log never holds keys, callback tokens or raw paths', async () => {
  expect(accessLog.length).toBeGreaterThan(100);
  const text = JSON.stringify(accessLog);
  expect(text).not.toContain(stack.clientKey);
  expect(text).not.toMatch(/\/luma\/callbacks\/(?!\{token\})/);
  expect(text).not.toContain('not-a-uuid');
  expect(text).not.toContain(PARENT);
  expect(new Set(accessLog.map((e) => e.resourcePath))).toEqual(
    new Set(['/luma/generations/{task_id}/extend', '/luma/callbacks/{token}', '/luma/generations/{task_id}', '/luma/generations']),
  );
  expect(errors).toEqual([]);
});
