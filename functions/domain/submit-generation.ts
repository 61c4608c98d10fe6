/**
 * Submitting a generation (extend or create), in the order that loses
 * nothing: the task is written as `submitting` before the upstream is
 * called, then moved by what the upstream answered.
 *
 * Unknown is not failed. The upstream's answer sorts into:
 * - accepted: the task moves to what the upstream said (at least pending);
 * - refused (a definite no: nothing was created): the task fails with the
 *   reason and its Idempotency-Key is freed, in one transaction, only while
 *   the task is still `submitting` (never after a callback moved it on);
 * - unknown (a timeout after sending, a reset, a 5xx, an unreadable answer):
 *   the task stays open and unconfirmed, its key stays taken (a retry
 *   returns this task and calls the upstream zero more times), and the
 *   client is told to follow it. A callback confirms it; without one the
 *   reconciler fails it at its confirmation deadline (created_at +
 *   confirmDeadlineSeconds), and a later callback still revives it.
 */
import { randomUUID } from 'node:crypto';
import { openShard } from '../tables';
import { newCallbackToken } from './credentials';
import { conflict, DomainError, isDomainError, notFound, UpstreamError } from './errors';
import { requestFingerprint, storableImage, upstreamSubmission, type GenerationRequest } from './generation-request';
import {
  IdempotencyKeyTaken,
  LimitReached,
  silentMetrics,
  type Admission,
  type IdempotencyRecord,
  type LogSink,
  type MetricSink,
  type TaskStore,
  type UpstreamClient,
  type UpstreamGeneration,
} from './ports';
import { toTaskView, updateFromGeneration, type TaskItem, type TaskView } from './task';
import { countTransition } from './task-metrics';
import { limitRefusal } from './usage';

export interface Lifecycle {
  /** Seconds an open task waits before the reconciler asks the upstream about it. */
  readonly reconcileAfterSeconds: number;
  /** Seconds after which an unfinished task is failed. */
  readonly deadlineSeconds: number;
  /** Seconds an unconfirmed submission (the upstream's answer was lost) waits for a callback before it is failed. */
  readonly confirmDeadlineSeconds: number;
  readonly retentionDays: number;
}

/** Where a submission may be killed in the local stack (lib/local/crash-points.ts), as a crashed Lambda would be. */
export type SubmitStep = 'task-written' | 'upstream-answered';

