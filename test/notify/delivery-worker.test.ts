/**
 * The delivery worker against DynamoDB Local and hooks on loopback, with an
 * injected clock: retries on the schedule, exhaustion, order per task,
 * endpoints disabled (410, failing too long), isolation of a hanging hook,
 * and a delivered message whose state write failed is not sent again.
 */
import { randomUUID } from 'node:crypto';
import { createClientStore } from '#adapters/dynamodb/client-store';
import { createDeliveryStore } from '#adapters/dynamodb/delivery-store';
import { createEndpointStore } from '#adapters/dynamodb/endpoint-store';
import { createMessageStore } from '#adapters/dynamodb/message-store';
import { deliverToHook } from '#adapters/hook-delivery';
import { deliverDueMessages, type WorkerDeps } from '#domain/deliver-due';
import { newMessage, NOTIFICATION_LOG_EVENTS, type MessageItem } from '#domain/message';
import { type Client, type DeliveryStore, type EndpointStore, type LogSink, type MessageStore, silentLog } from '#domain/ports';
import { plannedAttempts } from '#domain/retry-schedule';
import { toTaskView, type TaskItem } from '#domain/task';
import type { TaskStatus } from '#domain/task-status';
import { createTestTables, type TestTables } from '../support/dynamo';
import { startHookServer, type HookServer } from '../support/hook-server';
import { taskItem } from '../support/tasks';

let tables: TestTables;
let messages: MessageStore;
let deliveries: DeliveryStore;
let endpoints: EndpointStore;
let client: Client;
let hook: HookServer;
let otherHook: HookServer;

/** The worker's clock, moved by the tests (near real time: DynamoDB Local deletes expired items). */
let clock = Date.now();
const SCHEDULE = [0, 60, 300, 1800];

function deps(overrides: Partial<WorkerDeps> = {}): WorkerDeps {
  return {
    clients: createClientStore({ client: tables.doc, clientsTable: tables.names.clients }),
    messages,
    deliveries,
    endpoints,
    deliver: deliverToHook,
    policy: { allowLoopbackHttp: true },
    log: silentLog,
    nowMs: () => clock,
    random: () => 0,
    schedule: SCHEDULE,
    disableAfterSeconds: 5 * 86_400,
    secretOverlapSeconds: 0,
    retentionDays: 30,
    attemptTimeoutMs: 400,
    maxMessagesPerRun: 100,
    concurrency: 8,
    perEndpointConcurrency: 2,
    ...overrides,
  };
}

/** A pending message for each status of a new task, as the consumer leaves them when it cannot attempt at once. */
async function queued(url: string, statuses: TaskStatus[] = ['pending'], owner = client): Promise<MessageItem[]> {
  const base = taskItem({ owner_id: owner.clientId, notify_hook: url });
  const endpoint = await endpoints.ensure(owner.clientId, url, Math.floor(clock / 1000));
  const written: MessageItem[] = [];
  for (const status of statuses) {
    const task = { ...base, task_status: status } as TaskItem;
    const message = newMessage({ task, endpointId: endpoint.endpoint_id, payload: JSON.stringify(toTaskView(task)), nowMs: clock, retentionDays: 30 });
    await messages.put(message);
    written.push(message);
  }
  return written;
}

const urlOf = (h: HookServer) => `${h.url}/${randomUUID()}`;
const stateOf = async (taskId: string) => (await messages.ofTask(taskId)).map((m) => [m.task_status, m.message_state, m.claims]);
const bodiesTo = (h: HookServer, taskId: string) => h.received.map((n) => JSON.parse(n.body)).filter((b) => b.task_id === taskId).map((b) => b.task_status);

beforeAll(async () => {
  [hook, otherHook] = await Promise.all([startHookServer(), startHookServer()]);
});
afterAll(() => Promise.all([hook.close(), otherHook.close()]));
// Tables of its own for each test: the worker drains every due message, so tests must not see each other's.
beforeEach(async () => {
  tables = await createTestTables();
  messages = createMessageStore({ client: tables.doc, messagesTable: tables.names.messages });
  deliveries = createDeliveryStore({ client: tables.doc, deliveriesTable: tables.names.deliveries });
  endpoints = createEndpointStore({ client: tables.doc, endpointsTable: tables.names.endpoints });
  client = await createClientStore({ client: tables.doc, clientsTable: tables.names.clients }).create('acme');
  clock = Date.now();
  for (const h of [hook, otherHook]) {
    h.received.length = 0;
    h.answers = [];
    h.defaultAnswer = 200;
  }
});
afterEach(() => tables.destroy());

