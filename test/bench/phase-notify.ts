/**
 * Notifications on the local stack: from a status change (the 200 of the
 * request that made it: the extend for pending, the upstream's callback for
 * processing and completed) to the client's hook receiving the signed POST.
 * Hook: a loopback server (http://127.0.0.1:<port>/hook, allowed only in the
 * local stack). The path: DynamoDB Local's stream, the local stream poller
 * (a GetRecords round every 200 ms, batches of 10, like the deployed event
 * source mapping), the task-changes consumer handler.
 *
 * - paced: one change at a time, for the delay;
 * - burst: many tasks at once at the bench concurrency, for notifications/s;
 *   every (task, status) must arrive, each with a valid Standard Webhooks
 *   signature (checked with the `standardwebhooks` library);
 * - handler capacity: the task-changes consumer handler alone, in process, fed batches of
 *   10 status changes back to back (what one shard could push without the
 *   local poller's pacing);
 * - beside neighbours: the paced run again, with a hanging and a failing
 *   client's changes in the same stream (notify-isolation.ts): the delay
 *   ratio to the paced run should be about 1;
 * - random failures: hooks failing at random, retried by the delivery
 *   worker: delivered, exhausted, lost (must be 0), accepted twice (0).
 */
import type { Context } from 'aws-lambda';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { Webhook } from 'standardwebhooks';
import { FUNCTION_NEEDS } from '../../lib/function-needs';
import { importHandler } from '../../lib/local/lambda-runtime';
import { SEED_GENERATION_ID } from '../../lib/local/upstream-simulator';
import type { ReceivedNotification } from '../support/hook-server';
import type { BenchContext } from './context';
import { generationBody, lambdaContext, modifyRecord, streamEvent } from './events';
import { dataOf, runLoad, type LoadRun } from './http-load';
import { jsonHeaders } from './phase-http';
import { distribution, epochMs, log, nowMs, round, type Distribution } from './stats';
import { drainNotifications, randomFailuresRun, startNeighbours, type RandomFailuresRun } from './notify-isolation';
import { benchTask, getTasks, putTasks } from './tasks';

export interface NotifyRun {
  readonly tasks: number;
  readonly expected: number;
  readonly delivered: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly badSignatures: number;
  readonly delayMs: Distribution;
  readonly seconds: number;
  readonly perSecond: number;
  /** Status changes committed per second while the run produced them. */
  readonly changesPerSecond: number;
}

export interface IsolationResult {
  /** The paced run again, beside two healthy clients writing changes into the same stream. */
  readonly besideHealthy: NotifyRun;
  /** The paced run again, beside a hanging and a failing client writing as many. */
  readonly beside: NotifyRun;
  /** Their status changes written during it (same stream). */
  readonly neighbourChanges: number;
  /** Requests their hooks received meanwhile. */
  readonly hangingAttempts: number;
  readonly failingAttempts: number;
  /** Delay beside the hanging and failing clients over delay beside healthy ones. */
  readonly ratioP50: number;
  readonly ratioP99: number;
  /** Delay beside the hanging and failing clients over delay alone (paced). */
  readonly ratioToAloneP50: number;
  readonly ratioToAloneP99: number;
}

export interface NotifyResult {
  readonly paced: NotifyRun;
  readonly burst: NotifyRun;
  readonly isolation: IsolationResult;
  readonly randomFailures: RandomFailuresRun;
  readonly handlerCapacity: { readonly batches: number; readonly notifications: number; readonly perSecond: number; readonly batchMs: Distribution };
}

type State = 'pending' | 'processing' | 'completed';

/**
 * Waits until the local stream poller has caught up with the table's
 * stream: it reads every record (10 per 200 ms round) before filtering, so
 * the thousands of changes of earlier phases would otherwise delay the
 * notifications measured here. A marker status change with a hook is made;
 * once it is notified, everything before it has been read.
 */
