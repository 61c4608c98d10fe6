/**
 * What issue 9 asks the bench to show about notifications, on the local
 * stack (the task-changes consumer on DynamoDB Local's stream, the delivery worker on
 * its schedule):
 *
 * - neighbours: status changes of two other clients, one whose hook hangs
 *   and one whose hook answers 500, written into the task table beside the
 *   measured client's changes (same stream). Their endpoints are failing
 *   before the measured run starts (each costs its batch one bounded first
 *   attempt, once: notifyFirstAttemptTimeoutMs), so the run shows the
 *   steady state; the measured client's delay is compared with the same run
 *   beside two healthy clients (the same stream load: the local poller
 *   reads a busy stream without pausing, so "alone" is not the fair base);
 * - random failures: tasks whose changes go to hooks that answer at random
 *   (2xx, 5xx, 503 with Retry-After, hanging), retried by the worker on the
 *   bench's short schedule: how many notifications were delivered,
 *   exhausted (kept, recoverable) and lost (no message, or none settled),
 *   and whether any webhook-id was accepted twice.
 */
import { randomUUID } from 'node:crypto';
import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createClientStore } from '../../functions/adapters/dynamodb/client-store';
import { STATUS_RANK, type TaskStatus } from '../../functions/domain/task';
import { DUE_MESSAGE_SHARDS, DUE_MESSAGES_INDEX } from '../../functions/tables';
import { startHookServer, type HookAnswer, type HookServer } from '../support/hook-server';
import type { BenchContext } from './context';
import { round, seededShuffle } from './stats';
import { benchTask, putTasks } from './tasks';

/** A task written as extend leaves it (submitting), then moved through `statuses` by conditional-free updates: one stream record each. */
async function taskThrough(ctx: BenchContext, ownerId: string, hookUrl: string, statuses: readonly TaskStatus[]): Promise<string> {
  const { item } = benchTask(ownerId, { status: 'submitting', notifyHook: hookUrl });
  await putTasks(ctx.doc, ctx.stack.tableNames.tasks, [item]);
  for (const status of statuses) {
    await ctx.doc.send(
      new UpdateCommand({
        TableName: ctx.stack.tableNames.tasks,
        Key: { task_id: item.task_id },
        UpdateExpression: 'SET task_status = :s, status_rank = :r, updated_at = :u',
        ExpressionAttributeValues: { ':s': status, ':r': STATUS_RANK[status], ':u': item.updated_at + STATUS_RANK[status] },
      }),
    );
  }
  return item.task_id;
}

async function endpointsOf(ctx: BenchContext, clientId: string): Promise<Record<string, any>[]> {
  const { Items = [] } = await ctx.doc.send(
    new QueryCommand({ TableName: ctx.stack.tableNames.endpoints, KeyConditionExpression: 'client_id = :c', ExpressionAttributeValues: { ':c': clientId } }),
  );
  return Items;
}

async function messagesOf(ctx: BenchContext, taskId: string): Promise<Record<string, any>[]> {
  const { Items = [] } = await ctx.doc.send(
    new QueryCommand({ TableName: ctx.stack.tableNames.messages, KeyConditionExpression: 'task_id = :t', ExpressionAttributeValues: { ':t': taskId }, ConsistentRead: true }),
  );
  return Items;
}

export interface Neighbours {
  /** Stops writing changes; resolves with how many were written while running. */
  stop(): Promise<number>;
  /** Closes their hooks (once their notifications are out). */
  close(): Promise<void>;
  readonly hanging: HookServer;
  readonly failing: HookServer;
}

/**
 * Two other clients whose tasks change every `intervalMs`, in the same
 * stream as the measured client's, until stopped: with `misbehaving`, one
 * whose hook hangs and one whose hook answers 500 (resolves once both
 * endpoints are failing); without, two healthy ones (the same stream load,
 * for the comparison: the local poller reads a busy stream faster).
 */