it('retries a failing hook at the planned times and stops once delivered; every attempt recorded', async () => {
  const url = urlOf(hook);
  const [message] = await queued(url);
  hook.answers = [500, 502];
  const planned = plannedAttempts(SCHEDULE, clock);
  expect(await deliverDueMessages(deps())).toMatchObject({ attempted: 1, retried: 1 });
  clock = planned[1] - 1;
  expect(await deliverDueMessages(deps())).toMatchObject({ attempted: 0 });
  clock = planned[1];
  expect(await deliverDueMessages(deps())).toMatchObject({ attempted: 1, retried: 1 });
  clock = planned[2];
  expect(await deliverDueMessages(deps())).toMatchObject({ attempted: 1, delivered: 1 });
  clock = planned[3];
  expect(await deliverDueMessages(deps())).toMatchObject({ attempted: 0 });
  expect(bodiesTo(hook, message.task_id)).toEqual(['pending', 'pending', 'pending']);
  expect(new Set(hook.received.map((n) => n.headers['webhook-id']))).toEqual(new Set([message.webhook_id]));
  expect((await deliveries.list(message.task_id, 10)).map((a) => [a.attempt, a.outcome, a.http_status])).toEqual([
    [1, 'failed', 500],
    [2, 'failed', 502],
    [3, 'delivered', 200],
  ]);
  expect(await endpoints.get(client.clientId, message.endpoint_id)).not.toHaveProperty('failing_since');
});

it('exhausts a message after its last planned attempt, keeping its payload, and logs it for the alarm', async () => {
  const url = urlOf(hook);
  const [message] = await queued(url);
  hook.defaultAnswer = 500;
  const warnings: string[] = [];
  const log: LogSink = { ...silentLog, warn: (text) => void warnings.push(text) };
  for (const at of plannedAttempts(SCHEDULE, clock)) {
    clock = at;
    await deliverDueMessages(deps({ log }));
  }
  const [exhausted] = await messages.ofTask(message.task_id);
  expect(exhausted).toMatchObject({ message_state: 'exhausted', claims: SCHEDULE.length, payload: message.payload, undelivered_owner: client.clientId });
  expect(hook.received).toHaveLength(SCHEDULE.length);
  expect(warnings).toContain(NOTIFICATION_LOG_EVENTS.exhausted);
  clock += 86_400_000;
  expect(await deliverDueMessages(deps())).toMatchObject({ attempted: 0 });
});

it('delivers a task in order: a later message waits for the earlier one, then goes in the same run', async () => {
  const url = urlOf(hook);
  const [pending, processing, completed] = await queued(url, ['pending', 'processing', 'completed']);
  hook.answers = [503];
  // The first fails; the others wait behind it and are not sent.
  expect(await deliverDueMessages(deps())).toMatchObject({ attempted: 1, retried: 1 });
  expect(bodiesTo(hook, pending.task_id)).toEqual(['pending']);
  clock += 1000;
  // Due, but behind a pending message that is not: moved to its time.
  expect(await deliverDueMessages(deps())).toMatchObject({ attempted: 0, waiting: 2 });
  expect((await messages.get(processing.task_id, processing.message_seq))!.due_at_ms).toBe(plannedAttempts(SCHEDULE, pending.origin_ms)[1]);
  clock = plannedAttempts(SCHEDULE, pending.origin_ms)[1];
  expect(await deliverDueMessages(deps())).toMatchObject({ attempted: 3, delivered: 3 });
  expect(bodiesTo(hook, pending.task_id)).toEqual(['pending', 'pending', 'processing', 'completed']);
  expect(await stateOf(completed.task_id)).toEqual([
    ['pending', 'delivered', 2],
    ['processing', 'delivered', 1],
    ['completed', 'delivered', 1],
  ]);
});

it('a 410 disables the endpoint at once and skips its other messages, which stay recoverable', async () => {
  const url = urlOf(hook);
  const [first] = await queued(url);
  const [second] = await queued(url);
  hook.answers = [410];
  const summary = await deliverDueMessages(deps({ perEndpointConcurrency: 1 }));
  // The 410 attempt, and the other message skipped in the same run without an attempt.
  expect(summary).toMatchObject({ attempted: 1, skipped: 2 });
  expect(hook.received).toHaveLength(1);
  expect(await endpoints.get(client.clientId, first.endpoint_id)).toMatchObject({ endpoint_state: 'disabled', disabled_reason: 'gone' });
  clock += 1000;
  await deliverDueMessages(deps());
  expect(hook.received).toHaveLength(1);
  for (const message of [first, second]) expect((await messages.get(message.task_id, message.message_seq))!.message_state).toBe('skipped');
  expect((await messages.undelivered(client.clientId, 0, 1000)).keys).toEqual(
    expect.arrayContaining([first, second].map((m) => ({ task_id: m.task_id, message_seq: m.message_seq }))),
  );
});