export interface SubmitDeps {
  readonly tasks: TaskStore;
  readonly upstream: UpstreamClient;
  /** Public base URL of this API: callback URLs are `${base}/luma/callbacks/${token}`. */
  readonly callbackBaseUrl: string;
  readonly lifecycle: Lifecycle;
  /**
   * The client's limits and usage: each task takes an open-task slot and
   * counts as one of the day's submissions, in the write of the task itself,
   * or is refused (429). @default none: no limit, nothing counted (tests)
   */
  readonly admission?: Admission;
  /** How long a submission can run at most (the function's timeout): a `submitting` task older than this is no longer in flight. */
  readonly submitWindowSeconds: number;
  /** How long a same-key retry waits for the request in flight before it answers 409 "in progress". */
  readonly inFlightWaitMs: number;
  readonly now: () => number;
  readonly log: LogSink;
  /** @default none recorded */
  readonly metrics?: MetricSink;
  /** Called after each step; the local stack uses it to kill a submission between two steps. @default none */
  readonly afterStep?: (step: SubmitStep, taskId: string) => Promise<void>;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface SubmitCommand {
  readonly ownerId: string;
  /** The video to extend; undefined to create a new one. */
  readonly parentTaskId?: string;
  readonly request: GenerationRequest;
  readonly idempotencyKey?: string;
  /** Milliseconds left in this invocation (after the answer's own margin): the upstream call gets what the steps after it leave. */
  readonly remainingMs?: () => number;
  /** Reserved after the upstream answers, for the write that records the outcome. @default 0 */
  readonly reserveAfterUpstreamMs?: number;
  /** The client's request (API Gateway's request id): sent upstream as X-Request-Id, kept in the task for its later log lines. */
  readonly requestId?: string;
}

/** What a submission gives the client: the task, and whether the upstream's acceptance (or refusal) was seen. */
export interface SubmitResult {
  readonly task: TaskView;
  /** False while the task is `submitting`: the outcome of the upstream call is being confirmed. */
  readonly confirmed: boolean;
}

const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;
/** Same-key attempts to claim a key that is being released or written by a concurrent request. */
const MAX_CLAIMS = 4;
const CLAIM_BACKOFF_MS = 150;
const IN_FLIGHT_POLL_MS = 200;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function callbackUrl(baseUrl: string, token: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/luma/callbacks/${token}`;
}

/** The upstream id to extend: a completed task of the caller's, or an upstream generation id as given. */
async function resolveParent(tasks: TaskStore, ownerId: string, parentTaskId: string): Promise<string> {
  const parent = await tasks.get(parentTaskId);
  if (parent === undefined) return parentTaskId;
  if (parent.owner_id !== ownerId) throw notFound(`task ${parentTaskId} was not found`);
  if (parent.task_status !== 'completed' || parent.upstream_id === undefined) {
    throw conflict(`task ${parentTaskId} is ${parent.task_status}; only a completed task can be extended`);
  }
  return parent.upstream_id;
}

function newTask(deps: SubmitDeps, command: SubmitCommand, parentUpstreamId: string | undefined, tokenHash: string, taskId: string): TaskItem {
  const now = deps.now();
  const { request } = command;
  return {
    task_id: taskId,
    schema_version: 1,
    kind: command.parentTaskId === undefined ? 'create' : 'extend',
    owner_id: command.ownerId,
    task_status: 'submitting',
    status_rank: 0,
    parent_task_id: command.parentTaskId,
    parent_upstream_id: parentUpstreamId,
    prompt: request.user_prompt,
    expand_prompt: request.expand_prompt,
    image_url: storableImage(request.image_url),
    image_end_url: storableImage(request.image_end_url),
    notify_hook: request.notify_hook,
    callback_token_hash: tokenHash,
    request_id: command.requestId,
    created_at: now,
    updated_at: now,
    deadline_at: now + deps.lifecycle.deadlineSeconds,
    open_shard: openShard(taskId),
    check_after: now + Math.min(deps.lifecycle.reconcileAfterSeconds, deps.lifecycle.confirmDeadlineSeconds),
    expires_at: now + deps.lifecycle.retentionDays * 24 * 60 * 60,
    ...(deps.admission !== undefined && { usage_counted: true }),
  };
}

/** A `submitting` task whose first attempt may still be calling the upstream (not marked unconfirmed, not older than a submission can run). */
function inFlight(deps: SubmitDeps, task: TaskItem): boolean {
  return task.task_status === 'submitting' && task.unconfirmed_since === undefined && deps.now() - task.created_at <= deps.submitWindowSeconds;
}

const resultOf = (task: TaskItem): SubmitResult => ({ task: toTaskView(task), confirmed: task.task_status !== 'submitting' });

/**
 * Replays an earlier request with the same Idempotency-Key: its task as it
 * is now. While the first attempt is still in flight, waits for it briefly,
 * then answers 409 "in progress". Another request with the key is 409.
 */
async function replay(deps: SubmitDeps, command: SubmitCommand, record: IdempotencyRecord, fingerprint: string): Promise<SubmitResult> {
  if (record.fingerprint !== fingerprint) {
    throw new DomainError('idempotency-mismatch', 'this Idempotency-Key was already used with a different request; use a new key for a new request');
  }
  const sleep = deps.sleep ?? defaultSleep;
  const giveUpAt = Date.now() + Math.min(deps.inFlightWaitMs, Math.max(0, (command.remainingMs?.() ?? Infinity) - IN_FLIGHT_POLL_MS));
  for (;;) {
    const task = await deps.tasks.get(record.task_id);
    if (task === undefined || task.owner_id !== command.ownerId) throw notFound(`task ${record.task_id} was not found`);
    if (!inFlight(deps, task)) return resultOf(task);
    if (Date.now() + IN_FLIGHT_POLL_MS > giveUpAt) {
      throw new DomainError('in-progress', 'a request with this Idempotency-Key is still being handled; retry in a few seconds', 2);
    }
    await sleep(IN_FLIGHT_POLL_MS);
  }
}

/**
 * Writes the task, claiming its Idempotency-Key in the same transaction.
 * A key held by another request replays it; a key being released (or
 * claimed by a concurrent request at this very moment) is tried again
 * shortly: never "different request", never a 503, for one client's retry.
 */
async function claim(deps: SubmitDeps, command: SubmitCommand, task: TaskItem, idempotency: IdempotencyRecord | undefined): Promise<SubmitResult | undefined> {
  const sleep = deps.sleep ?? defaultSleep;
  for (let attempt = 1; ; attempt += 1) {
    try {
      await deps.tasks.create(task, idempotency, deps.admission);
      return undefined;
    } catch (error) {
      if (error instanceof LimitReached) {
        // Nothing was written: no task, no key, no slot.
        (deps.metrics ?? silentMetrics).count('SubmissionsLimited', 1, { limit: error.limit });
        const refusal = limitRefusal(error.limit, error.state, task.created_at);
        deps.log.info('submission refused by the client\'s limits', { limit: error.limit });
        throw new DomainError(error.limit === 'open_tasks' ? 'limit-open-tasks' : 'limit-tasks-per-day', refusal.message, refusal.retryAfterSeconds);
      }
      if (!(error instanceof IdempotencyKeyTaken)) throw error;
      if (error.record !== undefined) return replay(deps, command, error.record, idempotency!.fingerprint);
      if (attempt >= MAX_CLAIMS) {
        throw new DomainError('in-progress', 'a request with this Idempotency-Key is still being handled; retry in a few seconds', 2);
      }
      await sleep(CLAIM_BACKOFF_MS * attempt);
    }
  }
}

export async function submitGeneration(deps: SubmitDeps, command: SubmitCommand): Promise<SubmitResult> {
  const { tasks, log } = deps;
  const metrics = deps.metrics ?? silentMetrics;
  const parentUpstreamId = command.parentTaskId === undefined ? undefined : await resolveParent(tasks, command.ownerId, command.parentTaskId);

  const taskId = randomUUID();
  const callback = newCallbackToken(taskId);
  const task = newTask(deps, command, parentUpstreamId, callback.hash, taskId);
  const idempotency: IdempotencyRecord | undefined =
    command.idempotencyKey === undefined
      ? undefined
      : {
          pk: `${command.ownerId}#${command.idempotencyKey}`,
          fingerprint: requestFingerprint(command.parentTaskId, command.request),
          task_id: taskId,
          created_at: task.created_at,
          expires_at: task.created_at + IDEMPOTENCY_TTL_SECONDS,
        };

