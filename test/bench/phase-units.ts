/**
 * Figure 5: DynamoDB units per task over its whole life, measured with
 * ReturnConsumedCapacity TOTAL on every call of the shared document client
 * (DynamoDB Local computes it as DynamoDB does; writes refused by their
 * condition are estimated, see dynamo-meter.ts). A life: the extend over
 * HTTP (parent lookup, task write, upstream answer), the upstream's three
 * callbacks through the front, the task-changes consumer for each status change (client
 * and endpoint GetItem, the message's PutItem, the attempt's PutItem, the
 * message's settling UpdateItem, the Query for an earlier pending
 * notification), one GET by the client. The authorizer
 * is cached by API Gateway (300 s), the reconciler and the delivery worker
 * run on a schedule (their index look-ups): left out of the per-task figure
 * (see cost.ts).
 * Streams: GetRecords by Lambda triggers is free and uses no capacity units.
 *
 * Limits and usage (issue 12): what they add to a task, measured apart (the
 * same task item written as before, a plain PutItem, and as now, in one
 * transaction with its client's limits and day items; plus the usage
 * reaction's transaction per final state, from the lives); and a run of
 * random simultaneous submissions of a client with an open-task limit, its
 * open-task count sampled all along (every sample within the limit).
 */
import { randomUUID } from 'node:crypto';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { createClientStore } from '../../functions/adapters/dynamodb/client-store';
import { createTaskStore } from '../../functions/adapters/dynamodb/task-store';
import { createUsageStore } from '../../functions/adapters/dynamodb/usage-store';
import { isTerminal, type TaskItem } from '../../functions/domain/task';
import type { Context } from 'aws-lambda';
import { documentClient } from '../../functions/adapters/dynamodb/document-client';
import { DUE_MESSAGES_INDEX, OPEN_TASKS_INDEX } from '../../functions/tables';
import { FUNCTION_NEEDS } from '../../lib/function-needs';
import { importHandler } from '../../lib/local/lambda-runtime';
import { SEED_GENERATION_ID } from '../../lib/local/upstream-simulator';
import type { BenchContext } from './context';
import { attachDynamoMeter, type MeterEntry } from './dynamo-meter';
import { lambdaContext, scheduledEvent } from './events';
import { dataOf, runLoad } from './http-load';
import { itemSizeBytes } from './item-size';
import { jsonHeaders } from './phase-http';
import { drainNotifications } from './notify-isolation';
import { drainStream } from './phase-notify';
import { log, round } from './stats';
import { getTasks } from './tasks';

export interface UnitsLine {
  readonly step: string;
  readonly operation: string;
  readonly table: string;
  readonly callsPerTask: number;
  readonly readUnitsPerTask: number;
  readonly writeUnitsPerTask: number;
  /** Of the write units, those spent on global secondary indexes (open tasks, due notifications). */
  readonly indexWriteUnitsPerTask: number;
}

export interface UnitsResult {
  readonly method: string;
  readonly tasks: number;
  readonly lines: UnitsLine[];
  readonly perTask: { readonly calls: number; readonly readUnits: number; readonly writeUnits: number; readonly indexWriteUnits: number };
  /** Extra units when the extend carries an Idempotency-Key (the key in the task's transaction). */
  readonly idempotencyKeyExtra: { readonly readUnits: number; readonly writeUnits: number; readonly calls: Record<string, number> };
  readonly taskItemBytes: number;
  readonly deliveryItemBytes: number;
  readonly conditionFailedWrites: number;
  /** What one notification (a status change told to a healthy hook at once) costs in DynamoDB: the task-changes consumer's calls per change. */
  readonly perNotification: { readonly writeCalls: number; readonly writeUnits: number; readonly indexWriteUnits: number; readonly readCalls: number; readonly readUnits: number };
  readonly reconcilerRun: { readonly calls: number; readonly readUnits: number };
  /** One delivery worker run with nothing due, in process (its cost is per month, like the reconciler's). */
  readonly deliveryWorkerRun: { readonly calls: number; readonly readUnits: number; readonly ms: number };
  /** What limits and usage add to a task's life (issue 12). */
  readonly limitsAndUsage: LimitsAndUsageUnits;
  /** Random simultaneous submissions of a client with an open-task limit, its count sampled all along. */
  readonly limitsRun: LimitsRun;
  readonly problems: string[];
}

