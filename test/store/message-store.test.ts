/**
 * Notification messages, endpoints and webhook secret rotation against
 * DynamoDB Local: a message is written once per webhook-id, claimed by one
 * attempt at a time, settled only by its claim, in and out of its sparse
 * indexes as its state says.
 */
import { createClientStore } from '#adapters/dynamodb/client-store';
import { createEndpointStore, endpointIdOf } from '#adapters/dynamodb/endpoint-store';
import { createMessageStore } from '#adapters/dynamodb/message-store';
import { claimedAtCreation, dueShard, messageSeq, newMessage, skippedAtCreation, type MessageItem } from '#domain/message';
import type { EndpointStore, MessageStore } from '#domain/ports';
import { toTaskView, type TaskItem } from '#domain/task';
import { createTestTables, type TestTables } from '../support/dynamo';
import { taskItem } from '../support/tasks';

let tables: TestTables;
let messages: MessageStore;
let endpoints: EndpointStore;

beforeAll(async () => {
  tables = await createTestTables();
  messages = createMessageStore({ client: tables.doc, messagesTable: tables.names.messages });
  endpoints = createEndpointStore({ client: tables.doc, endpointsTable: tables.names.endpoints });
});
afterAll(() => tables.destroy());

// Real time: DynamoDB Local deletes items whose TTL has passed.
const NOW = Date.now();

function messageFor(task: TaskItem, nowMs = NOW): MessageItem {
  return newMessage({ task, endpointId: endpointIdOf(task.notify_hook!), payload: JSON.stringify(toTaskView(task)), nowMs, retentionDays: 30 });
}

const pendingTask = (overrides: Partial<TaskItem> = {}) =>
  taskItem({ owner_id: 'client-m', notify_hook: 'https://hooks.example.com/m', task_status: 'pending', status_rank: 1, ...overrides });

async function dueIn(taskId: string, atMs: number) {
  return (await messages.due(dueShard(taskId), atMs, 1000)).filter((due) => due.task_id === taskId);
}

