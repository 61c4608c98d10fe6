/**
 * The stream consumer fed from DynamoDB Local's real stream, filtered by the
 * same patterns the event source mapping uses, against hooks on loopback:
 * one durable message per status change, a short first attempt when nothing
 * stands in the way, nothing sent twice for a replayed record, and no hook
 * ever failing a record.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBRecord } from 'aws-lambda';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { Webhook } from 'standardwebhooks';
import { createClientStore } from '#adapters/dynamodb/client-store';
import { createDeliveryStore } from '#adapters/dynamodb/delivery-store';
import { createEndpointStore, endpointIdOf } from '#adapters/dynamodb/endpoint-store';
import { createMessageStore } from '#adapters/dynamodb/message-store';
import { createTaskStore } from '#adapters/dynamodb/task-store';
import { deliverToHook } from '#adapters/hook-delivery';
import { type DeliveryStore, type EndpointStore, type MessageStore, type NewClient, silentLog, type TaskStore } from '#domain/ports';
import { matchesFilterPattern } from '#domain/task-events';
import { streamTriggerOf } from '#functions/background';
import { toTaskView } from '#domain/task';
import { taskRecordSchema } from '#domain/task-record';
import { createTestTables, type TestTables } from '../support/dynamo';
import { startHookServer, type HookServer } from '../support/hook-server';
import { notifyStatusChanges, type NotifyTestDeps as NotifyDeps } from '../support/notify-records';
import { readWholeStream } from '../support/stream';
import { taskItem } from '../support/tasks';

let tables: TestTables;
let tasks: TaskStore;
let deliveries: DeliveryStore;
let messages: MessageStore;
let endpoints: EndpointStore;
let client: NewClient;
let other: NewClient;
let hook: HookServer;
let otherHook: HookServer;
let seen = 0;

/** The consumer's own event filter (functions/background.ts). */
const patterns = streamTriggerOf('task-changes').filterPatterns;

/** Stream records written since the last call that pass the event source filter. */
async function newStatusChanges(): Promise<DynamoDBRecord[]> {
  const all = await readWholeStream(tables.endpoint, tables.names.tasks);
  const fresh = all.slice(seen);
  seen = all.length;
  return fresh.filter((record) => patterns.some((pattern) => matchesFilterPattern(record, pattern))) as DynamoDBRecord[];
}

function deps(overrides: Partial<NotifyDeps> = {}): NotifyDeps {
  return {
    clients: createClientStore({ client: tables.doc, clientsTable: tables.names.clients }),
    messages,
    deliveries,
    endpoints,
    policy: { allowLoopbackHttp: true },
    log: silentLog,
    nowMs: Date.now,
    random: () => 0,
    schedule: [0, 60, 300],
    disableAfterSeconds: 3600,
    secretOverlapSeconds: 3600,
    retentionDays: 30,
    firstAttemptTimeoutMs: 500,
    deliver: deliverToHook,
    ...overrides,
  };
}

/** A task of `owner` with a hook, moved through `statuses`; its status-change records. */
async function taskThrough(owner: NewClient, url: string, statuses: ('pending' | 'processing' | 'completed')[]) {
  const task = taskItem({ owner_id: owner.clientId, notify_hook: url });
  await tasks.create(task);
  for (const [i, status] of statuses.entries()) {
    await tasks.advance(task.task_id, { status, at: 1001 + i, ...(status === 'completed' && { videoUrl: 'https://v/1.mp4' }) });
  }
  return task;
}

/** A hook URL of its own: endpoint state (failing, disabled) is per URL, so tests do not share it. */
const urlOf = (h: HookServer) => `${h.url}/${randomUUID()}`;

const stateOf = async (taskId: string) => (await messages.ofTask(taskId)).map((m) => [m.task_status, m.message_state, m.claims]);