export interface LimitsAndUsageUnits {
  /** The task item written alone (PutItem, as before) and in the submission's transaction with the client's limits and day items. */
  readonly taskPutWriteUnits: number;
  readonly admissionTransactionWriteUnits: number;
  /** A client's first submission of a UTC day: its first transaction is refused (the day is over), estimated as DynamoDB charges it. */
  readonly firstOfDayExtraWriteUnits: number;
  /** The usage reaction per task: one transaction (marker, limits, day) per final state reached, measured over the lives. */
  readonly reactionCallsPerTask: number;
  readonly reactionWriteUnitsPerTask: number;
  /** Added per task (all but a client's first submission of a day): the transaction's extra over the plain write, and the reaction's. */
  readonly addedWriteUnitsPerTask: number;
  readonly addedReadUnitsPerTask: number;
}

export interface LimitsRun {
  readonly maxOpenTasks: number;
  readonly submissions: number;
  readonly concurrency: number;
  /** Submission i starts no earlier than i * intervalMs. */
  readonly intervalMs: number;
  readonly accepted: number;
  readonly refusedByLimit: number;
  readonly otherAnswers: Record<string, number>;
  /** The limits item's open-task count, read (consistent) every few ms during the run. */
  readonly counterSamples: { readonly count: number; readonly max: number; readonly min: number; readonly histogram: Record<string, number> };
  /** The client's tasks actually open in the tasks table (owner index + BatchGetItem), sampled less often. */
  readonly openTaskSamples: { readonly count: number; readonly max: number; readonly values: number[] };
  readonly limitRespectedInEverySample: boolean;
  readonly msTotal: number;
}

const STEP: Record<string, string> = {
  'GetItem Tasks': 'extend parent lookup / callback get / client GET',
  'PutItem Tasks': 'extend: task written (submitting)',
  'UpdateItem Tasks': 'extend: upstream answer; callbacks: forward moves; asset worker: the media settled, once',
  'GetItem Clients': 'task-changes: client webhook secret, once per batch (3 per task when each change is alone in its batch)',
  'GetItem Endpoints': 'task-changes: the hook URL\'s endpoint (enabled, failing?), once per batch',
  'PutItem Endpoints': 'task-changes: the endpoint, the first time a task names the URL',
  'PutItem Messages': 'task-changes: the durable message, one conditional write per status change',
  'Query Messages': 'task-changes: an earlier notification of the task still pending? (not for the first)',
  'UpdateItem Messages': "task-changes: the first attempt's outcome settles the message",
  'PutItem Deliveries': 'task-changes: one record per delivery attempt',
  'TransactWriteItems Tasks+Idempotency': 'extend with Idempotency-Key: task + key',
  'TransactWriteItems Tasks+Usage': "extend: task written (submitting) with its client's open-task slot and the day's count",
  'TransactWriteItems Tasks+Idempotency+Usage': 'extend with Idempotency-Key: task + key + slot + count',
  'TransactWriteItems Usage': 'task-changes: usage reaction, per final state (marker, slot freed, day count)',
  'PutItem AssetJobs': "task-changes: a completed task's asset job, written once",
  'UpdateItem AssetJobs': 'asset worker: the job claimed, then settled',
  'Query AssetJobs': "asset worker's sweep: due jobs (its schedule, whichever task it finds)",
  'GetItem Messages': "asset worker: the task's waiting completed notification, to release it",
};

/** The added units of limits and usage: the same task item written as before and as now, side by side (fresh clients). */
async function admissionUnits(ctx: BenchContext, sample: Record<string, unknown>, life: readonly MeterEntry[], tasks: number): Promise<LimitsAndUsageUnits> {
  const { stack } = ctx;
  const meter = attachDynamoMeter(documentClient(), { consumedCapacity: true });
  try {
    const store = createTaskStore({ client: documentClient(), tasksTable: stack.tableNames.tasks, idempotencyTable: stack.tableNames.idempotency, usageTable: stack.tableNames.usage });
    const owner = `bench-units-${randomUUID()}`;
    const copy = () => ({ ...(sample as unknown as TaskItem), task_id: randomUUID(), owner_id: owner, usage_counted: true });
    await store.create(copy());
    const put = meter.entries.at(-1)!.writeUnits;
    meter.reset();
    await store.create(copy(), undefined, { retentionDays: 30 }); // the client's first of the day: two transactions
    const firstOfDay = meter.totals().writeUnits;
    meter.reset();
    await store.create(copy(), undefined, { retentionDays: 30 });
    const admission = meter.totals().writeUnits;
    const reaction = life.filter((e) => e.operation === 'TransactWriteItems' && e.table === stack.tableNames.usage);
    const reactionWrite = reaction.reduce((sum, e) => sum + e.writeUnits, 0) / Math.max(1, tasks);
    return {
      taskPutWriteUnits: round(put, 2),
      admissionTransactionWriteUnits: round(admission, 2),
      firstOfDayExtraWriteUnits: round(firstOfDay - admission, 2),
      reactionCallsPerTask: round(reaction.length / Math.max(1, tasks), 3),
      reactionWriteUnitsPerTask: round(reactionWrite, 3),
      addedWriteUnitsPerTask: round(admission - put + reactionWrite, 3),
      addedReadUnitsPerTask: 0,
    };
  } finally {
    meter.detach();
  }
}

