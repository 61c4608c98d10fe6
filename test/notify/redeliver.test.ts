/**
 * Redelivery against DynamoDB Local and a hook on loopback: resend the
 * latest notification (at once, or after the earlier ones of its task),
 * recover exhausted and skipped ones since a time, a bounded number a call.
 */
import { randomUUID } from 'node:crypto';
import { createClientStore } from '#adapters/dynamodb/client-store';
import { createDeliveryStore } from '#adapters/dynamodb/delivery-store';
import { createEndpointStore } from '#adapters/dynamodb/endpoint-store';
import { createMessageStore } from '#adapters/dynamodb/message-store';
import { deliverToHook } from '#adapters/hook-delivery';
import { newMessage, type MessageItem } from '#domain/message';
import { type Client, type EndpointStore, type MessageStore, silentLog } from '#domain/ports';
import { recoverSince, resendLatest, type ResendDeps } from '#domain/redeliver';
import { toTaskView, type TaskItem } from '#domain/task';
import type { TaskStatus } from '#domain/task-status';
import { createTestTables, type TestTables } from '../support/dynamo';
import { startHookServer, type HookServer } from '../support/hook-server';
import { taskItem } from '../support/tasks';

let tables: TestTables;
let messages: MessageStore;
let endpoints: EndpointStore;
let client: Client;
let hook: HookServer;

beforeAll(async () => {
  tables = await createTestTables();
  messages = createMessageStore({ client: tables.doc, messagesTable: tables.names.messages });
  endpoints = createEndpointStore({ client: tables.doc, endpointsTable: tables.names.endpoints });
  client = await createClientStore({ client: tables.doc, clientsTable: tables.names.clients }).create('redeliver');
  hook = await startHookServer();
});
afterAll(async () => {
  await hook.close();
  tables.destroy();
});
beforeEach(() => {
  hook.received.length = 0;
});

function deps(): ResendDeps {
  return {
    clients: createClientStore({ client: tables.doc, clientsTable: tables.names.clients }),
    messages,
    deliveries: createDeliveryStore({ client: tables.doc, deliveriesTable: tables.names.deliveries }),
    endpoints,
    deliver: deliverToHook,
    policy: { allowLoopbackHttp: true },
    log: silentLog,
    nowMs: Date.now,
    random: () => 0,
    schedule: [0, 60],
    disableAfterSeconds: 3600,
    secretOverlapSeconds: 0,
    retentionDays: 30,
    firstAttemptTimeoutMs: 1000,
  };
}

/** A task's messages, written in the given states (the pending ones due now). */
async function written(states: [TaskStatus, MessageItem['message_state']][], owner = client.clientId): Promise<{ task: TaskItem; messages: MessageItem[] }> {
  const url = `${hook.url}/${randomUUID()}`;
  const base = taskItem({ owner_id: owner, notify_hook: url });
  const endpoint = await endpoints.ensure(owner, url, Math.floor(Date.now() / 1000));
  const items: MessageItem[] = [];
  for (const [status, state] of states) {
    const task = { ...base, task_status: status } as TaskItem;
    const message = newMessage({ task, endpointId: endpoint.endpoint_id, payload: JSON.stringify(toTaskView(task)), nowMs: Date.now(), retentionDays: 30 });
    const item: MessageItem =
      state === 'pending'
        ? message
        : { ...message, message_state: state, due_shard: undefined, due_at_ms: undefined, ...(state !== 'delivered' && { undelivered_owner: owner }) };
    await messages.put(item);
    items.push(item);
  }
  return { task: { ...base, task_status: states.at(-1)![0] } as TaskItem, messages: items };
}

