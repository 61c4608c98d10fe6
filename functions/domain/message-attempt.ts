/**
 * One attempt to deliver a notification message, shared by everything that
 * sends: the stream consumer's first attempt, the delivery worker's retries
 * and a client's resend. The message is claimed first (by the caller, or by
 * claimAndAttempt); then the attempt is sent, recorded (deliveries table),
 * and its outcome settles the message and, when it changes, the endpoint:
 *
 *   2xx            delivered; the endpoint no longer failing
 *   410            the endpoint disabled at once (`gone`); the message skipped
 *   other failure  the endpoint failing since its first failure; disabled
 *                  (`failing`) once that is older than disableAfterSeconds;
 *                  else the message is due at its next planned attempt
 *                  (Retry-After honoured), or exhausted when none is left
 *   refused        the hook points where the gateway must not go: for good
 *
 * The attempt record is written before the message is settled, so a claim
 * whose settling write failed is found delivered there by the next claim
 * (resolvedByEarlierClaim) and not sent again.
 */
import { bodyAtAttempt } from './assets';
import { isLeased, type JobRunDeps } from './durable-job';
import { attemptId, NOTIFICATION_LOG_EVENTS, type MessageItem } from './message';
import type { HookPolicy } from './hook-url';
import { silentMetrics, type AssetLinks, type Client, type DeliveryOutcome, type DeliveryStore, type Endpoint, type EndpointStore, type HookSender, type MessageClaim, type MessageStore, type Settlement } from './ports';
import { nextAttemptAt, parseRetryAfter } from './retry-schedule';
import { signingSecrets, webhookHeaders } from './webhook-signature';

/** Metrics: NotificationsDelivered, NotificationsFailed, NotificationsExhausted. */
export interface AttemptDeps extends JobRunDeps {
  readonly messages: MessageStore;
  readonly deliveries: Pick<DeliveryStore, 'record' | 'get'>;
  readonly endpoints: EndpointStore;
  readonly deliver: HookSender;
  readonly policy: HookPolicy;
  readonly disableAfterSeconds: number;
  readonly secretOverlapSeconds: number;
  readonly retentionDays: number;
  /** Presigns the stored media a `completed` notification names; only the functions that send those have it. */
  readonly links?: AssetLinks;
}

/** How an attempt ended, for the message. `lost` when another claim took the message over before this one settled it. */
export type AttemptResult = 'delivered' | 'retry' | 'exhausted' | 'skipped' | 'refused' | 'lost';

/** Where the attempt goes and how long it may take. */
export interface AttemptTarget {
  readonly client: Client;
  readonly endpoint: Endpoint;
  readonly timeoutMs: number;
}

/** Room for the writes after an attempt (record, settle, endpoint) on top of its own timeout. */
export const SETTLE_MARGIN_MS = 8000;

/** How long a claim holds its message: the attempt, then its writes; after that another may take it over. */
export const leaseMs = (timeoutMs: number) => timeoutMs + SETTLE_MARGIN_MS;

const seconds = (ms: number) => Math.floor(ms / 1000);

/** Tries a write again once after a short pause (the SDK has already retried it): a settling write matters. */
async function persistently<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch {
    await new Promise((resolve) => setTimeout(resolve, 200));
    return write();
  }
}

/** What the endpoint's state says after a failed attempt: disabled now (and why), or not. */
async function endpointAfterFailure(
  deps: AttemptDeps,
  endpoint: Endpoint,
  outcome: Extract<DeliveryOutcome, { outcome: 'failed' }>,
  nowMs: number,
): Promise<{ disabled: false } | { disabled: true; detail: string }> {
  const at = seconds(nowMs);
  const disable = async (reason: 'gone' | 'failing', detail: string) => {
    if (await deps.endpoints.disable(endpoint.client_id, endpoint.endpoint_id, reason, detail, at)) {
      deps.log.warn(NOTIFICATION_LOG_EVENTS.endpointDisabled, { client_id: endpoint.client_id, endpoint_id: endpoint.endpoint_id, reason, detail });
    }
    return { disabled: true as const, detail };
  };
  if (outcome.httpStatus === 410) return disable('gone', 'the hook answered 410 Gone');
  // Written only when the endpoint starts failing: a failing endpoint's further failures change nothing until the threshold.
  const failingSince = endpoint.failing_since ?? (await deps.endpoints.recordFailure(endpoint.client_id, endpoint.endpoint_id, at))?.failing_since ?? at;
  if (at - failingSince >= deps.disableAfterSeconds) {
    return disable('failing', `every attempt failed since ${new Date(failingSince * 1000).toISOString()} (${deps.disableAfterSeconds} s)`);
  }
  return { disabled: false };
}