describe('message store', () => {
  it('writes a message once per webhook-id: a replay returns what is there, untouched', async () => {
    const task = pendingTask();
    const message = messageFor(task);
    expect(message).toMatchObject({ message_seq: '01', webhook_id: `msg_${task.task_id.replace(/-/g, '')}_pending`, message_state: 'pending', claims: 0, settled: 0 });
    expect(await messages.put(message)).toEqual({ created: true });
    const claimed = await messages.claim(task.task_id, '01', { nowMs: NOW, leaseUntilMs: NOW + 10_000, requireDue: true });
    expect(claimed).toMatchObject({ claim: 1 });
    const replay = await messages.put(messageFor(task, NOW + 5000));
    expect(replay).toEqual({ created: false, existing: expect.objectContaining({ claims: 1, origin_ms: NOW }) });
  });

  it('orders a task by status and revival: the order key sorts as the statuses are reached', () => {
    const order = [messageSeq('pending', false), messageSeq('processing', false), messageSeq('failed', false), messageSeq('processing', true), messageSeq('completed', true)];
    expect([...order].sort()).toEqual(order);
  });

  it('claims one attempt at a time; a lapsed lease can be taken over; only the latest claim settles', async () => {
    const task = pendingTask();
    await messages.put(messageFor(task));
    const first = await messages.claim(task.task_id, '01', { nowMs: NOW, leaseUntilMs: NOW + 10_000, requireDue: true });
    expect(first).toMatchObject({ claim: 1, claimAtMs: NOW, previous: expect.objectContaining({ claims: 0 }) });
    // Held: neither a due claim nor a takeover before the lease lapses.
    expect(await messages.claim(task.task_id, '01', { nowMs: NOW + 5000, leaseUntilMs: NOW + 15_000, requireDue: true })).toBeUndefined();
    expect(await messages.claim(task.task_id, '01', { nowMs: NOW + 5000, leaseUntilMs: NOW + 15_000, requireDue: false })).toBeUndefined();
    expect(await dueIn(task.task_id, NOW + 5000)).toEqual([]);
    // Lapsed: taken over, and the earlier claim can no longer settle.
    expect(await dueIn(task.task_id, NOW + 10_000)).toHaveLength(1);
    const second = await messages.claim(task.task_id, '01', { nowMs: NOW + 10_000, leaseUntilMs: NOW + 20_000, requireDue: true });
    expect(second).toMatchObject({ claim: 2, previous: expect.objectContaining({ claims: 1, settled: 0, claim_at_ms: NOW }) });
    expect(await messages.settle(first!.previous, 1, { kind: 'delivered', at: 1, httpStatus: 200 })).toBe(false);
    expect(await messages.settle(first!.previous, 2, { kind: 'delivered', at: Math.floor(NOW / 1000), httpStatus: 204 })).toBe(true);
    const delivered = await messages.get(task.task_id, '01');
    expect(delivered).toMatchObject({ message_state: 'delivered', claims: 2, settled: 2, last_http_status: 204 });
    expect(delivered).not.toHaveProperty('due_shard');
    expect(delivered).not.toHaveProperty('due_at_ms');
    // Settled for good: nothing claims it again.
    expect(await messages.claim(task.task_id, '01', { nowMs: NOW + 60_000, leaseUntilMs: NOW + 70_000, requireDue: false })).toBeUndefined();
  });

  it('a retry stays in the due index at its next time; exhaustion and skipping move it to the undelivered index', async () => {
    const task = pendingTask();
    const message = claimedAtCreation(messageFor(task), NOW, NOW + 10_000);
    await messages.put(message);
    expect(await messages.settle(message, 1, { kind: 'retry', dueAtMs: NOW + 60_000, error: 'the hook answered HTTP 500', httpStatus: 500 })).toBe(true);
    expect(await dueIn(task.task_id, NOW + 59_999)).toEqual([]);
    expect(await dueIn(task.task_id, NOW + 60_000)).toEqual([expect.objectContaining({ task_id: task.task_id, message_seq: '01', owner_id: 'client-m' })]);
    const second = await messages.claim(task.task_id, '01', { nowMs: NOW + 60_000, leaseUntilMs: NOW + 70_000, requireDue: true });
    expect(await messages.settle(second!.previous, 2, { kind: 'exhausted', at: 5, error: 'timeout' })).toBe(true);
    expect(await messages.get(task.task_id, '01')).toMatchObject({ message_state: 'exhausted', ended_at: 5, last_error: 'timeout', undelivered_owner: 'client-m' });
    expect(await dueIn(task.task_id, NOW + 1e9)).toEqual([]);
    const other = pendingTask({ owner_id: 'client-m' });
    await messages.put(skippedAtCreation(messageFor(other), 'the endpoint is disabled'));
    const { keys } = await messages.undelivered('client-m', 0, 100);
    expect(keys).toEqual(expect.arrayContaining([{ task_id: task.task_id, message_seq: '01' }, { task_id: other.task_id, message_seq: '01' }]));
  });

  it('knows whether an earlier message of the task is pending', async () => {
    const task = pendingTask();
    await messages.put(messageFor(task));
    const processing = { ...task, task_status: 'processing', status_rank: 2 } as TaskItem;
    await messages.put(messageFor(processing));
    expect(await messages.pendingBefore(task.task_id, '01')).toBe(false);
    expect(await messages.pendingBefore(task.task_id, '02')).toBe(true);
    expect(await messages.pendingBefore(task.task_id, '03')).toBe(true);
    expect((await messages.ofTask(task.task_id)).map((m) => m.message_seq)).toEqual(['01', '02']);
    await messages.skip((await messages.get(task.task_id, '01'))!, 'the endpoint is disabled', NOW);
    expect(await messages.pendingBefore(task.task_id, '02')).toBe(false);
  });

  it('defers and skips only a message no attempt holds', async () => {
    const task = pendingTask();
    const message = claimedAtCreation(messageFor(task), NOW, NOW + 10_000);
    await messages.put(message);
    await messages.defer(task.task_id, '01', NOW + 99_000, NOW);
    expect(await messages.skip(message, 'disabled', NOW)).toBe(false);
    expect(await messages.get(task.task_id, '01')).toMatchObject({ message_state: 'pending', due_at_ms: NOW + 10_000 });
    await messages.defer(task.task_id, '01', NOW + 99_000, NOW + 10_000);
    expect(await messages.get(task.task_id, '01')).toMatchObject({ due_at_ms: NOW + 99_000 });
  });

  it('requeues for a redelivery with a fresh schedule, not while an attempt holds it, and only from the states asked', async () => {
    const task = pendingTask();
    const message = claimedAtCreation(messageFor(task), NOW, NOW + 10_000);
    await messages.put(message);
    expect(await messages.requeue(task.task_id, '01', { nowMs: NOW + 1000 })).toBeUndefined();
    await messages.settle(message, 1, { kind: 'delivered', at: 7, httpStatus: 200 });
    expect(await messages.requeue(task.task_id, '01', { nowMs: NOW + 2000, onlyFrom: ['exhausted', 'skipped'] })).toBeUndefined();
    const requeued = await messages.requeue(task.task_id, '01', { nowMs: NOW + 3000, leaseUntilMs: NOW + 13_000 });
    expect(requeued).toMatchObject({ message_state: 'pending', origin_ms: NOW + 3000, claims: 2, settled: 1, claim_at_ms: NOW + 3000, due_at_ms: NOW + 13_000, webhook_id: message.webhook_id });
    expect(await messages.settle(requeued!, 2, { kind: 'exhausted', at: 9, error: 'down' })).toBe(true);
    const recovered = await messages.requeue(task.task_id, '01', { nowMs: NOW + 4000, onlyFrom: ['exhausted', 'skipped'] });
    expect(recovered).toMatchObject({ message_state: 'pending', due_at_ms: NOW + 4000, claims: 2, settled: 2 });
    expect(recovered).not.toHaveProperty('undelivered_owner');
    expect(await messages.requeue(task.task_id, 'nope', { nowMs: NOW })).toBeUndefined();
  });
});