beforeAll(async () => {
  tables = await createTestTables();
  tasks = createTaskStore({ client: tables.doc, tasksTable: tables.names.tasks, idempotencyTable: tables.names.idempotency });
  deliveries = createDeliveryStore({ client: tables.doc, deliveriesTable: tables.names.deliveries });
  messages = createMessageStore({ client: tables.doc, messagesTable: tables.names.messages });
  endpoints = createEndpointStore({ client: tables.doc, endpointsTable: tables.names.endpoints });
  const clients = createClientStore({ client: tables.doc, clientsTable: tables.names.clients });
  client = await clients.create('acme');
  other = await clients.create('globex');
  [hook, otherHook] = await Promise.all([startHookServer(), startHookServer()]);
});
afterAll(async () => {
  await Promise.all([hook.close(), otherHook.close()]);
  tables.destroy();
});
beforeEach(async () => {
  for (const h of [hook, otherHook]) {
    h.received.length = 0;
    h.answers = [];
    h.defaultAnswer = 200;
  }
  await newStatusChanges(); // skip what earlier tests wrote
});

it('writes one message per status change and tells a healthy hook at once, signed, with the task as GET shows it', async () => {
  const task = await taskThrough(client, urlOf(hook), ['pending', 'processing', 'completed']);
  const records = await newStatusChanges();
  expect(records).toHaveLength(3);
  // The stream contract: both images of every record parse with the published schema.
  for (const record of records) {
    expect(taskRecordSchema.safeParse(unmarshall(record.dynamodb!.NewImage as never)).success).toBe(true);
    expect(taskRecordSchema.safeParse(unmarshall(record.dynamodb!.OldImage as never)).success).toBe(true);
  }
  expect(await notifyStatusChanges(deps(), records)).toEqual({ batchItemFailures: [] });

  expect(hook.received).toHaveLength(3);
  const verifier = new Webhook(client.webhookSecret);
  const bodies = hook.received.map((n) => verifier.verify(n.body, n.headers as Record<string, string>));
  expect(bodies.map((b: any) => b.task_status)).toEqual(['pending', 'processing', 'completed']);
  expect(bodies[2]).toEqual(toTaskView((await tasks.get(task.task_id))!));
  expect(hook.received.map((n) => n.headers['webhook-id'])).toEqual(['pending', 'processing', 'completed'].map((s) => `msg_${task.task_id.replace(/-/g, '')}_${s}`));

  expect(await stateOf(task.task_id)).toEqual([
    ['pending', 'delivered', 1],
    ['processing', 'delivered', 1],
    ['completed', 'delivered', 1],
  ]);
  expect((await deliveries.list(task.task_id, 10)).map((a) => [a.task_status, a.outcome, a.http_status, a.attempt])).toEqual([
    ['pending', 'delivered', 200, 1],
    ['processing', 'delivered', 200, 1],
    ['completed', 'delivered', 200, 1],
  ]);
  expect(await endpoints.list(client.clientId)).toContainEqual(
    expect.objectContaining({ url: task.notify_hook, endpoint_state: 'enabled', endpoint_id: endpointIdOf(task.notify_hook!) }),
  );
});

it('sends nothing again for replayed records (a retried or bisected batch): the messages stand as they are', async () => {
  const task = await taskThrough(client, urlOf(hook), ['pending', 'processing']);
  const records = await newStatusChanges();
  await notifyStatusChanges(deps(), records);
  const before = await messages.ofTask(task.task_id);
  expect(await notifyStatusChanges(deps(), records)).toEqual({ batchItemFailures: [] });
  expect(await notifyStatusChanges(deps(), records.slice(1))).toEqual({ batchItemFailures: [] });
  expect(hook.received.map((n) => JSON.parse(n.body).task_status)).toEqual(['pending', 'processing']);
  expect(await messages.ofTask(task.task_id)).toEqual(before);
});