export async function drainStream(ctx: BenchContext, timeoutMs = 90_000): Promise<number> {
  const started = Date.now();
  const marker = benchTask(ctx.stack.clientId, { status: 'pending', notifyHook: ctx.hook.url });
  await putTasks(ctx.doc, ctx.stack.tableNames.tasks, [marker.item]);
  await ctx.doc.send(
    new UpdateCommand({
      TableName: ctx.stack.tableNames.tasks,
      Key: { task_id: marker.item.task_id },
      UpdateExpression: 'SET task_status = :s, status_rank = :r',
      ExpressionAttributeValues: { ':s': 'processing', ':r': 2 },
    }),
  );
  const wanted = (n: ReceivedNotification) => n.body.includes(marker.item.task_id);
  while (!ctx.hook.received.some(wanted)) {
    if (Date.now() - started > timeoutMs) throw new Error(`the local stream poller did not catch up within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return Date.now() - started;
}
const key = (taskId: string, status: string) => `${taskId}|${status}`;

async function notifyRun(ctx: BenchContext, tasks: number, concurrency: number, intervalMs: number | undefined): Promise<NotifyRun> {
  const { stack, sim, doc, hook } = ctx;
  sim.reset();
  sim.setFaults({ callbacks: { dropRate: 1 } });
  const commits = new Map<string, number>();
  const changes: number[] = [];
  const record = (run: LoadRun, status: (index: number) => { taskId: string | undefined; state: State }) => {
    run.results.forEach((result, index) => {
      const { taskId, state } = status(index);
      if (result.status === 200 && taskId) {
        commits.set(key(taskId, state), result.endMs);
        changes.push(result.endMs);
      }
    });
  };
  const extendRun = await runLoad(ctx.workDir, {
    baseUrl: stack.url,
    concurrency,
    intervalMs,
    requests: Array.from({ length: tasks }, (_, i) => ({
      method: 'POST' as const,
      path: `/luma/generations/${SEED_GENERATION_ID}/extend`,
      headers: jsonHeaders(stack.clientKey),
      body: { user_prompt: `notify ${i}: a cat walks in`, notify_hook: hook.url },
    })),
  });
  const taskIds = extendRun.results.map((r) => dataOf(r)?.task_id as string | undefined);
  record(extendRun, (i) => ({ taskId: taskIds[i], state: 'pending' }));
  const created = taskIds.filter((id): id is string => typeof id === 'string');
  const stored = await getTasks(doc, stack.tableNames.tasks, created);
  const tokenOf = new Map<string, string>();
  for (const submission of sim.requests) {
    const token = /\/luma\/callbacks\/([^/?#]+)$/.exec((submission.body as { notify_hook?: string })?.notify_hook ?? '')?.[1];
    if (token) tokenOf.set(token.split('.')[0], token);
  }
  for (const state of ['processing', 'completed'] as const) {
    const ids = created.filter((id) => tokenOf.has(id) && stored.get(id)?.upstream_id);
    const run = await runLoad(ctx.workDir, {
      baseUrl: stack.url,
      concurrency,
      intervalMs,
      requests: ids.map((id) => ({ method: 'POST' as const, path: `/luma/callbacks/${tokenOf.get(id)}`, headers: jsonHeaders(), body: generationBody(stored.get(id)!.upstream_id, state, undefined, `${sim.url}/media`) })),
    });
    record(run, (i) => ({ taskId: dataOf(run.results[i])?.applied ? ids[i] : undefined, state }));
  }

  // Wait for every change to reach the hook (bounded).
  const expected = new Set(commits.keys());
  const wanted = new Set(created);
  const ours = () => hook.received.filter((n) => wanted.has(JSON.parse(n.body).task_id));
  const deadline = Date.now() + 60_000;
  let received: ReceivedNotification[] = ours();
  while (Date.now() < deadline) {
    received = ours();
    const seen = new Set(received.map((n) => key(JSON.parse(n.body).task_id, JSON.parse(n.body).task_status)));
    if ([...expected].every((k) => seen.has(k))) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await new Promise((resolve) => setTimeout(resolve, 300)); // late duplicates
  received = ours();

  const verifier = new Webhook(stack.webhookSecret);
  const firstReceipt = new Map<string, number>();
  let badSignatures = 0;
  let duplicates = 0;
  for (const notification of received) {
    try {
      verifier.verify(notification.body, notification.headers as Record<string, string>);
    } catch {
      badSignatures += 1;
    }
    const body = JSON.parse(notification.body) as { task_id: string; task_status: string };
    const k = key(body.task_id, body.task_status);
    if (firstReceipt.has(k)) duplicates += 1;
    else firstReceipt.set(k, notification.receivedAtMs);
  }
  const delays = [...expected].filter((k) => firstReceipt.has(k)).map((k) => firstReceipt.get(k)! - commits.get(k)!);
  const delivered = [...expected].filter((k) => firstReceipt.has(k)).length;
  const firstChange = Math.min(...changes);
  const lastChange = Math.max(...changes);
  const lastReceipt = Math.max(...firstReceipt.values());
  const seconds = (lastReceipt - firstChange) / 1000;
  sim.reset();
  return {
    tasks: created.length,
    expected: expected.size,
    delivered,
    lost: expected.size - delivered,
    duplicates,
    badSignatures,
    delayMs: distribution(delays),
    seconds: round(seconds, 2),
    perSecond: round(delivered / seconds, 1),
    changesPerSecond: round(changes.length / Math.max(0.001, (lastChange - firstChange) / 1000), 1),
  };
}

async function handlerCapacity(ctx: BenchContext, batches: number) {
  const consumer = (await importHandler('task-changes')) as (event: unknown, context: Context) => Promise<{ batchItemFailures: unknown[] }>;
  const before = ctx.hook.received.length;
  const times: number[] = [];
  const started = epochMs();
  for (let b = 0; b < batches; b += 1) {
    const records = Array.from({ length: 10 }, () => {
      const { item } = benchTask(ctx.stack.clientId, { notifyHook: ctx.hook.url });
      return modifyRecord(item, { ...item, task_status: 'processing', status_rank: 2, updated_at: item.updated_at + 1 });
    });
    const t0 = nowMs();
    const result = await consumer(streamEvent(records), lambdaContext('task-changes', FUNCTION_NEEDS['task-changes'].memorySize, FUNCTION_NEEDS['task-changes'].timeout.toMilliseconds()));
    times.push(nowMs() - t0);
    if (result.batchItemFailures.length > 0) throw new Error('task-changes reported failures in the capacity run');
  }
  const seconds = (epochMs() - started) / 1000;
  const notifications = ctx.hook.received.length - before;
  return { batches, notifications, perSecond: round(notifications / seconds, 1), batchMs: distribution(times) };
}

/** The paced run beside two other clients writing changes into the same stream (misbehaving: a hanging hook and a failing one). */
async function besideNeighbours(ctx: BenchContext, misbehaving: boolean) {
  await drainStream(ctx);
  await drainNotifications(ctx);
  const neighbours = await startNeighbours(ctx, 60, misbehaving);
  try {
    const run = await notifyRun(ctx, ctx.config.notifyPaced, 1, 60);
    const changes = await neighbours.stop();
    const attempts = { hangingAttempts: neighbours.hanging.received.length, failingAttempts: neighbours.failing.received.length };
    await drainStream(ctx);
    await drainNotifications(ctx);
    return { run, changes, ...attempts };
  } finally {
    await neighbours.stop();
    await neighbours.close();
  }
}

export async function notifyPhase(ctx: BenchContext): Promise<NotifyResult> {
  log(`waiting for the stream poller to catch up (${round((await drainStream(ctx)) / 1000, 1)} s)`);
  const paced = await notifyRun(ctx, ctx.config.notifyPaced, 1, 60);
  await drainStream(ctx);
  log(`notifications paced: ${paced.delivered}/${paced.expected} delivered, delay p50 ${round(paced.delayMs.p50)} ms, p99 ${round(paced.delayMs.p99)} ms, lost ${paced.lost}`);
  const burst = await notifyRun(ctx, ctx.config.notifyBurst, ctx.config.concurrency, undefined);
  log(`notifications burst: ${burst.perSecond}/s, ${burst.delivered}/${burst.expected} delivered, delay p50 ${round(burst.delayMs.p50)} ms, p99 ${round(burst.delayMs.p99)} ms, lost ${burst.lost}, bad signatures ${burst.badSignatures}`);
  const capacity = await handlerCapacity(ctx, ctx.config.quick ? 5 : 20);
  log(`task-changes handler capacity: ${capacity.perSecond} notifications/s (batches of 10, p50 ${round(capacity.batchMs.p50)} ms per batch)`);

  const besideHealthy = await besideNeighbours(ctx, false);
  const beside = await besideNeighbours(ctx, true);
  const isolation: IsolationResult = {
    besideHealthy: besideHealthy.run,
    beside: beside.run,
    neighbourChanges: beside.changes,
    hangingAttempts: beside.hangingAttempts,
    failingAttempts: beside.failingAttempts,
    ratioP50: round(beside.run.delayMs.p50 / besideHealthy.run.delayMs.p50, 2),
    ratioP99: round(beside.run.delayMs.p99 / besideHealthy.run.delayMs.p99, 2),
    ratioToAloneP50: round(beside.run.delayMs.p50 / paced.delayMs.p50, 2),
    ratioToAloneP99: round(beside.run.delayMs.p99 / paced.delayMs.p99, 2),
  };
  log(
    `notifications beside two healthy clients: delay p50 ${round(besideHealthy.run.delayMs.p50)} ms, p99 ${round(besideHealthy.run.delayMs.p99)} ms; ` +
      `beside a hanging and a failing one: p50 ${round(beside.run.delayMs.p50)} ms, p99 ${round(beside.run.delayMs.p99)} ms (x${isolation.ratioP50} / x${isolation.ratioP99}), lost ${beside.run.lost}`,
  );
  const randomFailures = await randomFailuresRun(ctx, ctx.config.notifyRandomTasks, 10);
  await drainNotifications(ctx);
  log(`hooks failing at random: ${randomFailures.delivered}/${randomFailures.expected} delivered, ${randomFailures.exhausted} exhausted, ${randomFailures.lost} lost, ${randomFailures.acceptedTwice} accepted twice, in ${randomFailures.attempts} attempts (${randomFailures.failedAttempts} failed)`);
  return { paced, burst, isolation, randomFailures, handlerCapacity: capacity };
}