/** Random simultaneous submissions of one client with an open-task limit, over HTTP; its counts sampled all along. */
async function limitsRun(ctx: BenchContext): Promise<LimitsRun> {
  const { stack, sim, doc } = ctx;
  const maxOpenTasks = 5;
  const submissions = ctx.config.quick ? 60 : 240;
  const concurrency = 8;
  // Paced, so that slots free (through the stream) while submissions keep coming; the samplers light, not to starve DynamoDB Local.
  const intervalMs = 40;
  const clients = createClientStore({ client: doc, clientsTable: stack.tableNames.clients });
  const created = await clients.create(`bench-limits-${randomUUID().slice(0, 8)}`);
  const usage = createUsageStore({ client: doc, usageTable: stack.tableNames.usage, retentionDays: () => 30 });
  await usage.setLimits(created.clientId, { maxOpenTasks }, Math.floor(Date.now() / 1000));
  const store = createTaskStore({ client: doc, tasksTable: stack.tableNames.tasks, idempotencyTable: stack.tableNames.idempotency });
  // Random outcomes: a fifth refused by the upstream (their tasks end at once), the rest completed by callbacks.
  sim.reset(); // callbacks on again (the phase dropped them before)
  sim.setFaults({ errorRate: 0.2, errorStatus: 400 });
  const counter: number[] = [];
  const open: number[] = [];
  let running = true;
  const sampleCounter = (async () => {
    while (running) {
      counter.push((await usage.limits(created.clientId)).openTasks);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const sampleOpen = (async () => {
    while (running) {
      const ids: string[] = [];
      let startKey: { task_id: string; created_at: number } | undefined;
      do {
        const page = await store.ofOwner(created.clientId, { limit: 100, startKey });
        ids.push(...page.keys.map((key) => key.task_id));
        startKey = page.next;
      } while (startKey);
      let count = 0;
      for (let i = 0; i < ids.length; i += 100) {
        const found = await store.getMany(ids.slice(i, i + 100));
        count += [...found.values()].filter((task) => !isTerminal(task.task_status)).length;
      }
      open.push(count);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  const started = performance.now();
  try {
    const run = await runLoad(ctx.workDir, {
      baseUrl: stack.url,
      concurrency,
      intervalMs,
      requests: Array.from({ length: submissions }, (_, i) => ({
        method: 'POST' as const,
        path: i % 2 === 0 ? '/luma/generations' : `/luma/generations/${SEED_GENERATION_ID}/extend`,
        headers: jsonHeaders(created.apiKey),
        body: { user_prompt: `limits ${i}: a cat walks into the frame and sits down` },
      })),
    });
    const answers: Record<string, number> = {};
    let accepted = 0;
    let refusedByLimit = 0;
    for (const result of run.results) {
      const code = (() => {
        try {
          return JSON.parse(result.body).code;
        } catch {
          return undefined;
        }
      })();
      if (result.status === 200 || result.status === 202) accepted += 1;
      else if (result.status === 400 && code === 40001) accepted += 1; // refused by the upstream: a task that took its slot, then ended
      else if (result.status === 429 && code === 42902) refusedByLimit += 1;
      else answers[`${result.status} ${code}`] = (answers[`${result.status} ${code}`] ?? 0) + 1;
    }
    // Let the last tasks end and free their slots.
    await sim.idle(20_000).catch(() => undefined);
    const until = Date.now() + 20_000;
    while (Date.now() < until && (await usage.limits(created.clientId)).openTasks > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    const msTotal = performance.now() - started;
    running = false;
    await Promise.all([sampleCounter, sampleOpen]);
    const histogram: Record<string, number> = {};
    for (const value of counter) histogram[value] = (histogram[value] ?? 0) + 1;
    return {
      maxOpenTasks,
      submissions,
      concurrency,
      intervalMs,
      accepted,
      refusedByLimit,
      otherAnswers: answers,
      counterSamples: { count: counter.length, max: Math.max(...counter), min: Math.min(...counter), histogram },
      openTaskSamples: { count: open.length, max: Math.max(...open), values: open },
      limitRespectedInEverySample: counter.every((value) => value >= 0 && value <= maxOpenTasks) && open.every((value) => value <= maxOpenTasks),
      msTotal: round(msTotal, 0),
    };
  } finally {
    running = false;
    await Promise.all([sampleCounter, sampleOpen]);
    sim.reset();
  }
}

/** The task-changes consumer's share of a life: its calls on the client, endpoint, message and delivery tables, per notification. */
function notificationCost(life: readonly MeterEntry[], tables: Record<'clients' | 'endpoints' | 'messages' | 'deliveries', string>, notifications: number) {
  const consumerTables = new Set([tables.clients, tables.endpoints, tables.messages, tables.deliveries]);
  const ours = life.filter((e) => consumerTables.has(e.table));
  const writes = ours.filter((e) => e.operation === 'PutItem' || e.operation === 'UpdateItem');
  const reads = ours.filter((e) => e.operation === 'GetItem' || e.operation === 'Query');
  const per = (value: number) => round(value / Math.max(1, notifications), 3);
  return {
    writeCalls: per(writes.length),
    writeUnits: per(writes.reduce((sum, e) => sum + e.writeUnits, 0)),
    indexWriteUnits: per(writes.reduce((sum, e) => sum + e.indexUnits, 0)),
    readCalls: per(reads.length),
    readUnits: per(reads.reduce((sum, e) => sum + e.readUnits, 0)),
  };
}

export async function unitsPhase(ctx: BenchContext): Promise<UnitsResult> {
  const { stack, sim, hook, doc, config } = ctx;
  const problems: string[] = [];
  const tableLabel = (name: string) => name.split('+').map((part) => part.replace(/^.*_/, '')).join('+');
  await drainStream(ctx);
  // No retry of an earlier phase's notifications in the figures.
  await drainNotifications(ctx);
  sim.reset(); // callbacks on, one step every stepDelayMs
  const meter = attachDynamoMeter(documentClient(), { consumedCapacity: true });
  // The scheduled functions' look-ups of their sparse indexes: a cost per run (cost.ts), not per task.
  const isReconciler = (entry: MeterEntry) => entry.operation === 'Query' && (entry.index === OPEN_TASKS_INDEX || entry.index === DUE_MESSAGES_INDEX);
  try {
    const n = config.lifecycleTasks;
    const run = await runLoad(ctx.workDir, {
      baseUrl: stack.url,
      concurrency: 1,
      requests: Array.from({ length: n }, (_, i) => ({
        method: 'POST' as const,
        path: `/luma/generations/${SEED_GENERATION_ID}/extend`,
        headers: jsonHeaders(stack.clientKey),
        body: { user_prompt: `lifecycle ${i}: a cat walks into the frame and sits down`, expand_prompt: true, notify_hook: hook.url },
      })),
    });
    const taskIds = run.results.map((r) => dataOf(r)?.task_id as string | undefined).filter((id): id is string => typeof id === 'string');
    if (taskIds.length !== n) problems.push(`${n - taskIds.length} lifecycle extends failed`);

    // Until every task is completed, notified three times and its attempts recorded.
    const wanted = new Set(taskIds);
    const deadline = Date.now() + 60_000;
    const deliveriesPut = () => meter.entries.filter((e) => e.operation === 'PutItem' && e.table === stack.tableNames.deliveries).length;
    for (;;) {
      const notified = hook.received.filter((h) => wanted.has(JSON.parse(h.body).task_id)).length;
      const tasks = await getTasks(doc, stack.tableNames.tasks, taskIds);
      const done = [...tasks.values()].filter((t) => t.task_status === 'completed').length;
      if ((done === taskIds.length && notified >= 3 * taskIds.length && deliveriesPut() >= 3 * taskIds.length) || Date.now() > deadline) {
        if (Date.now() > deadline) problems.push(`after 60 s: ${done} completed, ${notified} notified, ${deliveriesPut()} attempts recorded of ${taskIds.length} tasks`);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await sim.idle(10_000).catch(() => undefined);
    // The client reads its task once.
    const gets = await runLoad(ctx.workDir, {
      baseUrl: stack.url,
      concurrency: 1,
      requests: taskIds.map((id) => ({ method: 'GET' as const, path: `/luma/generations/${id}`, headers: { Authorization: `Bearer ${stack.clientKey}` } })),
    });
    if (gets.results.some((r) => r.status !== 200)) problems.push('a GET of a lifecycle task failed');

    const life = meter.entries.filter((entry) => !isReconciler(entry));
    const groups = new Map<string, MeterEntry[]>();
    for (const entry of life) {
      const label = `${entry.operation} ${tableLabel(entry.table)}`;
      groups.set(label, [...(groups.get(label) ?? []), entry]);
    }
    const per = (value: number) => round(value / taskIds.length, 3);
    const lines: UnitsLine[] = [...groups].map(([label, entries]) => ({
      step: STEP[label] ?? '',
      operation: entries[0].operation,
      table: tableLabel(entries[0].table),
      callsPerTask: per(entries.length),
      readUnitsPerTask: per(entries.reduce((sum, e) => sum + e.readUnits, 0)),
      writeUnitsPerTask: per(entries.reduce((sum, e) => sum + e.writeUnits, 0)),
      indexWriteUnitsPerTask: per(entries.reduce((sum, e) => sum + (e.writeUnits > 0 ? e.indexUnits : 0), 0)),
    }));
    const totals = meter.totals((entry) => !isReconciler(entry));

    // An extend with an Idempotency-Key, against one without.
    meter.reset();
    sim.setFaults({ callbacks: { dropRate: 1 } });
    const keyed = await runLoad(ctx.workDir, {
      baseUrl: stack.url,
      concurrency: 1,
      requests: Array.from({ length: 4 }, (_, i) => ({
        method: 'POST' as const,
        path: `/luma/generations/${SEED_GENERATION_ID}/extend`,
        headers: { ...jsonHeaders(stack.clientKey), ...(i % 2 === 0 && { 'Idempotency-Key': `bench-${Date.now()}-${i}` }) },
        body: { user_prompt: `lifecycle key ${i}: a cat walks into the frame and sits down`, expand_prompt: true, notify_hook: hook.url },
      })),
    });
    if (keyed.results.some((r) => r.status !== 200)) problems.push('an extend with an Idempotency-Key failed');
    const writeOf = (entries: MeterEntry[]) => entries.reduce((sum, e) => sum + e.writeUnits, 0);
    const readOf = (entries: MeterEntry[]) => entries.reduce((sum, e) => sum + e.readUnits, 0);
    // Both write their task in a transaction with its slot and count (issue 12); the keyed one holds the key too.
    const submissions = meter.entries.filter((e) => e.operation === 'TransactWriteItems' && e.table.includes(stack.tableNames.tasks) && !e.conditionFailed);
    const transact = submissions.filter((e) => e.table.includes(stack.tableNames.idempotency));
    const put = submissions.filter((e) => !e.table.includes(stack.tableNames.idempotency));
    const idempotencyKeyExtra = {
      readUnits: 0,
      writeUnits: round(writeOf(transact) / Math.max(1, transact.length) - writeOf(put) / Math.max(1, put.length), 2),
      calls: { TransactWriteItems: 0 },
    };

    // One scheduled reconciler run with nothing due (its cost is per month, not per task).
    meter.reset();
    const reconciler = (await importHandler('reconciler')) as (event: unknown, context: Context) => Promise<unknown>;
    await reconciler(scheduledEvent(), lambdaContext('reconciler', FUNCTION_NEEDS.reconciler.memorySize, FUNCTION_NEEDS.reconciler.timeout.toMilliseconds()));
    const reconcilerEntries = meter.entries.filter((entry) => entry.operation === 'Query' && entry.index === OPEN_TASKS_INDEX);
    const reconcilerRuns = Math.max(1, Math.round(reconcilerEntries.length / 4));

    // One delivery worker run with nothing due (after drainNotifications, nothing is).
    await drainNotifications(ctx);
    meter.reset();
    const worker = (await importHandler('delivery-worker')) as (event: unknown, context: Context) => Promise<unknown>;
    const workerStarted = performance.now();
    await worker(scheduledEvent(), lambdaContext('delivery-worker', FUNCTION_NEEDS['delivery-worker'].memorySize, FUNCTION_NEEDS['delivery-worker'].timeout.toMilliseconds()));
    const workerMs = performance.now() - workerStarted;
    const workerEntries = meter.entries.filter((entry) => entry.operation === 'Query' && entry.index === DUE_MESSAGES_INDEX);
    const deliveryWorkerRun = { calls: workerEntries.length, readUnits: round(readOf(workerEntries), 2), ms: round(workerMs, 1) };

    const finalTask = (await doc.send(new GetCommand({ TableName: stack.tableNames.tasks, Key: { task_id: taskIds[0] }, ConsistentRead: true }))).Item ?? {};
    const limitsAndUsage = await admissionUnits(ctx, finalTask, life, taskIds.length);
    const limits = await limitsRun(ctx);
    if (!limits.limitRespectedInEverySample) problems.push(`limits run: an open-task count above ${limits.maxOpenTasks} was sampled`);
    if (Object.keys(limits.otherAnswers).length > 0) problems.push(`limits run: unexpected answers ${JSON.stringify(limits.otherAnswers)}`);
    const deliveries = (await doc.send(new QueryCommand({ TableName: stack.tableNames.deliveries, KeyConditionExpression: 'task_id = :t', ExpressionAttributeValues: { ':t': taskIds[0] } }))).Items ?? [];
    const result: UnitsResult = {
      method: 'ReturnConsumedCapacity INDEXES as answered by DynamoDB Local (same item-size rules as DynamoDB, index writes included); transactions by the documented rule (2 WRU per item per KB: DynamoDB Local under-reports them); writes refused by their condition estimated at 1 WCU per KB of the item',
      tasks: taskIds.length,
      lines,
      perTask: { calls: per(totals.calls), readUnits: per(totals.readUnits), writeUnits: per(totals.writeUnits), indexWriteUnits: per(life.reduce((sum, e) => sum + (e.writeUnits > 0 ? e.indexUnits : 0), 0)) },
      idempotencyKeyExtra,
      taskItemBytes: itemSizeBytes(finalTask),
      deliveryItemBytes: deliveries.length ? Math.max(...deliveries.map((item) => itemSizeBytes(item))) : 0,
      conditionFailedWrites: life.filter((e) => e.conditionFailed).length,
      perNotification: notificationCost(life, stack.tableNames, 3 * taskIds.length),
      reconcilerRun: { calls: round(reconcilerEntries.length / reconcilerRuns, 2), readUnits: round(readOf(reconcilerEntries) / reconcilerRuns, 2) },
      deliveryWorkerRun,
      limitsAndUsage,
      limitsRun: limits,
      problems,
    };
    log(`units per task: ${result.perTask.readUnits} RRU, ${result.perTask.writeUnits} WRU in ${result.perTask.calls} calls; task item ${result.taskItemBytes} bytes`);
    const note = result.perNotification;
    log(`per notification: ${note.writeCalls} DynamoDB writes (${note.writeUnits} WRU, ${note.indexWriteUnits} of them on indexes), ${note.readCalls} reads (${note.readUnits} RRU)`);
    const added = result.limitsAndUsage;
    log(
      `limits and usage add ${added.addedWriteUnitsPerTask} WRU per task: the task write ${added.taskPutWriteUnits} WRU alone, ${added.admissionTransactionWriteUnits} WRU in its transaction ` +
        `with the slot and the count (+${added.firstOfDayExtraWriteUnits} WRU for a client's first of a day); the usage reaction ${added.reactionWriteUnitsPerTask} WRU in ${added.reactionCallsPerTask} transactions`,
    );
    log(
      `limits run: ${limits.submissions} submissions, ${limits.concurrency} at once, limit ${limits.maxOpenTasks} open: ${limits.accepted} accepted, ${limits.refusedByLimit} refused (42902); ` +
        `open-task count sampled ${limits.counterSamples.count} times, max ${limits.counterSamples.max} (${JSON.stringify(limits.counterSamples.histogram)}); ` +
        `open tasks in the table sampled ${limits.openTaskSamples.count} times, max ${limits.openTaskSamples.max}; within the limit in every sample: ${limits.limitRespectedInEverySample}`,
    );
    return result;
  } finally {
    meter.detach();
    sim.reset();
  }
}
