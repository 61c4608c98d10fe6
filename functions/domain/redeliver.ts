/**
 * What a client can do about its notifications, through the API (its own
 * tasks and endpoints only; the handlers check ownership):
 *
 * - resend one task's latest notification now: made pending again with a
 *   fresh schedule and the same webhook-id, and attempted at once when no
 *   earlier notification of the task is pending (else it follows them);
 * - recover every notification of the client that ended undelivered
 *   (exhausted, or skipped while its endpoint was disabled) since a time
 *   (Svix's "recover"): made pending again, delivered by the worker in
 *   task order;
 * - list its endpoints with their state; re-enable a disabled one.
 */
import { conflict, notFound } from './errors';
import { attemptClaimed, leaseMs, type AttemptDeps } from './message-attempt';
import { toNotificationView } from './message';
import type { ClientStore, Endpoint, EndpointStore } from './ports';
import type { TaskItem } from './task';
import type { MessageState } from './task-status';
import type { EndpointView, NotificationView, RecoverResult } from './views';

export function toEndpointView(endpoint: Endpoint): EndpointView {
  return {
    endpoint_id: endpoint.endpoint_id,
    url: endpoint.url,
    state: endpoint.endpoint_state,
    disabled_reason: endpoint.disabled_reason ?? null,
    disabled_detail: endpoint.disabled_detail ?? null,
    disabled_at: endpoint.disabled_at ?? null,
    failing_since: endpoint.failing_since ?? null,
    created_at: endpoint.created_at,
  };
}

export interface ResendDeps extends AttemptDeps {
  readonly clients: Pick<ClientStore, 'get'>;
  readonly firstAttemptTimeoutMs: number;
  /** Milliseconds left in this invocation: the attempt is made at once only when it and its writes fit. */
  readonly remainingMs?: () => number;
}

/**
 * Resends a task's latest notification (the caller owns the task). It is
 * made pending first, so when the attempt cannot be made now (an earlier
 * notification of the task is pending, or the invocation is short of time)
 * or is cut short, the delivery worker sends it.
 */
export async function resendLatest(deps: ResendDeps, task: TaskItem): Promise<NotificationView> {
  const messages = await deps.messages.ofTask(task.task_id);
  const latest = messages.at(-1);
  if (latest === undefined) {
    throw notFound(`task ${task.task_id} has no notification to resend: it has no notify_hook, or has not changed status yet`);
  }
  if (latest.message_state === 'waiting') {
    throw conflict(`task ${task.task_id}'s completed notification is waiting for its media to be stored; it is sent once they are (or once their copy has failed)`);
  }
  const [endpoint, client, waiting] = await Promise.all([
    deps.endpoints.get(latest.owner_id, latest.endpoint_id),
    deps.clients.get(task.owner_id),
    deps.messages.pendingBefore(task.task_id, latest.message_seq),
  ]);
  if (endpoint?.endpoint_state === 'disabled') {
    throw conflict(
      `the endpoint ${latest.endpoint_id} (${latest.hook_url}) is disabled (${endpoint.disabled_detail ?? endpoint.disabled_reason}): ` +
        `enable it with POST /luma/endpoints/${latest.endpoint_id}/enable, then resend`,
    );
  }
  const nowMs = deps.nowMs();
  const lease = leaseMs(deps.firstAttemptTimeoutMs);
  const attemptNow = client !== undefined && endpoint !== undefined && !waiting && (deps.remainingMs?.() ?? Infinity) > lease;
  const requeued = await deps.messages.requeue(task.task_id, latest.message_seq, { nowMs, ...(attemptNow && { leaseUntilMs: nowMs + lease }) });
  // An attempt holds it right now: it is being sent.
  if (requeued === undefined) return toNotificationView(latest);
  if (!attemptNow) return toNotificationView(requeued);
  await attemptClaimed(deps, { previous: requeued, claim: requeued.claims, claimAtMs: nowMs }, { client: client!, endpoint: endpoint!, timeoutMs: deps.firstAttemptTimeoutMs });
  return toNotificationView((await deps.messages.get(task.task_id, latest.message_seq)) ?? requeued);
}

export interface RecoverDeps {
  readonly messages: AttemptDeps['messages'];
  readonly nowMs: () => number;
  /** Milliseconds left in this invocation. */
  readonly remainingMs?: () => number;
  /** Most notifications recovered by one call (more: `more: true`). */
  readonly maxPerCall: number;
}

/** Most notifications one recover call makes pending again (docs/stream-contract.md states it). */
export const RECOVER_MAX_PER_CALL = 500;

/** States a recover makes pending again: delivery ended without success, but may succeed now. */
const RECOVERABLE: readonly MessageState[] = ['exhausted', 'skipped'];

/** Time kept for the answer: recover stops before the function would time out. */
const RECOVER_MARGIN_MS = 3000;

/** Makes pending again every exhausted or skipped notification of the client created at or after `since`. */
export async function recoverSince(deps: RecoverDeps, ownerId: string, since: number): Promise<RecoverResult> {
  let recovered = 0;
  let start: Record<string, unknown> | undefined;
  let more = false;
  do {
    if (recovered >= deps.maxPerCall || (deps.remainingMs?.() ?? Infinity) < RECOVER_MARGIN_MS) {
      more = true;
      break;
    }
    const page = await deps.messages.undelivered(ownerId, since, Math.min(100, deps.maxPerCall - recovered), start);
    const results = await Promise.all(
      page.keys.map((key) => deps.messages.requeue(key.task_id, key.message_seq, { nowMs: deps.nowMs(), onlyFrom: RECOVERABLE })),
    );
    recovered += results.filter((written) => written !== undefined).length;
    start = page.next;
  } while (start !== undefined);
  return { since, recovered, more };
}

export async function listEndpoints(endpoints: Pick<EndpointStore, 'list'>, ownerId: string): Promise<EndpointView[]> {
  return (await endpoints.list(ownerId)).map(toEndpointView);
}

/** Re-enables one of the caller's endpoints (404 for another client's or an unknown one). */
export async function enableEndpoint(endpoints: Pick<EndpointStore, 'enable'>, ownerId: string, endpointId: string): Promise<EndpointView> {
  const enabled = await endpoints.enable(ownerId, endpointId);
  if (enabled === undefined) throw notFound(`endpoint ${endpointId} was not found`);
  return toEndpointView(enabled);
}