it('sends nothing for writes that change no status, or tasks without a hook', async () => {
  const task = taskItem({ owner_id: client.clientId, notify_hook: hook.url, task_status: 'pending', status_rank: 1 });
  const silent = taskItem({ owner_id: client.clientId });
  await tasks.create(task);
  await tasks.create(silent);
  await tasks.attachUpstreamId(task.task_id, 'up-1', 1001);
  await tasks.recordUpstreamState(task.task_id, 'up-1', 'levitating', 1002);
  await tasks.deferCheck(task.task_id, 5000);
  await tasks.advance(task.task_id, { status: 'pending', at: 1003 }); // a no-op
  await tasks.advance(silent.task_id, { status: 'completed', at: 1004, videoUrl: 'https://v/2.mp4' });
  // The consumer is given every status change (other reactions want them); only the hook-less task's passes the filter.
  const records = await newStatusChanges();
  expect(records.map((record) => unmarshall(record.dynamodb!.NewImage as never).task_id)).toEqual([silent.task_id]);
  expect(await notifyStatusChanges(deps(), records)).toEqual({ batchItemFailures: [] });
  expect(hook.received).toHaveLength(0);
  expect(await messages.ofTask(silent.task_id)).toEqual([]);
});

it('a failing hook fails no record: its message waits for the worker, the task\'s later change waits behind it', async () => {
  const url = urlOf(hook);
  const task = await taskThrough(client, url, ['pending', 'processing']);
  hook.answers = [{ status: 503, headers: { 'Retry-After': '120' } }];
  const startedMs = Date.now();
  expect(await notifyStatusChanges(deps(), await newStatusChanges())).toEqual({ batchItemFailures: [] });
  // One attempt, of the first change only: the second is not sent ahead of it.
  expect(hook.received.map((n) => JSON.parse(n.body).task_status)).toEqual(['pending']);
  const [pending, processing] = await messages.ofTask(task.task_id);
  expect(pending).toMatchObject({ message_state: 'pending', claims: 1, settled: 1, last_http_status: 503, last_error: 'the hook answered HTTP 503' });
  // Retry-After (120 s) beats the schedule's 60 s.
  expect(pending.due_at_ms).toBeGreaterThanOrEqual(startedMs + 120_000);
  expect(processing).toMatchObject({ message_state: 'pending', claims: 0 });
  expect((await endpoints.get(client.clientId, endpointIdOf(url)))!.failing_since).toEqual(expect.any(Number));

  // The endpoint is failing: another task's change is not attempted at once either, only recorded.
  const next = await taskThrough(client, url, ['pending']);
  expect(await notifyStatusChanges(deps(), await newStatusChanges())).toEqual({ batchItemFailures: [] });
  expect(hook.received).toHaveLength(1);
  expect(await stateOf(next.task_id)).toEqual([['pending', 'pending', 0]]);
});

it('a hanging hook holds its first attempt no longer than firstAttemptTimeoutMs, and another client is told meanwhile', async () => {
  hook.defaultAnswer = 'hang';
  const stuck = await taskThrough(client, urlOf(hook), ['pending']);
  const fine = await taskThrough(other, urlOf(otherHook), ['pending']);
  const records = await newStatusChanges();
  const started = Date.now();
  expect(await notifyStatusChanges(deps({ firstAttemptTimeoutMs: 400 }), records)).toEqual({ batchItemFailures: [] });
  expect(Date.now() - started).toBeLessThan(3000);
  expect(otherHook.received).toHaveLength(1);
  // The healthy hook was told while the hanging one still held its request.
  expect(otherHook.received[0].receivedAtMs).toBeLessThan(hook.received[0].abandonedAtMs!);
  expect(await stateOf(stuck.task_id)).toEqual([['pending', 'pending', 1]]);
  expect(await stateOf(fine.task_id)).toEqual([['pending', 'delivered', 1]]);
  expect((await deliveries.list(stuck.task_id, 10))[0]).toMatchObject({ outcome: 'failed', error: 'the hook did not answer within 400 ms' });
});