describe('resend', () => {
  it('sends the latest notification at once when nothing earlier of its task is pending', async () => {
    const { task, messages: [, latest] } = await written([['pending', 'delivered'], ['completed', 'delivered']]);
    const view = await resendLatest(deps(), task);
    expect(view).toMatchObject({ webhook_id: latest.webhook_id, state: 'delivered', attempts: 1, next_attempt_at: null });
    expect(hook.received.map((n) => n.headers['webhook-id'])).toEqual([latest.webhook_id]);
  });

  it('queues it behind an earlier pending one of its task, without sending it ahead', async () => {
    const { task, messages: [earlier, latest] } = await written([['pending', 'pending'], ['processing', 'exhausted']]);
    const view = await resendLatest(deps(), task);
    expect(view).toMatchObject({ webhook_id: latest.webhook_id, state: 'pending', attempts: 0 });
    expect(hook.received).toHaveLength(0);
    expect(await messages.get(task.task_id, latest.message_seq)).not.toHaveProperty('undelivered_owner');
    expect((await messages.get(task.task_id, earlier.message_seq))!.message_state).toBe('pending');
  });

  it('refuses a task without notifications (404) and a disabled endpoint (409)', async () => {
    await expect(resendLatest(deps(), taskItem({ owner_id: client.clientId }))).rejects.toMatchObject({ kind: 'not-found' });
    const { task, messages: [latest] } = await written([['pending', 'skipped']]);
    await endpoints.disable(client.clientId, latest.endpoint_id, 'gone', 'the hook answered 410 Gone', 1);
    await expect(resendLatest(deps(), task)).rejects.toMatchObject({ kind: 'conflict', message: expect.stringContaining(`/luma/endpoints/${latest.endpoint_id}/enable`) });
    expect(hook.received).toHaveLength(0);
  });

  it('refuses a completed notification still waiting for its media (409), and sends nothing', async () => {
    const { task, messages: [, latest] } = await written([['pending', 'delivered'], ['completed', 'waiting']]);
    await expect(resendLatest(deps(), task)).rejects.toMatchObject({ kind: 'conflict', message: expect.stringContaining('waiting for its media to be stored') });
    expect((await messages.get(task.task_id, latest.message_seq))!.message_state).toBe('waiting');
    expect(hook.received).toHaveLength(0);
  });
});

describe('recover', () => {
  it('makes exhausted and skipped notifications since a time pending again, a bounded number a call, the caller\'s only', async () => {
    const owner = `recover-${randomUUID()}`;
    const other = `recover-${randomUUID()}`;
    const { messages: ours } = await written([['pending', 'exhausted'], ['processing', 'skipped'], ['completed', 'exhausted']], owner);
    const { messages: delivered } = await written([['pending', 'delivered']], owner);
    const { messages: theirs } = await written([['pending', 'exhausted']], other);
    const recoverDeps = { messages, nowMs: Date.now, maxPerCall: 2 };

    expect(await recoverSince(recoverDeps, owner, Math.floor(Date.now() / 1000) + 60)).toEqual({ since: expect.any(Number), recovered: 0, more: false });
    expect(await recoverSince(recoverDeps, owner, 0)).toEqual({ since: 0, recovered: 2, more: true });
    expect(await recoverSince(recoverDeps, owner, 0)).toEqual({ since: 0, recovered: 1, more: false });
    expect(await recoverSince(recoverDeps, owner, 0)).toEqual({ since: 0, recovered: 0, more: false });
    for (const message of ours) expect(await messages.get(message.task_id, message.message_seq)).toMatchObject({ message_state: 'pending', due_shard: expect.any(String) });
    expect((await messages.get(delivered[0].task_id, delivered[0].message_seq))!.message_state).toBe('delivered');
    expect((await messages.get(theirs[0].task_id, theirs[0].message_seq))!.message_state).toBe('exhausted');
  });

  it('stops in time, with more to do', async () => {
    const owner = `recover-${randomUUID()}`;
    await written([['pending', 'exhausted']], owner);
    expect(await recoverSince({ messages, nowMs: Date.now, maxPerCall: 500, remainingMs: () => 1000 }, owner, 0)).toEqual({ since: 0, recovered: 0, more: true });
  });
});
