/**
 * End to end through the local stack, with the stream consumer on DynamoDB
 * Local's stream and the delivery worker on its schedule, against real
 * hooks on loopback: isolation between clients, a hook down then up, 410,
 * endpoints, resend and recover, and secret rotation verified with the
 * standardwebhooks library.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Webhook } from 'standardwebhooks';
import { createClientStore } from '#adapters/dynamodb/client-store';
import type { NewClient } from '#domain/ports';
import { localDynamoClient } from '../../lib/local/dynamodb-local';
import { LOCAL_REGION } from '../../lib/local/lambda-runtime';
import { writeStackState } from '../../lib/local/state-file';
import { startLocalStack, type LocalStack } from '../../lib/local/local-stack';
import type { UpstreamSimulator } from '../../lib/local/upstream-simulator';
import { checkResponsesFrom } from '../support/api-responses';
import { testEndpoint } from '../support/dynamo';
import { startHookServer, type HookServer, type ReceivedNotification } from '../support/hook-server';
import { REPO } from '../support/local-process';

jest.setTimeout(60_000);

const PARENT = '4665a07c-7641-4809-a133-10786201bb56';
/** 6 attempts a second apart: a notification is retried for about 5 s, then exhausted. */
const SCHEDULE = [0, 1, 1, 1, 1, 1];
const OVERLAP_SECONDS = 2;

let stack: LocalStack;
let sim: UpstreamSimulator;
let doc: DynamoDBDocumentClient;
const hooks: HookServer[] = [];
const errors: string[] = [];

beforeAll(async () => {
  stack = await startLocalStack({
    env: {},
    port: 0,
    dynamoEndpoint: testEndpoint(),
    tablePrefix: `hooks${randomBytes(4).toString('hex')}_`,
    webhookRetrySchedule: SCHEDULE,
    webhookSecretOverlapSeconds: OVERLAP_SECONDS,
    deliveryWorkerEveryMs: 200,
    simulator: { seed: 9, stepDelayMs: 150 },
    accessLog: false,
    errorLog: (line) => errors.push(line),
  });
  checkResponsesFrom(stack.url);
  sim = stack.upstream!;
  doc = DynamoDBDocumentClient.from(localDynamoClient(stack.dynamoEndpoint), { marshallOptions: { removeUndefinedValues: true } });
});
afterAll(async () => {
  await stack?.stop();
  await Promise.all(hooks.map((hook) => hook.close()));
  doc?.destroy();
});
afterEach(() => sim.reset());

async function newHook(): Promise<HookServer> {
  const hook = await startHookServer();
  hooks.push(hook);
  return hook;
}

const newClient = (name: string) => createClientStore({ client: doc, clientsTable: stack.tableNames.clients }).create(`${name}-${randomUUID().slice(0, 8)}`);