  const replayed = await claim(deps, command, task, idempotency);
  if (replayed) {
    log.appendKeys({ task_id: replayed.task.task_id });
    log.info('Idempotency-Key replayed: the earlier request\'s task', { task_status: replayed.task.task_status });
    return replayed;
  }
  // Every later line of this request (the upstream call's included) is about this task.
  log.appendKeys({ task_id: taskId });
  metrics.count('TasksSubmitted');
  await deps.afterStep?.('task-written', taskId);

  let generation: UpstreamGeneration;
  try {
    const remaining = command.remainingMs?.();
    generation = await deps.upstream.submit(parentUpstreamId, upstreamSubmission(command.request, callbackUrl(deps.callbackBaseUrl, callback.token)), {
      deadlineAt: remaining === undefined ? undefined : Date.now() + remaining - (command.reserveAfterUpstreamMs ?? 0),
      requestId: command.requestId,
    });
  } catch (error) {
    // Only a definite refusal fails the task; anything else, even a fault of our own after sending, may have reached the upstream.
    if (!(error instanceof UpstreamError && error.outcome === 'refused')) return keepUnconfirmed(deps, task, error);
    await recordRefusal(deps, task, idempotency, error);
    throw error;
  }
  await deps.afterStep?.('upstream-answered', taskId);