export async function startNeighbours(ctx: BenchContext, intervalMs: number, misbehaving: boolean): Promise<Neighbours> {
  const clients = createClientStore({ client: ctx.doc, clientsTable: ctx.stack.tableNames.clients });
  const [hangingClient, failingClient] = await Promise.all([clients.create('bench-neighbour-a'), clients.create('bench-neighbour-b')]);
  const [hanging, failing] = await Promise.all([startHookServer(), startHookServer()]);
  hanging.defaultAnswer = misbehaving ? 'hang' : 200;
  failing.defaultAnswer = misbehaving ? 500 : 200;
  await taskThrough(ctx, hangingClient.clientId, hanging.url, ['pending']);
  await taskThrough(ctx, failingClient.clientId, failing.url, ['pending']);
  const deadline = Date.now() + 30_000;
  for (const clientId of misbehaving ? [hangingClient.clientId, failingClient.clientId] : []) {
    while (!(await endpointsOf(ctx, clientId)).some((e) => e.failing_since !== undefined)) {
      if (Date.now() > deadline) throw new Error('the neighbours\' endpoints did not start failing within 30 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  let running = true;
  let written = 0;
  const loop = (async () => {
    while (running) {
      await Promise.all([
        taskThrough(ctx, hangingClient.clientId, hanging.url, ['pending', 'processing']),
        taskThrough(ctx, failingClient.clientId, failing.url, ['pending', 'processing']),
      ]);
      written += 4;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    hanging,
    failing,
    stop: async () => {
      running = false;
      await loop;
      // Their notifications still pending are delivered now, so they hold up nothing after.
      hanging.defaultAnswer = 200;
      failing.defaultAnswer = 200;
      return written;
    },
    close: async () => {
      await Promise.all([hanging.close(), failing.close()]);
    },
  };
}

/**
 * Waits until no notification is pending (the due-message index is empty):
 * the worker's retries of one run then cost nothing to the next phase's
 * figures.
 */
export async function drainNotifications(ctx: BenchContext, timeoutMs = 120_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    let pending = 0;
    for (let shard = 0; shard < DUE_MESSAGE_SHARDS; shard += 1) {
      const { Count = 0 } = await ctx.doc.send(
        new QueryCommand({
          TableName: ctx.stack.tableNames.messages,
          IndexName: DUE_MESSAGES_INDEX,
          KeyConditionExpression: 'due_shard = :s',
          ExpressionAttributeValues: { ':s': String(shard) },
          Select: 'COUNT',
        }),
      );
      pending += Count;
    }
    if (pending === 0) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`${pending} notifications still pending after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export interface RandomFailuresRun {
  readonly tasks: number;
  readonly endpoints: number;
  /** Status changes with a hook: notifications that must exist. */
  readonly expected: number;
  /** Notifications a hook accepted (2xx). */
  readonly delivered: number;
  /** Every planned attempt failed: kept, recoverable (POST /luma/notifications/recover). */
  readonly exhausted: number;
  /** No message, or one still unsettled when the run ended. */
  readonly lost: number;
  /** webhook-ids a hook accepted more than once. */
  readonly acceptedTwice: number;
  readonly attempts: number;
  readonly failedAttempts: number;
  readonly answers: string;
  readonly seconds: number;
}

/** Answers at random: 60% 2xx, 25% 5xx, 10% 503 with Retry-After 1, 5% hanging (seeded: runs repeat). */
function randomAnswers(count: number, seed: number): HookAnswer[] {
  const pool: HookAnswer[] = [
    ...Array<HookAnswer>(12).fill(200),
    ...Array<HookAnswer>(5).fill(500),
    ...Array<HookAnswer>(2).fill({ status: 503, headers: { 'Retry-After': '1' } }),
    'hang',
  ];
  return Array.from({ length: count }, (_, i) => seededShuffle(pool, seed + i)[0]);
}

export async function randomFailuresRun(ctx: BenchContext, tasks: number, endpoints: number): Promise<RandomFailuresRun> {
  const started = Date.now();
  const hook = await startHookServer();
  try {
    hook.answers = randomAnswers(tasks * 3 * 8, 20261209);
    const urls = Array.from({ length: endpoints }, () => `${hook.url}/${randomUUID()}`);
    const taskIds: string[] = [];
    for (let i = 0; i < tasks; i += 1) taskIds.push(await taskThrough(ctx, ctx.stack.clientId, urls[i % urls.length], ['pending', 'processing', 'completed']));
    const expected = tasks * 3;
    const finalStates = new Set(['delivered', 'exhausted', 'skipped', 'refused']);
    const deadline = Date.now() + 180_000;
    let messages: Record<string, any>[] = [];
    while (Date.now() < deadline) {
      messages = (await Promise.all(taskIds.map((id) => messagesOf(ctx, id)))).flat();
      if (messages.length === expected && messages.every((m) => finalStates.has(m.message_state))) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const ours = new Set(taskIds);
    const received = hook.received.filter((n) => ours.has(JSON.parse(n.body).task_id));
    const acceptedIds = received.filter((n) => n.status !== undefined && n.status < 300).map((n) => String(n.headers['webhook-id']));
    const settled = messages.filter((m) => finalStates.has(m.message_state));
    return {
      tasks,
      endpoints,
      expected,
      delivered: new Set(acceptedIds).size,
      exhausted: messages.filter((m) => m.message_state === 'exhausted').length,
      lost: expected - settled.length,
      acceptedTwice: acceptedIds.length - new Set(acceptedIds).size,
      attempts: received.length,
      failedAttempts: received.filter((n) => n.status === undefined || n.status >= 300).length,
      answers: '60% 2xx, 25% 500, 10% 503 + Retry-After, 5% hanging',
      seconds: round((Date.now() - started) / 1000, 1),
    };
  } finally {
    await hook.close();
  }
}