const call = async (method: string, path: string, key: string, body?: unknown) => {
  const response = await fetch(`${stack.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body !== undefined && { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
};

async function extend(key: string, notifyHook: string, prompt = 'add cat'): Promise<string> {
  const { status, body } = await call('POST', `/luma/generations/${PARENT}/extend`, key, { user_prompt: prompt, notify_hook: notifyHook });
  expect(status).toBe(200);
  return body.data.task_id;
}

async function until<T>(read: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const bodyOf = (n: ReceivedNotification) => JSON.parse(n.body) as { task_id: string; task_status: string };
const to = (hook: HookServer, taskId: string) => hook.received.filter((n) => bodyOf(n).task_id === taskId);
const accepted = (n: ReceivedNotification) => n.status !== undefined && n.status >= 200 && n.status < 300;
const notificationsOf = async (key: string, taskId: string) => (await call('GET', `/luma/generations/${taskId}/deliveries`, key)).body.data.notifications as any[];
const endpointsOf = async (key: string) => (await call('GET', '/luma/endpoints', key)).body.data.endpoints as any[];
const settled = (states: string[]) => async (key: string, taskId: string) => {
  const notes = await notificationsOf(key, taskId);
  return notes.length === 3 && notes.every((n) => states.includes(n.state)) ? notes : undefined;
};

test('the worker runs on its schedule beside the reconciler and the task-changes consumer', () => {
  expect(stack.background).toEqual(['reconciler', 'task-changes', 'delivery-worker']);
});

test("with one client's hook hanging and another's answering 500, a third client is told of every change before its task's next change", async () => {
  const [hangingHook, failingHook, healthyHook] = await Promise.all([newHook(), newHook(), newHook()]);
  hangingHook.defaultAnswer = 'hang';
  failingHook.defaultAnswer = 500;
  const [hanging, failing, healthy] = await Promise.all([newClient('hanging'), newClient('failing'), newClient('healthy')]);
  try {
    // Their endpoints fail first (the hanging one after its first attempt's 2 s).
    await Promise.all([extend(hanging.apiKey, hangingHook.url), extend(failing.apiKey, failingHook.url)]);
    for (const client of [hanging, failing]) {
      await until(async () => (await endpointsOf(client.apiKey)).some((e) => e.failing_since !== null), `${client.name} failing`);
    }

    // Slow enough steps that "before the next change" says "at once".
    sim.setFaults({ stepDelayMs: 1000 });
    const healthyTasks: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      await extend(hanging.apiKey, hangingHook.url, `hang ${i}`);
      await extend(failing.apiKey, failingHook.url, `fail ${i}`);
      healthyTasks.push(await extend(healthy.apiKey, healthyHook.url, `healthy ${i}`));
    }
    for (const taskId of healthyTasks) await until(() => to(healthyHook, taskId).length === 3, `3 notifications of ${taskId}`);

    for (const taskId of healthyTasks) {
      const received = to(healthyHook, taskId);
      expect(received.map((n) => bodyOf(n).task_status)).toEqual(['pending', 'processing', 'completed']);
      expect(new Set(received.map((n) => n.headers['webhook-id'])).size).toBe(3);
      // Each status notified before the upstream's callback that moved the task on (its token names the task).
      const callbackAt = (state: string) => sim.callbacks.find((c) => c.url.includes(taskId) && c.state === state)!.at;
      expect(received[0].receivedAtMs).toBeLessThan(callbackAt('processing'));
      expect(received[1].receivedAtMs).toBeLessThan(callbackAt('completed'));
    }
    // The other two were tried meanwhile, and failed.
    expect(hangingHook.received.length).toBeGreaterThan(1);
    expect(failingHook.received.length).toBeGreaterThan(1);
  } finally {
    // Their notifications still due are delivered, so they hold up no later test.
    hangingHook.defaultAnswer = 200;
    failingHook.defaultAnswer = 200;
  }
});

test('a hook down for a while, then up, receives every notification on the schedule, in order, once per webhook-id', async () => {
  const hook = await newHook();
  hook.defaultAnswer = 503;
  const client = await newClient('down-then-up');
  const tasks = [await extend(client.apiKey, hook.url, 'down 1'), await extend(client.apiKey, hook.url, 'down 2')];
  await until(() => hook.received.length >= 4, 'a few failed attempts');
  hook.defaultAnswer = 204;
  for (const taskId of tasks) await until(() => settled(['delivered'])(client.apiKey, taskId), `${taskId} delivered`);

  for (const taskId of tasks) {
    const received = to(hook, taskId);
    const delivered = received.filter(accepted);
    expect(delivered.map((n) => bodyOf(n).task_status)).toEqual(['pending', 'processing', 'completed']);
    expect(new Set(delivered.map((n) => n.headers['webhook-id'])).size).toBe(3);
    // Never a later status while an earlier one was still undelivered.
    const order = ['pending', 'processing', 'completed'];
    const requested = received.map((n) => order.indexOf(bodyOf(n).task_status));
    expect(requested).toEqual([...requested].sort());
    // Every attempt is listed, the failed ones first.
    const { deliveries } = (await call('GET', `/luma/generations/${taskId}/deliveries`, client.apiKey)).body.data;
    expect(deliveries.filter((d: any) => d.outcome === 'delivered')).toHaveLength(3);
    expect(deliveries.filter((d: any) => d.task_status === 'pending').map((d: any) => d.outcome).at(-1)).toBe('delivered');
  }
  expect(hook.received.some((n) => n.status === 503)).toBe(true);
});

test('410 disables the endpoint at once; the client sees why, enables it with one call, and recovers what was skipped', async () => {
  const hook = await newHook();
  hook.answers = [410];
  const client = await newClient('gone');
  const taskId = await extend(client.apiKey, hook.url);
  const [endpoint] = await until(async () => {
    const listed = await endpointsOf(client.apiKey);
    return listed[0]?.state === 'disabled' ? listed : undefined;
  }, 'the endpoint disabled');
  expect(endpoint).toMatchObject({ url: hook.url, state: 'disabled', disabled_reason: 'gone', disabled_detail: 'the hook answered 410 Gone' });
  const notes = await until(() => settled(['skipped'])(client.apiKey, taskId), 'every notification skipped');
  expect(notes.map((n) => n.task_status)).toEqual(['pending', 'processing', 'completed']);
  expect(hook.received).toHaveLength(1);

  // Resending to a disabled endpoint is refused, with what to do.
  const refused = await call('POST', `/luma/generations/${taskId}/notifications/resend`, client.apiKey);
  expect(refused).toMatchObject({ status: 409, body: { code: 40900, message: expect.stringContaining(`/luma/endpoints/${endpoint.endpoint_id}/enable`) } });

  // Another client cannot enable it; the owner can, in one call.
  const stranger = await newClient('stranger');
  expect((await call('POST', `/luma/endpoints/${endpoint.endpoint_id}/enable`, stranger.apiKey)).status).toBe(404);
  const enabled = await call('POST', `/luma/endpoints/${endpoint.endpoint_id}/enable`, client.apiKey);
  expect(enabled).toMatchObject({ status: 200, body: { data: { endpoint_id: endpoint.endpoint_id, state: 'enabled', disabled_reason: null, failing_since: null } } });
  expect(await endpointsOf(stranger.apiKey)).toEqual([]);

  const recovered = await call('POST', '/luma/notifications/recover', client.apiKey, { since: 0 });
  expect(recovered).toMatchObject({ status: 200, body: { data: { since: 0, recovered: 3, more: false } } });
  await until(() => settled(['delivered'])(client.apiKey, taskId), 'the recovered notifications delivered');
  expect(to(hook, taskId).filter(accepted).map((n) => bodyOf(n).task_status)).toEqual(['pending', 'processing', 'completed']);
});

test('recover: the exhausted notifications created since a time are sent again, with the same webhook-ids', async () => {
  const hook = await newHook();
  hook.defaultAnswer = 500;
  const client = await newClient('exhausted');
  const taskId = await extend(client.apiKey, hook.url);
  await until(() => settled(['exhausted'])(client.apiKey, taskId), 'every notification exhausted', 30_000);
  const ids = [...new Set(to(hook, taskId).map((n) => n.headers['webhook-id']))];
  expect(ids).toHaveLength(3);
  hook.defaultAnswer = 200;

  // Since a time after they were created: nothing to recover.
  expect((await call('POST', '/luma/notifications/recover', client.apiKey, { since: Math.floor(Date.now() / 1000) + 60 })).body.data).toEqual({
    since: expect.any(Number),
    recovered: 0,
    more: false,
  });
  expect((await call('POST', '/luma/notifications/recover', client.apiKey, { since: -1 })).status).toBe(400);
  expect((await call('POST', '/luma/notifications/recover', client.apiKey, { since: 0 })).body.data.recovered).toBe(3);
  await until(() => settled(['delivered'])(client.apiKey, taskId), 'the recovered notifications delivered');
  expect(to(hook, taskId).filter(accepted).map((n) => n.headers['webhook-id'])).toEqual(ids);
});

test("resend: the task's latest notification again, now, with the same webhook-id; only for the caller's own tasks", async () => {
  const hook = await newHook();
  const client = await newClient('resender');
  const taskId = await extend(client.apiKey, hook.url);
  await until(() => settled(['delivered'])(client.apiKey, taskId), 'delivered');
  const before = hook.received.length;
  const resent = await call('POST', `/luma/generations/${taskId}/notifications/resend`, client.apiKey);
  expect(resent).toMatchObject({ status: 200, body: { data: { task_id: taskId, task_status: 'completed', state: 'delivered', attempts: 2 } } });
  // Sent before the answer came back.
  expect(hook.received).toHaveLength(before + 1);
  const latest = hook.received.at(-1)!;
  expect(bodyOf(latest)).toMatchObject({ task_id: taskId, task_status: 'completed' });
  expect(latest.headers['webhook-id']).toBe(to(hook, taskId).find((n) => bodyOf(n).task_status === 'completed')!.headers['webhook-id']);
  const stranger = await newClient('stranger');
  expect((await call('POST', `/luma/generations/${taskId}/notifications/resend`, stranger.apiKey)).status).toBe(404);
  // A task without a hook has nothing to resend.
  const silent = (await call('POST', `/luma/generations/${PARENT}/extend`, client.apiKey, { user_prompt: 'silent' })).body.data.task_id;
  expect((await call('POST', `/luma/generations/${silent}/notifications/resend`, client.apiKey))).toMatchObject({ status: 404, body: { code: 40400 } });
});

test('rotate-webhook-secret: during the overlap each notification verifies with the old and the new secret; after it, with the new one only', async () => {
  const hook = await newHook();
  const client: NewClient = await newClient('rotating');
  const taskId = await extend(client.apiKey, hook.url);
  await until(() => settled(['delivered'])(client.apiKey, taskId), 'delivered');

  // The CLI finds this (in-process) local stack by its state file, as it finds `npm start`'s.
  const stateFile = join(mkdtempSync(join(tmpdir(), 'luma-hooks-state-')), 'stack.json');
  writeStackState(stateFile, { pid: process.pid, apiUrl: stack.url, region: LOCAL_REGION, dynamoEndpoint: stack.dynamoEndpoint, tables: stack.tableNames, startedAt: new Date().toISOString() });
  const { stdout } = await promisify(execFile)(join(REPO, 'node_modules', '.bin', 'tsx'), ['bin/client.ts', 'rotate-webhook-secret', client.name], {
    cwd: REPO,
    env: { ...process.env, LOCAL_STATE_FILE: stateFile },
  });
  const newSecret = /webhook secret\s+(whsec_\S+)/.exec(stdout)![1];
  expect(newSecret).not.toBe(client.webhookSecret);
  const verify = (secret: string, n: ReceivedNotification) => new Webhook(secret).verify(n.body, n.headers as Record<string, string>);

  await call('POST', `/luma/generations/${taskId}/notifications/resend`, client.apiKey);
  const during = hook.received.at(-1)!;
  expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
  expect(verify(client.webhookSecret, during)).toMatchObject({ task_id: taskId });
  expect(verify(newSecret, during)).toMatchObject({ task_id: taskId });

  await new Promise((resolve) => setTimeout(resolve, OVERLAP_SECONDS * 1000));
  await call('POST', `/luma/generations/${taskId}/notifications/resend`, client.apiKey);
  const after = hook.received.at(-1)!;
  expect(after).not.toBe(during);
  expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
  expect(verify(newSecret, after)).toMatchObject({ task_id: taskId });
  expect(() => verify(client.webhookSecret, after)).toThrow();
});

test('nothing failed in the background', () => {
  expect(errors).toEqual([]);
});
