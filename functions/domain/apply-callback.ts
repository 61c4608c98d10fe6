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
import type { LogSink, TaskStore, UpstreamReport } from './ports';
import { updateFromGeneration } from './task';
import type { CallbackOutcome } from './views';

export type { CallbackOutcome };

export interface CallbackDeps {
  readonly tasks: TaskStore;
  readonly now: () => number;
  readonly log: LogSink;
}

const unknownCallback = () => notFound('unknown callback');

/** Applies a callback: `token` from its URL, `report` its body as read by the upstream adapter. */
export async function applyCallback(deps: CallbackDeps, token: string, report: UpstreamReport): Promise<CallbackOutcome> {
  const parsedToken = parseCallbackToken(token);
  if (parsedToken === undefined) throw unknownCallback();
  const task = await deps.tasks.get(parsedToken.taskId);
  if (task === undefined) throw unknownCallback();
  if (!secretMatchesHash(parsedToken.secret, task.callback_token_hash)) {
    // Answered exactly as an unknown task: a caller without the token learns nothing, not even that the task exists.
    deps.log.warn('callback with a wrong token', { task_id: task.task_id });
    throw unknownCallback();
  }

  if (!report.ok) throw invalid(`the callback body is not a generation: ${report.problem}`);
  const generation = report.generation;
  if (task.upstream_id !== undefined && generation.id !== task.upstream_id) {
    deps.log.warn('callback for another generation', { task_id: task.task_id });
    throw conflict('the callback is for another generation than this task');
  }

  const at = deps.now();
  if (generation.status === undefined) {
    deps.log.warn('upstream state not recognised; kept raw', { task_id: task.task_id, upstream_state: generation.rawState });
    if (generation.rawState !== undefined) await deps.tasks.recordUpstreamState(task.task_id, generation.id, generation.rawState, at);
    return { task_id: task.task_id, task_status: task.task_status, applied: false };
  }

  const result = await deps.tasks.advance(task.task_id, updateFromGeneration({ ...generation, status: generation.status }, at));
  const current = result.task ?? task;
  if (!result.applied && current.upstream_id !== undefined && current.upstream_id !== generation.id) {
    // Lost a race with the first callback or submission that recorded another upstream id.
    throw conflict('the callback is for another generation than this task');
  }
  return { task_id: task.task_id, task_status: current.task_status, applied: result.applied };
}