/** The outcome of a failed attempt, for the message. */
function failedSettlement(deps: AttemptDeps, message: MessageItem, outcome: Extract<DeliveryOutcome, { outcome: 'failed' }>, nowMs: number): Settlement {
  const dueAtMs = nextAttemptAt({
    schedule: deps.schedule,
    originMs: message.origin_ms,
    nowMs,
    retryAfterMs: parseRetryAfter(outcome.retryAfter, nowMs),
    random: deps.random ?? Math.random,
  });
  if (dueAtMs === undefined) return { kind: 'exhausted', at: seconds(nowMs), error: outcome.error, httpStatus: outcome.httpStatus };
  return { kind: 'retry', dueAtMs, error: outcome.error, httpStatus: outcome.httpStatus };
}

/** Sends a claimed message once, records the attempt, settles the message and the endpoint. Never throws for the hook's sake. */
export async function attemptClaimed(deps: AttemptDeps, claimed: MessageClaim, target: AttemptTarget): Promise<AttemptResult> {
  const message = claimed.previous;
  const { client, endpoint, timeoutMs } = target;
  const sentAt = deps.nowMs();
  // Built for each attempt: links to stored media are presigned afresh (a retry a day later carries working ones).
  const body = await bodyAtAttempt(message, deps.links, sentAt);
  const outcome = await deps.deliver({
    url: message.hook_url,
    // Signed anew for each attempt: the timestamp is part of the signature.
    headers: webhookHeaders(signingSecrets(client, sentAt, deps.secretOverlapSeconds), message.webhook_id, seconds(sentAt), body),
    body,
    timeoutMs,
    policy: deps.policy,
  });
  const nowMs = deps.nowMs();
  (deps.metrics ?? silentMetrics).count(outcome.outcome === 'delivered' ? 'NotificationsDelivered' : 'NotificationsFailed');
  // Never the hook's URL: it may be a credential.
  const logged = {
    task_id: message.task_id,
    client_request_id: message.request_id,
    webhook_id: message.webhook_id,
    task_status: message.task_status,
    attempt: claimed.claim,
    http_status: 'httpStatus' in outcome ? outcome.httpStatus : undefined,
    duration_ms: outcome.durationMs,
  };
  if (outcome.outcome === 'delivered') deps.log.info('notification delivered', logged);
  else if (outcome.outcome === 'failed') deps.log.warn('notification attempt failed', { ...logged, reason: outcome.error });

  // The attempt record first: it is what tells a later claim that this one delivered.
  try {
    await persistently(() =>
      deps.deliveries.record({
        task_id: message.task_id,
        attempt_id: attemptId(claimed.claimAtMs, message.webhook_id, claimed.claim),
        webhook_id: message.webhook_id,
        task_status: message.task_status,
        attempt: claimed.claim,
        attempted_at: seconds(claimed.claimAtMs),
        outcome: outcome.outcome,
        http_status: 'httpStatus' in outcome ? outcome.httpStatus : undefined,
        error: 'error' in outcome ? outcome.error : undefined,
        duration_ms: outcome.durationMs,
        expires_at: message.expires_at,
      }),
    );
  } catch (error) {
    deps.log.error('could not record a delivery attempt', { task_id: message.task_id, webhook_id: message.webhook_id, error });
  }

  let settlement: Settlement;
  if (outcome.outcome === 'delivered') {
    settlement = { kind: 'delivered', at: seconds(nowMs), httpStatus: outcome.httpStatus };
    if (endpoint.failing_since !== undefined) {
      await deps.endpoints.recordSuccess(endpoint.client_id, endpoint.endpoint_id).catch((error: unknown) => deps.log.error('could not record an endpoint recovered', { error }));
    }
  } else if (outcome.outcome === 'refused') {
    deps.log.warn('notification refused', { task_id: message.task_id, reason: outcome.error });
    settlement = { kind: 'refused', at: seconds(nowMs), error: outcome.error };
  } else {
    let disabled: Awaited<ReturnType<typeof endpointAfterFailure>> = { disabled: false };
    try {
      disabled = await endpointAfterFailure(deps, endpoint, outcome, nowMs);
    } catch (error) {
      deps.log.error('could not record an endpoint failing', { endpoint_id: endpoint.endpoint_id, error });
    }
    settlement = disabled.disabled
      ? { kind: 'skipped', at: seconds(nowMs), error: `${outcome.error}; the endpoint is disabled: ${disabled.detail}`, httpStatus: outcome.httpStatus }
      : failedSettlement(deps, message, outcome, nowMs);
  }

  let settled = false;
  try {
    settled = await persistently(() => deps.messages.settle(message, claimed.claim, settlement));
  } catch (error) {
    // The lease lapses and the next claim reads the attempt record before sending again.
    deps.log.error('could not settle a notification', { task_id: message.task_id, webhook_id: message.webhook_id, error });
    return settlement.kind;
  }
  if (!settled) return 'lost';
  if (settlement.kind === 'exhausted') {
    (deps.metrics ?? silentMetrics).count('NotificationsExhausted');
    deps.log.warn(NOTIFICATION_LOG_EVENTS.exhausted, { task_id: message.task_id, webhook_id: message.webhook_id, endpoint_id: endpoint.endpoint_id, error: settlement.error });
  }
  return settlement.kind;
}

