/**
 * The upstream's notification of a task change, applied as one conditional
 * update: forward only, and only for the generation this task belongs to.
 * Duplicates, late and out-of-order callbacks are answered 200 and change
 * nothing, so the upstream stops retrying. A callback for a task the
 * gateway failed only because it never heard back (`unconfirmed`) revives
 * it: the upstream had the work after all.
 */
import { parseCallbackToken, secretMatchesHash } from './credentials';
import { conflict, invalid, notFound } from './errors';
import { silentMetrics, type LogSink, type MetricSink, type TaskStore, type UpstreamReport } from './ports';
import { updateFromGeneration, type TaskItem } from './task';
import { countTransition } from './task-metrics';
import type { CallbackOutcome } from './views';

export type { CallbackOutcome };

export interface CallbackDeps {
  readonly tasks: TaskStore;
  readonly now: () => number;
  readonly log: LogSink;
  /** @default none recorded */
  readonly metrics?: MetricSink;
}

/** Why a callback changed nothing (CallbacksIgnored's breakdown). */
type IgnoredBecause = 'no-op' | 'unknown-state' | 'unknown-token' | 'malformed' | 'other-generation';

const unknownCallback = () => notFound('unknown callback');

/** A task waiting for the upstream to confirm its submission (its answer was lost), failed as unconfirmed or not yet. */
const awaitsConfirmation = (task: TaskItem) => task.upstream_id === undefined && (task.unconfirmed_since !== undefined || task.failure_code === 'unconfirmed');

/**
 * Applies a callback: `token` from its URL, `report` its body as read by the
 * upstream adapter. Its log lines carry the task id and the client's
 * request id, never the token.
 */
export async function applyCallback(deps: CallbackDeps, token: string, report: UpstreamReport): Promise<CallbackOutcome> {
  const metrics = deps.metrics ?? silentMetrics;
  const ignored = (reason: IgnoredBecause) => metrics.count('CallbacksIgnored', 1, { reason });
  const parsedToken = parseCallbackToken(token);
  if (parsedToken === undefined) {
    ignored('unknown-token');
    throw unknownCallback();
  }
  const task = await deps.tasks.get(parsedToken.taskId);
  if (task === undefined) {
    ignored('unknown-token');
    throw unknownCallback();
  }
  if (!secretMatchesHash(parsedToken.secret, task.callback_token_hash)) {
    // Answered exactly as an unknown task: a caller without the token learns nothing, not even that the task exists.
    deps.log.warn('callback with a wrong token', { task_id: task.task_id });
    ignored('unknown-token');
    throw unknownCallback();
  }
  deps.log.appendKeys({ task_id: task.task_id, client_request_id: task.request_id });

  if (!report.ok) {
    ignored('malformed');
    throw invalid(`the callback body is not a generation: ${report.problem}`);
  }
  const generation = report.generation;
  if (task.upstream_id !== undefined && generation.id !== task.upstream_id) {
    deps.log.warn('callback for another generation', { task_id: task.task_id });
    ignored('other-generation');
    throw conflict('the callback is for another generation than this task');
  }

  const at = deps.now();
  if (generation.status === undefined) {
    deps.log.warn('upstream state not recognised; kept raw', { task_id: task.task_id, upstream_state: generation.rawState });
    if (generation.rawState !== undefined) await deps.tasks.recordUpstreamState(task.task_id, generation.id, generation.rawState, at);
    ignored('unknown-state');
    return { task_id: task.task_id, task_status: task.task_status, applied: false };
  }

  const result = await deps.tasks.advance(task.task_id, updateFromGeneration({ ...generation, status: generation.status }, at));
  const current = result.task ?? task;
  if (!result.applied && current.upstream_id !== undefined && current.upstream_id !== generation.id) {
    // Lost a race with the first callback or submission that recorded another upstream id.
    ignored('other-generation');
    throw conflict('the callback is for another generation than this task');
  }
  if (result.applied) {
    deps.log.info('callback applied', { task_status: current.task_status, upstream_state: generation.rawState, confirmed: awaitsConfirmation(task) || undefined });
    metrics.count('CallbacksApplied');
    if (awaitsConfirmation(task)) metrics.count('TasksConfirmed');
    countTransition(metrics, current);
  } else {
    deps.log.info('callback changed nothing (late or duplicate)', { task_status: current.task_status, upstream_state: generation.rawState });
    ignored('no-op');
  }
  return { task_id: task.task_id, task_status: current.task_status, applied: result.applied };
}