describe('endpoint store', () => {
  it('creates an endpoint once per client and URL, and lists a client\'s endpoints', async () => {
    const a = await endpoints.ensure('client-e', 'https://hooks.example.com/a', 100);
    expect(a).toEqual({ client_id: 'client-e', endpoint_id: endpointIdOf('https://hooks.example.com/a'), url: 'https://hooks.example.com/a', endpoint_state: 'enabled', created_at: 100 });
    expect(await endpoints.ensure('client-e', 'https://hooks.example.com/a', 200)).toEqual(a);
    await endpoints.ensure('client-e', 'https://hooks.example.com/b', 300);
    await endpoints.ensure('client-other', 'https://hooks.example.com/a', 300);
    expect((await endpoints.list('client-e')).map((e) => e.url).sort()).toEqual(['https://hooks.example.com/a', 'https://hooks.example.com/b']);
  });

  it('fails since the first failure, recovers on a success, disables once, enables again', async () => {
    const { endpoint_id: id } = await endpoints.ensure('client-f', 'https://hooks.example.com/f', 100);
    expect(await endpoints.recordFailure('client-f', id, 110)).toMatchObject({ failing_since: 110 });
    expect(await endpoints.recordFailure('client-f', id, 120)).toMatchObject({ failing_since: 110 });
    await endpoints.recordSuccess('client-f', id);
    expect(await endpoints.get('client-f', id)).not.toHaveProperty('failing_since');
    await endpoints.recordSuccess('client-f', id); // no-op
    await endpoints.recordFailure('client-f', id, 130);
    expect(await endpoints.disable('client-f', id, 'gone', 'the hook answered 410 Gone', 140)).toBe(true);
    expect(await endpoints.disable('client-f', id, 'failing', 'again', 150)).toBe(false);
    expect(await endpoints.get('client-f', id)).toMatchObject({ endpoint_state: 'disabled', disabled_reason: 'gone', disabled_at: 140, failing_since: 130 });
    const enabled = await endpoints.enable('client-f', id);
    expect(enabled).toMatchObject({ endpoint_state: 'enabled' });
    expect(enabled).not.toHaveProperty('failing_since');
    expect(enabled).not.toHaveProperty('disabled_reason');
    // Another client's id is unknown to this one.
    expect(await endpoints.enable('client-g', id)).toBeUndefined();
  });
});

describe('webhook secret rotation', () => {
  it('issues a new secret and keeps the old one as the previous one', async () => {
    const clients = createClientStore({ client: tables.doc, clientsTable: tables.names.clients });
    const created = await clients.create('rotating-client', { at: 10 });
    const rotated = await clients.rotateWebhookSecret(created.clientId, { at: 20 });
    expect(rotated).toEqual({ clientId: created.clientId, webhookSecret: expect.stringMatching(/^whsec_/), rotatedAt: 20 });
    expect(rotated!.webhookSecret).not.toBe(created.webhookSecret);
    expect(await clients.get(created.clientId)).toMatchObject({
      webhookSecret: rotated!.webhookSecret,
      previousWebhookSecret: created.webhookSecret,
      webhookSecretRotatedAt: 20,
    });
    expect((await clients.findByName('rotating-client')).map((c) => c.clientId)).toEqual([created.clientId]);
    expect(await clients.rotateWebhookSecret('00000000-0000-0000-0000-000000000000')).toBeUndefined();
  });
});
