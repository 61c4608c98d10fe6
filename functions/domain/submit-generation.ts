/**
 * Submitting a generation (extend or create), in the order that loses
 * nothing: the task is written as `submitting` before the upstream is called,
 * then moved to what the upstream answered, or to `failed` with the reason.
 */
import { randomUUID } from 'node:crypto';
import { OPEN_TASK_SHARDS } from '../tables';
import { newCallbackToken } from './credentials';
import { conflict, DomainError, isDomainError, notFound } from './errors';
import { requestFingerprint, storableImage, upstreamSubmission, type GenerationRequest } from './generation-request';
import { IdempotencyKeyTaken, type IdempotencyRecord, type LogSink, type TaskStore, type UpstreamClient, type UpstreamGeneration } from './ports';
import { toTaskView, updateFromGeneration, type TaskItem, type TaskView } from './task';

export interface Lifecycle {
  /** Seconds an open task waits before the reconciler asks the upstream about it. */
  readonly reconcileAfterSeconds: number;
  /** Seconds after which an unfinished task is failed. */
  readonly deadlineSeconds: number;
  readonly retentionDays: number;
}

export interface SubmitDeps {
  readonly tasks: TaskStore;
  readonly upstream: UpstreamClient;
  /** Public base URL of this API: callback URLs are `${base}/luma/callbacks/${token}`. */
  readonly callbackBaseUrl: string;
  readonly lifecycle: Lifecycle;
  readonly now: () => number;
  readonly log: LogSink;
}

export interface SubmitCommand {
  readonly ownerId: string;
  /** The video to extend; undefined to create a new one. */
  readonly parentTaskId?: string;
  readonly request: GenerationRequest;
  readonly idempotencyKey?: string;
}

const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;

export function callbackUrl(baseUrl: string, token: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/luma/callbacks/${token}`;
}

export function openShard(taskId: string): string {
  return String(parseInt(taskId.slice(0, 8), 16) % OPEN_TASK_SHARDS);
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
    created_at: now,
    updated_at: now,
    deadline_at: now + deps.lifecycle.deadlineSeconds,
    open_shard: openShard(taskId),
    check_after: now + deps.lifecycle.reconcileAfterSeconds,
    expires_at: now + deps.lifecycle.retentionDays * 24 * 60 * 60,
  };
}

/** Replays an earlier request with the same Idempotency-Key, or refuses a different one. */
async function replay(deps: SubmitDeps, command: SubmitCommand, record: IdempotencyRecord | undefined, fingerprint: string): Promise<TaskView> {
  if (record === undefined || record.fingerprint !== fingerprint) {
    throw new DomainError('idempotency-mismatch', 'this Idempotency-Key was already used with a different request; use a new key for a new request');
  }
  const task = await deps.tasks.get(record.task_id);
  if (task === undefined || task.owner_id !== command.ownerId) throw notFound(`task ${record.task_id} was not found`);
  return toTaskView(task);
}

export async function submitGeneration(deps: SubmitDeps, command: SubmitCommand): Promise<TaskView> {
  const { tasks, log } = deps;
  const parentUpstreamId = command.parentTaskId === undefined ? undefined : await resolveParent(tasks, command.ownerId, command.parentTaskId);

  const taskId = randomUUID();
  const callback = newCallbackToken(taskId);
  const task = newTask(deps, command, parentUpstreamId, callback.hash, taskId);
  const fingerprint = requestFingerprint(command.parentTaskId, command.request);
  const idempotency: IdempotencyRecord | undefined =
    command.idempotencyKey === undefined
      ? undefined
      : {
          pk: `${command.ownerId}#${command.idempotencyKey}`,
          fingerprint,
          task_id: taskId,
          created_at: task.created_at,
          expires_at: task.created_at + IDEMPOTENCY_TTL_SECONDS,
        };

  try {
    await tasks.create(task, idempotency);
  } catch (error) {
    if (error instanceof IdempotencyKeyTaken) return replay(deps, command, error.record, fingerprint);
    throw error;
  }

  let generation: UpstreamGeneration;
  try {
    generation = await deps.upstream.submit(parentUpstreamId, upstreamSubmission(command.request, callbackUrl(deps.callbackBaseUrl, callback.token)));
  } catch (error) {
    await recordFailure(deps, task, idempotency, error);
    throw error;
  }

  if (generation.status === undefined) {
    log.warn('upstream state not recognised; kept raw', { task_id: taskId, upstream_state: generation.rawState });
  }
  // Accepted by the upstream: at least pending, whatever it called the state.
  const accepted = updateFromGeneration({ ...generation, status: generation.status ?? 'pending' }, deps.now());
  try {
    const result = await tasks.advance(taskId, accepted);
    if (result.applied) return toTaskView(result.task);
    // A callback got there first: keep its state, but make sure the upstream id is recorded.
    if (result.task?.upstream_id === undefined) await tasks.attachUpstreamId(taskId, generation.id, accepted.at);
    return toTaskView(result.task ?? task);
  } catch (error) {
    // The upstream accepted the work; its callbacks carry the upstream id and will heal the record.
    log.error('upstream accepted the task but recording it failed', { task_id: taskId, error });
    return { ...toTaskView(task), task_status: accepted.status, updated_at: accepted.at };
  }
}

async function recordFailure(deps: SubmitDeps, task: TaskItem, idempotency: IdempotencyRecord | undefined, error: unknown): Promise<void> {
  const reason = isDomainError(error) ? error.message : 'the upstream call failed';
  try {
    // Only a task still `submitting`: a callback may already have moved it on (the upstream did accept it).
    await deps.tasks.advance(task.task_id, { status: 'failed', at: deps.now(), failureReason: reason, onlyFrom: 'submitting' });
    // A failed attempt frees its key, so the client's retry runs again.
    if (idempotency !== undefined) await deps.tasks.releaseIdempotencyKey(idempotency.pk, task.task_id);
  } catch (storeError) {
    // The task stays open; the reconciler fails it at its deadline.
    deps.log.error('could not record a failed submission', { task_id: task.task_id, error: storeError });
  }
}
