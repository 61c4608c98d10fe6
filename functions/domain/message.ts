/**
 * A notification message: one status change of a task, for its notify_hook,
 * written once (by the stream consumer) and kept until its retention ends,
 * whatever becomes of it. It carries the body exactly as the task was at
 * that change, its webhook-id, its place in the task's order, its state and
 * the claim of the attempt in progress.
 *
 * Order: a task's messages are delivered one after another, oldest status
 * first (`message_seq` sorts them: revival, then status rank); a message is
 * attempted only when no earlier message of its task is still pending.
 *
 * A message is a durable job (durable-job.ts): an attempt first claims it
 * (a conditional write that counts the claim and leases the message until
 * `due_at_ms`), then sends, then records the attempt (deliveries table) and
 * settles the message (a write conditional on its claim). A claim whose
 * message was never settled
 * (the process died, or the settling write failed) is checked against its
 * attempt record before the message is sent again: a delivery recorded
 * there is not repeated.
 */
import { shardOf, DUE_MESSAGE_SHARDS } from '../tables';
import type { AssetKeys } from './assets';
import { dueNow, type JobLease } from './durable-job';
import type { TaskItem } from './task';
import { STATUS_RANK } from './task';
import type { MessageState, TaskStatus } from './task-status';
import type { NotificationView } from './views';
import { webhookId } from './webhook-signature';

export interface MessageItem extends JobLease {
  readonly task_id: string;
  /** Its place in the task's order: `<revived 0|1><status rank>`, e.g. `01` pending, `03` completed, `12` processing after a revival. */
  readonly message_seq: string;
  readonly webhook_id: string;
  readonly owner_id: string;
  readonly endpoint_id: string;
  readonly hook_url: string;
  readonly task_status: TaskStatus;
  /** The API request that created the task (its client_request_id in the logs). */
  readonly request_id?: string;
  /** The body sent, exactly: the task as GET showed it at this change. */
  readonly payload: string;
  /**
   * The stored media the payload names (a `completed` message released once its task's media are stored):
   * each attempt sends the payload with fresh presigned links to them (assets.ts bodyAtAttempt).
   */
  readonly asset_keys?: AssetKeys;
  readonly message_state: MessageState;
  /** Unix seconds of the status change. */
  readonly created_at: number;
  // The lease fields (JobLease): origin_ms is the change, or the last redelivery; claim_at_ms names the last claim's attempt record.
  readonly last_error?: string;
  readonly last_http_status?: number;
  /** Unix seconds of the last delivery. */
  readonly delivered_at?: number;
  /** Unix seconds it became exhausted, skipped or refused. */
  readonly ended_at?: number;
  /** Present while exhausted or skipped: the undelivered-message index (recover). */
  readonly undelivered_owner?: string;
  readonly expires_at: number;
}

/** A message as the due-message index projects it. */
export interface DueMessage {
  readonly task_id: string;
  readonly message_seq: string;
  readonly owner_id: string;
  readonly endpoint_id: string;
  readonly due_at_ms: number;
}

/** Log messages the stack counts (CloudWatch Logs metric filters, lib/monitoring.ts). */
export const NOTIFICATION_LOG_EVENTS = {
  exhausted: 'notification exhausted',
  endpointDisabled: 'endpoint disabled',
} as const;

/** The order key of a task's message for a status (revived: reached again after a revival). */
export function messageSeq(status: TaskStatus, revived: boolean): string {
  return `${revived ? 1 : 0}${STATUS_RANK[status]}`;
}

/** The order key of the message a task's current status was notified with. */
export function messageSeqOf(task: Pick<TaskItem, 'task_status' | 'revived_at'>): string {
  return messageSeq(task.task_status, task.revived_at !== undefined);
}

export const dueShard = (taskId: string) => shardOf(taskId, DUE_MESSAGE_SHARDS);

export interface NewMessage {
  readonly task: TaskItem;
  readonly endpointId: string;
  /** The body: the task as GET shows it (views.ts), serialised. */
  readonly payload: string;
  readonly nowMs: number;
  readonly retentionDays: number;
}

/** A pending message for a status change, due at once. */
export function newMessage({ task, endpointId, payload, nowMs, retentionDays }: NewMessage): MessageItem {
  const createdAt = Math.floor(nowMs / 1000);
  return {
    task_id: task.task_id,
    message_seq: messageSeqOf(task),
    webhook_id: webhookId(task.task_id, task.task_status, task.revived_at !== undefined),
    owner_id: task.owner_id,
    endpoint_id: endpointId,
    hook_url: task.notify_hook!,
    task_status: task.task_status,
    request_id: task.request_id,
    payload,
    message_state: 'pending',
    created_at: createdAt,
    ...dueNow(dueShard(task.task_id), nowMs),
    expires_at: createdAt + retentionDays * 86_400,
  };
}

/** The same message, claimed by its writer for an attempt it makes at once, leased until `leaseUntilMs`. */
export function claimedAtCreation(message: MessageItem, nowMs: number, leaseUntilMs: number): MessageItem {
  return { ...message, claims: 1, claim_at_ms: nowMs, due_at_ms: leaseUntilMs };
}

/**
 * The same message, written as waiting: a `completed` notification held out
 * of the due index until its task's media are stored or their copy failed
 * for good (completed-notification.ts releases it).
 */
export function waitingAtCreation(message: MessageItem): MessageItem {
  const { due_shard: _shard, due_at_ms: _due, ...rest } = message;
  return { ...rest, message_state: 'waiting' };
}

/** The same message, written as skipped: its endpoint is disabled (kept, recoverable). */
export function skippedAtCreation(message: MessageItem, reason: string): MessageItem {
  const { due_shard: _shard, due_at_ms: _due, ...rest } = message;
  return { ...rest, message_state: 'skipped', ended_at: message.created_at, last_error: reason, undelivered_owner: message.owner_id };
}

/** The sort key of an attempt in the deliveries table: `<claim ms>#<webhook id>#<claim>`, time-ordered. */
export function attemptId(claimAtMs: number, webhookIdValue: string, claim: number): string {
  return `${String(claimAtMs).padStart(14, '0')}#${webhookIdValue}#${claim}`;
}

export function toNotificationView(message: MessageItem): NotificationView {
  return {
    webhook_id: message.webhook_id,
    task_id: message.task_id,
    task_status: message.task_status,
    endpoint_id: message.endpoint_id,
    state: message.message_state,
    attempts: message.claims,
    created_at: message.created_at,
    next_attempt_at: message.message_state === 'pending' && message.due_at_ms !== undefined ? Math.ceil(message.due_at_ms / 1000) : null,
    delivered_at: message.delivered_at ?? null,
    last_error: message.last_error ?? null,
  };
}
