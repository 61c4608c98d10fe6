/**
 * The notifier fed from DynamoDB Local's real stream, filtered by the same
 * patterns the event source mapping uses, delivering to a hook on loopback.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBRecord } from 'aws-lambda';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { taskRecordSchema } from '#domain/task-record';
import { Webhook } from 'standardwebhooks';
import { createClientStore } from '#adapters/dynamodb/client-store';
import { type DeliveryStore, type NewClient, silentLog, type TaskStore } from '#domain/ports';
import { createDeliveryStore } from '#adapters/dynamodb/delivery-store';
import { deliverToHook } from '#adapters/hook-delivery';
import { notifyStatusChanges, type NotifyDeps } from '#domain/notify';
import { matchesFilterPattern, statusChangePatterns } from '#domain/task-events';
import { toTaskView } from '#domain/task';
import { createTaskStore } from '#adapters/dynamodb/task-store';
import { createTestTables, type TestTables } from '../support/dynamo';
import { startHookServer, type HookServer } from '../support/hook-server';
import { readWholeStream } from '../support/stream';
import { taskItem } from '../support/tasks';

let tables: TestTables;
let tasks: TaskStore;
let deliveries: DeliveryStore;
let client: NewClient;
let hook: HookServer;
let seen = 0;

const patterns = statusChangePatterns({ withNotifyHook: true });

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
    deliveries,
    policy: { allowLoopbackHttp: true },
    log: silentLog,
    nowMs: Date.now,
    retryDelaysMs: [10, 20],
    timeoutMs: 1000,
    retentionDays: 30,
    deliver: deliverToHook,
    ...overrides,
  };
}

beforeAll(async () => {
  tables = await createTestTables();
  tasks = createTaskStore({ client: tables.doc, tasksTable: tables.names.tasks, idempotencyTable: tables.names.idempotency });
  deliveries = createDeliveryStore({ client: tables.doc, deliveriesTable: tables.names.deliveries });
  client = await createClientStore({ client: tables.doc, clientsTable: tables.names.clients }).create('acme');
  hook = await startHookServer();
});
afterAll(async () => {
  await hook.close();
  tables.destroy();
});
beforeEach(async () => {
  hook.received.length = 0;
  hook.answers = [];
  await newStatusChanges(); // skip what earlier tests wrote
});

it('sends one signed notification per status change, with the task as GET shows it', async () => {
  const task = taskItem({ owner_id: client.clientId, notify_hook: hook.url });
  await tasks.create(task);
  await tasks.advance(task.task_id, { status: 'pending', at: 1001, upstreamId: 'up-1' });
  await tasks.advance(task.task_id, { status: 'processing', at: 1002 });
  const done = await tasks.advance(task.task_id, { status: 'completed', at: 1003, videoUrl: 'https://v/1.mp4' });

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
  expect(bodies[2]).toEqual(toTaskView(done.applied ? done.task : task));
  const ids = hook.received.map((n) => n.headers['webhook-id']);
  expect(new Set(ids).size).toBe(3);

  // Every attempt is recorded for the client to see.
  const attempts = await deliveries.list(task.task_id, 10);
  expect(attempts.map((a) => [a.task_status, a.outcome, a.http_status])).toEqual([
    ['pending', 'delivered', 200],
    ['processing', 'delivered', 200],
    ['completed', 'delivered', 200],
  ]);
});

it('keeps the webhook-id when the same record is delivered again', async () => {
  const task = taskItem({ owner_id: client.clientId, notify_hook: hook.url });
  await tasks.create(task);
  await tasks.advance(task.task_id, { status: 'pending', at: 1001 });
  const records = await newStatusChanges();
  await notifyStatusChanges(deps(), records);
  await notifyStatusChanges(deps(), records);
  expect(hook.received.map((n) => n.headers['webhook-id'])).toEqual([
    `msg_${task.task_id.replace(/-/g, '')}_pending`,
    `msg_${task.task_id.replace(/-/g, '')}_pending`,
  ]);
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
  expect(await newStatusChanges()).toEqual([]);
});

it('retries a failing hook, then reports the record as failed for Lambda to retry', async () => {
  const task = taskItem({ owner_id: client.clientId, notify_hook: hook.url });
  await tasks.create(task);
  await tasks.advance(task.task_id, { status: 'pending', at: 1001 });
  await tasks.advance(task.task_id, { status: 'processing', at: 1002 });
  const records = await newStatusChanges();
  hook.answers = [500, 503, 500, 200];
  const result = await notifyStatusChanges(deps(), records);
  // The first change failed 3 times; the second waits behind it, so order per task holds.
  expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(records.map((r) => r.dynamodb!.SequenceNumber));
  expect(hook.received).toHaveLength(3);
  expect((await deliveries.list(task.task_id, 10)).map((a) => [a.attempt, a.outcome, a.http_status])).toEqual([
    [1, 'failed', 500],
    [2, 'failed', 503],
    [3, 'failed', 500],
  ]);
  // Lambda's retry of the batch then succeeds, in order.
  expect(await notifyStatusChanges(deps(), records)).toEqual({ batchItemFailures: [] });
  expect(hook.received.slice(3).map((n) => JSON.parse(n.body).task_status)).toEqual(['pending', 'processing']);
});

it('never contacts a hook that resolves to a private address, and does not retry it', async () => {
  const task = taskItem({ owner_id: client.clientId, notify_hook: `https://hooks.example.test:${hook.port}/x` });
  await tasks.create(task);
  await tasks.advance(task.task_id, { status: 'pending', at: 1001 });
  const records = await newStatusChanges();
  const deployedDeps = deps({ policy: { allowLoopbackHttp: false } });
  // The deployed notifier resolves the name itself; force the answer a hostile DNS would give.
  const result = await notifyStatusChanges(
    { ...deployedDeps, deliver: (request) => deliverToHook({ ...request, resolve: async () => [{ address: '127.0.0.1', family: 4 }] }) },
    records,
  );
  expect(result).toEqual({ batchItemFailures: [] });
  expect(hook.received).toHaveLength(0);
  expect(await deliveries.list(task.task_id, 10)).toEqual([expect.objectContaining({ outcome: 'refused', attempt: 1 })]);
});

it('drops notifications of a task whose client no longer exists', async () => {
  const task = taskItem({ owner_id: randomUUID(), notify_hook: hook.url });
  await tasks.create(task);
  await tasks.advance(task.task_id, { status: 'pending', at: 1001 });
  expect(await notifyStatusChanges(deps(), await newStatusChanges())).toEqual({ batchItemFailures: [] });
  expect(hook.received).toHaveLength(0);
});

it('notifies different tasks in parallel, so a slow hook delays only its own task', async () => {
  const slowTask = taskItem({ owner_id: client.clientId, notify_hook: 'http://127.0.0.1:9/slow' });
  const fastTask = taskItem({ owner_id: client.clientId, notify_hook: hook.url });
  await tasks.create(slowTask);
  await tasks.create(fastTask);
  await tasks.advance(slowTask.task_id, { status: 'pending', at: 1001 });
  await tasks.advance(fastTask.task_id, { status: 'pending', at: 1001 });
  const records = await newStatusChanges();
  let fastDeliveredAt = 0;
  let slowFinishedAt = 0;
  const result = await notifyStatusChanges(
    deps({
      retryDelaysMs: [],
      deliver: async (request) => {
        if (request.url.endsWith('/slow')) {
          await new Promise((resolve) => setTimeout(resolve, 300));
          slowFinishedAt = Date.now();
          return { outcome: 'failed', error: 'the hook did not answer within 300 ms', durationMs: 300 };
        }
        const outcome = await deliverToHook(request);
        fastDeliveredAt = Date.now();
        return outcome;
      },
    }),
    records,
  );
  expect(fastDeliveredAt).toBeGreaterThan(0);
  expect(fastDeliveredAt).toBeLessThan(slowFinishedAt);
  expect(result.batchItemFailures).toHaveLength(1);
});

it('starts no attempt it could not finish before the invocation times out', async () => {
  const task = taskItem({ owner_id: client.clientId, notify_hook: hook.url });
  await tasks.create(task);
  await tasks.advance(task.task_id, { status: 'pending', at: 1001 });
  const records = await newStatusChanges();
  const result = await notifyStatusChanges(deps({ remainingMs: () => 1500 }), records);
  expect(result.batchItemFailures).toHaveLength(1);
  expect(hook.received).toHaveLength(0);
});
