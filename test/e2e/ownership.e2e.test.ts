/**
 * End to end over HTTP: a client sees and extends only its own tasks, a task
 * is extended only once completed (by its upstream id), and forged or
 * malformed callbacks change nothing.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { createClientStore } from '#adapters/dynamodb/client-store';
import { localDynamoClient } from '../../lib/local/dynamodb-local';
import { startLocalStack, type LocalStack } from '../../lib/local/local-stack';
import type { UpstreamSimulator } from '../../lib/local/upstream-simulator';
import { testEndpoint } from '../support/dynamo';
import { checkResponsesFrom } from '../support/api-responses';

jest.setTimeout(30_000);

const PARENT = '4665a07c-7641-4809-a133-10786201bb56';
let stack: LocalStack;
let sim: UpstreamSimulator;
let doc: DynamoDBDocumentClient;
let otherKey: string;

beforeAll(async () => {
  stack = await startLocalStack({
    env: {},
    port: 0,
    dynamoEndpoint: testEndpoint(),
    tablePrefix: `own${randomBytes(4).toString('hex')}_`,
    simulator: { seed: 5, stepDelayMs: 100 },
    background: false,
    accessLog: false,
    errorLog: () => undefined,
  });
  checkResponsesFrom(stack.url);
  sim = stack.upstream!;
  doc = DynamoDBDocumentClient.from(localDynamoClient(stack.dynamoEndpoint));
  otherKey = (await createClientStore({ client: doc, clientsTable: stack.tableNames.clients }).create('other-team')).apiKey;
});
afterAll(async () => {
  await stack?.stop();
  doc?.destroy();
});
afterEach(() => sim.reset());

const headers = (key: string) => ({ Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' });
const call = async (method: string, path: string, key: string, body?: unknown) => {
  const response = await fetch(`${stack.url}${path}`, { method, headers: headers(key), body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as any };
};
const extend = (parent: string, key = stack.clientKey) => call('POST', `/luma/generations/${parent}/extend`, key, { user_prompt: 'add cat' });

async function completed(taskId: string): Promise<any> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { body } = await call('GET', `/luma/generations/${taskId}`, stack.clientKey);
    if (body.data?.task_status === 'completed') return body.data;
    if (Date.now() > deadline) throw new Error(`task ${taskId} did not complete: ${JSON.stringify(body)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test("another client's task is not found, whatever the route", async () => {
  const { body } = await extend(PARENT);
  const taskId = body.data.task_id;
  expect((await call('GET', `/luma/generations/${taskId}`, stack.clientKey)).status).toBe(200);
  for (const [method, path, payload] of [
    ['GET', `/luma/generations/${taskId}`, undefined],
    ['GET', `/luma/generations/${taskId}/deliveries`, undefined],
    ['POST', `/luma/generations/${taskId}/extend`, { user_prompt: 'steal' }],
  ] as const) {
    const answer = await call(method, path, otherKey, payload);
    expect(answer).toEqual({ status: 404, body: expect.objectContaining({ code: 40400, message: `task ${taskId} was not found`, data: null }) });
  }
});

test('a task is extended only once completed, through its upstream id', async () => {
  sim.setFaults({ outcome: 'never' });
  const open = (await extend(PARENT)).body.data.task_id;
  const early = await extend(open);
  expect(early.status).toBe(409);
  expect(early.body.message).toMatch(new RegExp(`^task ${open} is (pending|processing); only a completed task can be extended$`));

  sim.reset();
  const first = (await extend(PARENT)).body.data.task_id;
  await completed(first);
  const { Item } = await doc.send(new GetCommand({ TableName: stack.tableNames.tasks, Key: { task_id: first } }));
  const second = await extend(first);
  expect(second.status).toBe(200);
  expect(second.body.data.parent_task_id).toBe(first);
  expect(sim.requests.at(-1)?.path).toBe(`/luma/generations/${Item!.upstream_id}/extend`);
});

test('a forged or malformed callback over HTTP changes nothing', async () => {
  sim.setFaults({ callbacks: { dropRate: 1 } });
  const taskId = (await extend(PARENT)).body.data.task_id;
  const before = (await doc.send(new GetCommand({ TableName: stack.tableNames.tasks, Key: { task_id: taskId } }))).Item;
  const completedBody = { id: before!.upstream_id, state: 'completed', video: { url: 'https://evil.example.com/v.mp4' } };

  // A wrong secret for a real task is answered exactly as an unknown task: nothing tells that the task exists.
  const forged = await fetch(`${stack.url}/luma/callbacks/${taskId}.${'A'.repeat(43)}`, { method: 'POST', body: JSON.stringify(completedBody) });
  const unknown = await fetch(`${stack.url}/luma/callbacks/${randomUUID()}.${'A'.repeat(43)}`, { method: 'POST', body: JSON.stringify(completedBody) });
  expect([forged.status, unknown.status]).toEqual([404, 404]);
  const withoutId = async (response: Response) => ({ ...((await response.json()) as Record<string, unknown>), request_id: undefined });
  expect(await withoutId(forged)).toEqual(await withoutId(unknown));
  expect((await fetch(`${stack.url}/luma/callbacks/not-a-token`, { method: 'POST', body: JSON.stringify(completedBody) })).status).toBe(404);
  const token = (sim.requests.at(-1)?.body as { notify_hook: string }).notify_hook.split('/').pop();
  const malformed = await fetch(`${stack.url}/luma/callbacks/${token}`, { method: 'POST', body: '{"state":' });
  expect(malformed.status).toBe(400);

  const after = (await doc.send(new GetCommand({ TableName: stack.tableNames.tasks, Key: { task_id: taskId } }))).Item;
  expect(after).toEqual(before);
});

test('a genuine callback without a JSON content type applies (its function URL hands the body on base64-encoded)', async () => {
  sim.setFaults({ callbacks: { dropRate: 1 } });
  const taskId = (await extend(PARENT)).body.data.task_id;
  const token = (sim.requests.at(-1)?.body as { notify_hook: string }).notify_hook.split('/').pop();
  const { Item } = await doc.send(new GetCommand({ TableName: stack.tableNames.tasks, Key: { task_id: taskId } }));
  const response = await fetch(`${stack.url}/luma/callbacks/${token}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: JSON.stringify({ id: Item!.upstream_id, state: 'dreaming' }),
  });
  expect(response.status).toBe(200);
  expect(((await response.json()) as { data: { applied: boolean } }).data.applied).toBe(true);
  const after = (await doc.send(new GetCommand({ TableName: stack.tableNames.tasks, Key: { task_id: taskId } }))).Item;
  expect(after!.task_status).toBe('processing');
});