  if (generation.status === undefined) {
    log.warn('upstream state not recognised; kept raw', { task_id: taskId, upstream_state: generation.rawState });
  }
  // Accepted by the upstream: at least pending, whatever it called the state.
  const accepted = updateFromGeneration({ ...generation, status: generation.status ?? 'pending' }, deps.now());
  try {
    const result = await tasks.advance(taskId, accepted);
    if (result.applied) {
      log.info('task submitted', { task_status: result.task.task_status });
      countTransition(metrics, result.task);
      return resultOf(result.task);
    }
    // A callback got there first: keep its state, but make sure the upstream id is recorded.
    if (result.task?.upstream_id === undefined) await tasks.attachUpstreamId(taskId, generation.id, accepted.at);
    log.info('task submitted; a callback had already moved it', { task_status: result.task?.task_status });
    return resultOf(result.task ?? task);
  } catch (error) {
    // The upstream accepted the work; its callbacks carry the upstream id and will heal the record.
    log.error('upstream accepted the task but recording it failed', { task_id: taskId, error });
    return { task: { ...toTaskView(task), task_status: accepted.status, updated_at: accepted.at }, confirmed: true };
  }
}

/** The upstream may have accepted: keep the task open, its key taken, until a callback confirms it or the confirmation deadline. */
async function keepUnconfirmed(deps: SubmitDeps, task: TaskItem, error: unknown): Promise<SubmitResult> {
  deps.log.warn('upstream outcome unknown; the task is kept unconfirmed', { task_id: task.task_id, reason: isDomainError(error) ? error.message : String(error) });
  const at = deps.now();
  try {
    // The reconciler looks again when it may fail the task as unconfirmed.
    await deps.tasks.markUnconfirmed(task.task_id, at, task.created_at + deps.lifecycle.confirmDeadlineSeconds);
  } catch (storeError) {
    // Unmarked, the task still ends: the reconciler fails it at confirm_by, a callback confirms it.
    deps.log.error('could not mark a submission unconfirmed', { task_id: task.task_id, error: storeError });
  }
  const current = await deps.tasks.get(task.task_id).catch(() => undefined);
  return resultOf(current ?? { ...task, unconfirmed_since: at });
}

/** A refusal: the task fails with the reason and frees its key, both only while it is still `submitting`. */
async function recordRefusal(deps: SubmitDeps, task: TaskItem, idempotency: IdempotencyRecord | undefined, error: unknown): Promise<void> {
  const reason = isDomainError(error) ? error.message : 'the upstream refused the submission';
  try {
    const failed = await deps.tasks.failSubmission(
      task.task_id,
      { status: 'failed', at: deps.now(), failureReason: reason, failureCode: 'refused', onlyFrom: 'submitting' },
      idempotency?.pk,
    );
    if (failed) {
      deps.log.info('upstream refused the submission; the task failed', { task_id: task.task_id, reason });
      countTransition(deps.metrics ?? silentMetrics, { task_status: 'failed', failure_code: 'refused' });
    } else {
      deps.log.warn('a refused submission was already moved on by a callback; its key is kept', { task_id: task.task_id });
    }
  } catch (storeError) {
    // The task stays open: the reconciler fails it at its confirmation deadline; the key stays taken.
    deps.log.error('could not record a refused submission', { task_id: task.task_id, error: storeError });
  }
}