it('a 410 disables the endpoint at once; later changes are written skipped and never sent', async () => {
  const url = `${hook.url}/gone-${randomUUID()}`;
  hook.answers = [410];
  const task = await taskThrough(client, url, ['pending']);
  await notifyStatusChanges(deps(), await newStatusChanges());
  expect(await stateOf(task.task_id)).toEqual([['pending', 'skipped', 1]]);
  expect(await endpoints.get(client.clientId, endpointIdOf(url))).toMatchObject({ endpoint_state: 'disabled', disabled_reason: 'gone' });
  await tasks.advance(task.task_id, { status: 'processing', at: 2000 });
  await notifyStatusChanges(deps(), await newStatusChanges());
  expect(hook.received).toHaveLength(1);
  expect(await messages.ofTask(task.task_id)).toEqual([
    expect.objectContaining({ message_state: 'skipped' }),
    expect.objectContaining({ task_status: 'processing', message_state: 'skipped', claims: 0, undelivered_owner: client.clientId, last_error: expect.stringContaining('410') }),
  ]);
});

it('never contacts a hook that resolves to a private address, and never tries it again', async () => {
  const task = await taskThrough(client, `https://hooks.example.test:${hook.port}/x`, ['pending']);
  const deployedDeps = deps({ policy: { allowLoopbackHttp: false } });
  // The deployed consumer resolves the name itself; force the answer a hostile DNS would give.
  const result = await notifyStatusChanges(
    { ...deployedDeps, deliver: (request) => deliverToHook({ ...request, resolve: async () => [{ address: '127.0.0.1', family: 4 }] }) },
    await newStatusChanges(),
  );
  expect(result).toEqual({ batchItemFailures: [] });
  expect(hook.received).toHaveLength(0);
  expect(await stateOf(task.task_id)).toEqual([['pending', 'refused', 1]]);
  expect(await deliveries.list(task.task_id, 10)).toEqual([expect.objectContaining({ outcome: 'refused', attempt: 1 })]);
});

it('drops notifications of a task whose client no longer exists', async () => {
  const task = taskItem({ owner_id: randomUUID(), notify_hook: hook.url });
  await tasks.create(task);
  await tasks.advance(task.task_id, { status: 'pending', at: 1001 });
  expect(await notifyStatusChanges(deps(), await newStatusChanges())).toEqual({ batchItemFailures: [] });
  expect(hook.received).toHaveLength(0);
  expect(await messages.ofTask(task.task_id)).toEqual([]);
});

it('short of time, it records the message for the worker and starts no attempt', async () => {
  const task = await taskThrough(client, urlOf(hook), ['pending']);
  expect(await notifyStatusChanges(deps({ remainingMs: () => 1500 }), await newStatusChanges())).toEqual({ batchItemFailures: [] });
  expect(hook.received).toHaveLength(0);
  expect(await stateOf(task.task_id)).toEqual([['pending', 'pending', 0]]);
});

it('fails a record only when its message cannot be written, with the later records of its task; other tasks go on', async () => {
  const broken = await taskThrough(client, urlOf(hook), ['pending', 'processing']);
  const fine = await taskThrough(other, urlOf(otherHook), ['pending']);
  const records = await newStatusChanges();
  const failingPut: MessageStore = {
    ...messages,
    put: async (message) => {
      if (message.task_id === broken.task_id) throw new Error('DynamoDB is unavailable');
      return messages.put(message);
    },
  };
  const result = await notifyStatusChanges(deps({ messages: failingPut }), records);
  const sequenceOf = (taskId: string) => records.filter((r) => (r.dynamodb!.Keys!.task_id as { S: string }).S === taskId).map((r) => r.dynamodb!.SequenceNumber);
  expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(sequenceOf(broken.task_id));
  expect(otherHook.received).toHaveLength(1);
  // Lambda's retry of the failed part writes and sends them, in order.
  expect(await notifyStatusChanges(deps(), records.filter((r) => sequenceOf(broken.task_id).includes(r.dynamodb!.SequenceNumber)))).toEqual({ batchItemFailures: [] });
  expect(hook.received.map((n) => JSON.parse(n.body).task_status)).toEqual(['pending', 'processing']);
  expect(await stateOf(fine.task_id)).toEqual([['pending', 'delivered', 1]]);
});
