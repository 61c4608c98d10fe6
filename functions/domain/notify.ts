/**
 * Tells clients of every status change: for each stream record that is one,
 * POST the task (as GET shows it) to the client's notify_hook, signed by the
 * Standard Webhooks spec, retried with backoff, every attempt recorded.
 * Records that still fail are reported as batch item failures, so Lambda
 * retries them (bounded) and then sends them to the on-failure destination.
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { HookPolicy } from './hook-url';
import { silentMetrics, type ClientStore, type DeliveryStore, type HookSender, type LogSink, type MetricSink } from './ports';
import { isStatusChange } from './task-events';
import { toTaskView, type TaskItem } from './task';
import { webhookHeaders, webhookId } from './webhook-signature';

export interface NotifyDeps {
  readonly clients: Pick<ClientStore, 'get'>;
  readonly deliveries: DeliveryStore;
  readonly policy: HookPolicy;
  readonly log: LogSink;
  /** @default none recorded */
  readonly metrics?: MetricSink;
  /** Unix milliseconds. */
  readonly nowMs: () => number;
  /** Attempts per record in one invocation, and the waits between them. */
  readonly retryDelaysMs: readonly number[];
  readonly timeoutMs: number;
  readonly retentionDays: number;
  /** Sends one notification (functions/adapters/hook-delivery.ts). */
  readonly deliver: HookSender;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Milliseconds left in this invocation; no attempt starts that could not finish in time. */
  readonly remainingMs?: () => number;
}

export interface BatchResult {
  batchItemFailures: { itemIdentifier: string }[];
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The task change a stream record carries, or undefined when it is not a status change with a hook. */
export function statusChangeOf(record: DynamoDBRecord): TaskItem | undefined {
  const { NewImage, OldImage } = record.dynamodb ?? {};
  if (record.eventName !== 'MODIFY' || NewImage === undefined || OldImage === undefined) return undefined;
  const after = unmarshall(NewImage as Parameters<typeof unmarshall>[0]) as TaskItem;
  const before = unmarshall(OldImage as Parameters<typeof unmarshall>[0]) as TaskItem;
  if (!isStatusChange(before.task_status, after.task_status) || !after.notify_hook) return undefined;
  return after;
}

/** Delivers one status change, with retries; true when delivered (or refused for good). */
async function notifyChange(deps: NotifyDeps, task: TaskItem): Promise<boolean> {
  const metrics = deps.metrics ?? silentMetrics;
  // Several tasks are notified at once: each line names its own (never the hook's URL, which may be a credential).
  const keys = { task_id: task.task_id, client_request_id: task.request_id };
  const secret = (await deps.clients.get(task.owner_id))?.webhookSecret;
  if (secret === undefined) {
    deps.log.warn('task owner has no client record; notification dropped', keys);
    return true;
  }
  const id = webhookId(task.task_id, task.task_status, task.revived_at !== undefined);
  const attempted = { ...keys, webhook_id: id, task_status: task.task_status };
  const body = JSON.stringify(toTaskView(task));
  const sleep = deps.sleep ?? defaultSleep;

  for (let attempt = 1; attempt <= deps.retryDelaysMs.length + 1; attempt += 1) {
    // Out of time: leave the rest to Lambda's retry of this record.
    if ((deps.remainingMs?.() ?? Infinity) < deps.timeoutMs + 1000) return false;
    const attemptedAt = deps.nowMs();
    const result = await deps.deliver({
      url: task.notify_hook!,
      // Signed anew for each attempt: the timestamp is part of the signature.
      headers: webhookHeaders(secret, id, Math.floor(attemptedAt / 1000), body),
      body,
      timeoutMs: deps.timeoutMs,
      policy: deps.policy,
    });
    await deps.deliveries.record({
      task_id: task.task_id,
      attempt_id: `${String(attemptedAt).padStart(14, '0')}#${id}#${attempt}`,
      webhook_id: id,
      task_status: task.task_status,
      attempt,
      attempted_at: Math.floor(attemptedAt / 1000),
      outcome: result.outcome,
      http_status: 'httpStatus' in result ? result.httpStatus : undefined,
      error: 'error' in result ? result.error : undefined,
      duration_ms: result.durationMs,
      expires_at: Math.floor(attemptedAt / 1000) + deps.retentionDays * 86_400,
    });
    const outcome = { ...attempted, attempt, http_status: 'httpStatus' in result ? result.httpStatus : undefined, duration_ms: result.durationMs };
    if (result.outcome === 'delivered') {
      deps.log.info('notification delivered', outcome);
      metrics.count('NotificationsDelivered');
      return true;
    }
    metrics.count('NotificationsFailed');
    if (result.outcome === 'refused') {
      deps.log.warn('notification refused', { ...outcome, reason: result.error });
      return true; // Retrying cannot make a forbidden address allowed.
    }
    deps.log.warn('notification attempt failed', { ...outcome, reason: result.error });
    if (attempt <= deps.retryDelaysMs.length) await sleep(deps.retryDelaysMs[attempt - 1]);
  }
  deps.log.warn('notification attempts exhausted; the change goes back to the stream for a retry', attempted);
  metrics.count('NotificationsExhausted');
  return false;
}

/**
 * A client's record is read once per batch, however many of its tasks
 * changed: the changes share the read in flight. A read that fails is not
 * shared: each change then reads for itself, as if alone.
 */
function oneReadPerClient(clients: NotifyDeps['clients']): NotifyDeps['clients'] {
  const reads = new Map<string, ReturnType<NotifyDeps['clients']['get']>>();
  return {
    get: async (clientId) => {
      let read = reads.get(clientId);
      if (read === undefined) {
        read = clients.get(clientId);
        reads.set(clientId, read);
      }
      try {
        return await read;
      } catch {
        reads.delete(clientId);
        return clients.get(clientId);
      }
    },
  };
}

/**
 * Different tasks are notified in parallel; one task's changes go out one
 * after another, in stream order, and after a failure its later changes wait
 * for the retry. A slow hook therefore delays only its own task.
 */
export async function notifyStatusChanges(deps: NotifyDeps, records: readonly DynamoDBRecord[]): Promise<BatchResult> {
  deps = { ...deps, clients: oneReadPerClient(deps.clients) };
  const byTask = new Map<string, { sequence: string; task: TaskItem }[]>();
  for (const record of records) {
    const task = statusChangeOf(record);
    if (task === undefined) continue;
    const changes = byTask.get(task.task_id) ?? [];
    changes.push({ sequence: record.dynamodb?.SequenceNumber ?? '', task });
    byTask.set(task.task_id, changes);
  }

  const failed = new Set<string>();
  await Promise.all(
    [...byTask.values()].map(async (changes) => {
      for (const [index, { task }] of changes.entries()) {
        let delivered = false;
        try {
          delivered = await notifyChange(deps, task);
        } catch (error) {
          deps.log.error('notification failed', { task_id: task.task_id, error });
        }
        if (!delivered) {
          for (const later of changes.slice(index)) failed.add(later.sequence);
          return;
        }
      }
    }),
  );
  // Reported in stream order: Lambda resumes from the lowest one.
  return {
    batchItemFailures: records
      .map((record) => record.dynamodb?.SequenceNumber ?? '')
      .filter((sequence) => failed.has(sequence))
      .map((itemIdentifier) => ({ itemIdentifier })),
  };
}
