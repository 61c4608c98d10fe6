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
 */
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
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
  /** Extra units when the extend carries an Idempotency-Key (task and key in one transaction). */
  readonly idempotencyKeyExtra: { readonly readUnits: number; readonly writeUnits: number; readonly calls: Record<string, number> };
  readonly taskItemBytes: number;
  readonly deliveryItemBytes: number;
  readonly conditionFailedWrites: number;
  /** What one notification (a status change told to a healthy hook at once) costs in DynamoDB: the task-changes consumer's calls per change. */
  readonly perNotification: { readonly writeCalls: number; readonly writeUnits: number; readonly indexWriteUnits: number; readonly readCalls: number; readonly readUnits: number };
  readonly reconcilerRun: { readonly calls: number; readonly readUnits: number };
  /** One delivery worker run with nothing due, in process (its cost is per month, like the reconciler's). */
  readonly deliveryWorkerRun: { readonly calls: number; readonly readUnits: number; readonly ms: number };
  readonly problems: string[];
}

const STEP: Record<string, string> = {
  'GetItem Tasks': 'extend parent lookup / callback get / client GET',
  'PutItem Tasks': 'extend: task written (submitting)',
  'UpdateItem Tasks': 'extend: upstream answer; callbacks: forward moves',
  'GetItem Clients': 'task-changes: client webhook secret, once per batch (3 per task when each change is alone in its batch)',
  'GetItem Endpoints': 'task-changes: the hook URL\'s endpoint (enabled, failing?), once per batch',
  'PutItem Endpoints': 'task-changes: the endpoint, the first time a task names the URL',
  'PutItem Messages': 'task-changes: the durable message, one conditional write per status change',
  'Query Messages': 'task-changes: an earlier notification of the task still pending? (not for the first)',
  'UpdateItem Messages': "task-changes: the first attempt's outcome settles the message",
  'PutItem Deliveries': 'task-changes: one record per delivery attempt',
  'TransactWriteItems Tasks+Idempotency': 'extend with Idempotency-Key: task + key',
};

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
    const transact = meter.entries.filter((e) => e.operation === 'TransactWriteItems');
    const put = meter.entries.filter((e) => e.operation === 'PutItem' && e.table === stack.tableNames.tasks);
    const idempotencyKeyExtra = {
      readUnits: 0,
      writeUnits: round(writeOf(transact) / Math.max(1, transact.length) - writeOf(put) / Math.max(1, put.length), 2),
      calls: { TransactWriteItems: round(transact.length / 2, 2), PutItem: -round(put.length / 2, 2) },
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
    const deliveries = (await doc.send(new QueryCommand({ TableName: stack.tableNames.deliveries, KeyConditionExpression: 'task_id = :t', ExpressionAttributeValues: { ':t': taskIds[0] } }))).Items ?? [];
    const result: UnitsResult = {
      method: 'ReturnConsumedCapacity INDEXES as answered by DynamoDB Local (same item-size rules as DynamoDB, index writes included); writes refused by their condition estimated at 1 WCU per KB of the item',
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
      problems,
    };
    log(`units per task: ${result.perTask.readUnits} RRU, ${result.perTask.writeUnits} WRU in ${result.perTask.calls} calls; task item ${result.taskItemBytes} bytes`);
    const note = result.perNotification;
    log(`per notification: ${note.writeCalls} DynamoDB writes (${note.writeUnits} WRU, ${note.indexWriteUnits} of them on indexes), ${note.readCalls} reads (${note.readUnits} RRU)`);
    return result;
  } finally {
    meter.detach();
    sim.reset();
  }
}