/**
 * A message whose last claim was never settled (the process died, or the
 * settling write failed) and whose lease lapsed: when that claim's attempt
 * record says it was delivered, the message is settled delivered without
 * being sent again (true). Checked before a new claim is taken, so the
 * evidence (the last claim and its time) stays on the message until it is
 * resolved, however often the settling write fails.
 */
export async function resolvedByEarlierClaim(deps: AttemptDeps, message: MessageItem): Promise<boolean> {
  if (message.claims <= message.settled || message.claim_at_ms === undefined) return false;
  const earlier = await deps.deliveries.get(message.task_id, attemptId(message.claim_at_ms, message.webhook_id, message.claims));
  if (earlier?.outcome !== 'delivered') return false;
  if (await deps.messages.settle(message, message.claims, { kind: 'delivered', at: earlier.attempted_at, httpStatus: earlier.http_status ?? 200 })) {
    deps.log.info('notification already delivered by an attempt whose outcome was not written; not sent again', { task_id: message.task_id, webhook_id: message.webhook_id });
  }
  return true;
}

/**
 * Attempts a pending message (as read, consistently): resolved from its
 * unsettled last claim when that delivered it, else claimed and sent;
 * 'not-claimed' when another attempt holds it or it is not pending (or not
 * due, with requireDue).
 */
export async function claimAndAttempt(
  deps: AttemptDeps,
  message: MessageItem,
  target: AttemptTarget,
  options: { requireDue: boolean },
): Promise<AttemptResult | 'not-claimed'> {
  const nowMs = deps.nowMs();
  if (!isLeased(message, nowMs) && (await resolvedByEarlierClaim(deps, message))) return 'delivered';
  const claimed = await deps.messages.claim(message.task_id, message.message_seq, { nowMs, leaseUntilMs: nowMs + leaseMs(target.timeoutMs), requireDue: options.requireDue });
  if (claimed === undefined) return 'not-claimed';
  // Another claim came and went between the read and this claim (rare): its record decides whether to send.
  const { previous } = claimed;
  if (previous.claims !== message.claims && previous.claims > previous.settled && previous.claim_at_ms !== undefined) {
    const earlier = await deps.deliveries.get(previous.task_id, attemptId(previous.claim_at_ms, previous.webhook_id, previous.claims));
    if (earlier?.outcome === 'delivered') {
      await deps.messages.settle(previous, claimed.claim, { kind: 'delivered', at: earlier.attempted_at, httpStatus: earlier.http_status ?? 200 });
      return 'delivered';
    }
  }
  return attemptClaimed(deps, claimed, target);
}
