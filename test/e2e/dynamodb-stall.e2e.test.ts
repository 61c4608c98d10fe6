/**
 * A stalled DynamoDB, through the local stack: every route answers 503 in
 * the envelope with Retry-After, within its function's timeout, never a 500
 * and never a hang; and everything works again once DynamoDB answers. The
 * stall is forced by a TCP proxy in front of DynamoDB Local (the one fault
 * the real engine cannot produce on demand).
 */
import { randomBytes } from 'node:crypto';
import { FUNCTION_NEEDS } from '../../lib/function-needs';
import { startLocalStack, type LocalStack } from '../../lib/local/local-stack';
import { checkResponsesFrom } from '../support/api-responses';
import { testEndpoint } from '../support/dynamo';
import { startStallingProxy, type StallingProxy } from '../support/stalling-proxy';

jest.setTimeout(60_000);

const PARENT = '4665a07c-7641-4809-a133-10786201bb56';

let proxy: StallingProxy;
let stack: LocalStack;
let taskId: string;
let callbackToken: string;

beforeAll(async () => {
  proxy = await startStallingProxy(testEndpoint());
  stack = await startLocalStack({
    env: {},
    port: 0,
    dynamoEndpoint: proxy.url,
    tablePrefix: `stall${randomBytes(4).toString('hex')}_`,
    simulator: { seed: 2, stepDelayMs: 60_000, callbacks: { dropRate: 1 } },
    background: false,
    accessLog: false,
  });
  checkResponsesFrom(stack.url);
  const answer = await extend();
  expect(answer.status).toBe(200);
  taskId = ((await answer.json()) as { data: { task_id: string } }).data.task_id;
  callbackToken = (stack.upstream!.requests.at(-1)!.body as { notify_hook: string }).notify_hook.split('/').pop()!;
});
afterAll(async () => {
  proxy?.resume();
  await stack?.stop();
  await proxy?.close();
});

const auth = (key = stack.clientKey) => ({ Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' });
const extend = () => fetch(`${stack.url}/luma/generations/${PARENT}/extend`, { method: 'POST', headers: auth(), body: JSON.stringify({ user_prompt: 'during a stall' }) });

const routes: [string, string, () => Promise<Response>][] = [
  ['extend', 'extend', extend],
  ['get-task', 'get-task', () => fetch(`${stack.url}/luma/generations/${taskId}`, { headers: auth() })],
  ['list-deliveries', 'list-deliveries', () => fetch(`${stack.url}/luma/generations/${taskId}/deliveries`, { headers: auth() })],
  [
    'callback',
    'callback',
    () => fetch(`${stack.url}/luma/callbacks/${callbackToken}`, { method: 'POST', body: JSON.stringify({ id: 'x', state: 'processing' }) }),
  ],
  ['a key the authorizer has not cached', 'authorizer', () => fetch(`${stack.url}/luma/generations/${taskId}`, { headers: auth(`lgw_${randomBytes(24).toString('hex')}`) })],
];

describe('DynamoDB stalled', () => {
  beforeAll(() => proxy.stall());
  afterAll(() => proxy.resume());

  test.each(routes)('%s: 503 with Retry-After in the envelope, within the function timeout', async (_name, functionName, call) => {
    const started = Date.now();
    const response = await call();
    const elapsed = Date.now() - started;
    expect(response.status).toBe(503);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await response.json()).toMatchObject({ code: 50300, data: null, message: expect.stringMatching(/retry/) });
    expect(elapsed).toBeLessThan(FUNCTION_NEEDS[functionName].timeout.toMilliseconds());
  });
});

test('once DynamoDB answers again, so does every route', async () => {
  expect((await extend()).status).toBe(200);
  expect((await fetch(`${stack.url}/luma/generations/${taskId}`, { headers: auth() })).status).toBe(200);
});