it('disables an endpoint that has failed every attempt for disableAfterSeconds', async () => {
  const url = urlOf(hook);
  hook.defaultAnswer = 500;
  await queued(url);
  await deliverDueMessages(deps({ disableAfterSeconds: 600 }));
  const [later] = await queued(url);
  clock += 601_000;
  const [latest] = await queued(url);
  await deliverDueMessages(deps({ disableAfterSeconds: 600 }));
  expect(await endpoints.get(client.clientId, later.endpoint_id)).toMatchObject({ endpoint_state: 'disabled', disabled_reason: 'failing' });
  expect((await messages.get(later.task_id, later.message_seq))!.message_state).toBe('skipped');
  expect((await messages.get(latest.task_id, latest.message_seq))!.message_state).toBe('skipped');
});

it('a hanging hook holds at most its per-endpoint slots for one timeout; every other endpoint is delivered in the same run', async () => {
  const stuckUrl = urlOf(hook);
  hook.defaultAnswer = 'hang';
  const stuck = await Promise.all(Array.from({ length: 6 }, () => queued(stuckUrl)));
  const healthy = await Promise.all(Array.from({ length: 8 }, () => queued(urlOf(otherHook))));
  const started = Date.now();
  const summary = await deliverDueMessages(deps({ concurrency: 4, perEndpointConcurrency: 2, attemptTimeoutMs: 500 }));
  const took = Date.now() - started;
  expect(summary.delivered).toBe(healthy.length);
  // The hanging endpoint: its two lanes' first attempts only, then nothing more this run.
  expect(hook.received.length).toBeLessThanOrEqual(2);
  expect(summary.retried).toBe(hook.received.length);
  expect(took).toBeLessThan(3000);
  // Every healthy delivery came before the hanging attempts were given up.
  const firstAbandoned = Math.min(...hook.received.map((n) => n.abandonedAtMs!));
  expect(Math.max(...otherHook.received.map((n) => n.receivedAtMs))).toBeLessThan(firstAbandoned);
  // Its other messages were not attempted: they stay due for the next run.
  const untouched = await Promise.all(stuck.flat().map((m) => messages.get(m.task_id, m.message_seq)));
  expect(untouched.filter((m) => m!.claims === 0 && m!.message_state === 'pending')).toHaveLength(6 - hook.received.length);
});

it('does not send again a message whose delivery was recorded but whose state write failed', async () => {
  const [message] = await queued(urlOf(hook));
  const failingSettle: MessageStore = {
    ...messages,
    settle: async (item, claim, settlement) => {
      if (settlement.kind === 'delivered') throw new Error('DynamoDB is unavailable');
      return messages.settle(item, claim, settlement);
    },
  };
  await deliverDueMessages(deps({ messages: failingSettle }));
  expect(hook.received).toHaveLength(1);
  expect(await messages.get(message.task_id, message.message_seq)).toMatchObject({ message_state: 'pending', claims: 1, settled: 0 });
  // Once the claim's lease lapses, the next run reads the attempt record and settles it without sending.
  clock += 60_000;
  expect(await deliverDueMessages(deps())).toMatchObject({ delivered: 1 });
  expect(hook.received).toHaveLength(1);
  // Settled by the claim that delivered it: no new claim was taken.
  expect(await messages.get(message.task_id, message.message_seq)).toMatchObject({ message_state: 'delivered', claims: 1, settled: 1 });
});

it('sends again a message whose attempt left no record (the process died): at least once', async () => {
  const [message] = await queued(urlOf(hook));
  // A claim, then nothing: as if the function died before sending.
  await messages.claim(message.task_id, message.message_seq, { nowMs: clock, leaseUntilMs: clock + 10_000, requireDue: true });
  expect(await deliverDueMessages(deps())).toMatchObject({ attempted: 0 });
  clock += 10_000;
  expect(await deliverDueMessages(deps())).toMatchObject({ delivered: 1 });
  expect(hook.received).toHaveLength(1);
  expect((await deliveries.list(message.task_id, 10)).map((a) => a.attempt)).toEqual([2]);
});

it('starts no attempt it could not finish and record before the invocation ends', async () => {
  const [message] = await queued(urlOf(hook));
  expect(await deliverDueMessages(deps({ remainingMs: () => 2000 }))).toMatchObject({ attempted: 0, outOfTime: true });
  expect(hook.received).toHaveLength(0);
  expect(await stateOf(message.task_id)).toEqual([['pending', 'pending', 0]]);
});
