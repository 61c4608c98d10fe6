/**
 * The reconciler: callbacks get lost, so tasks open too long are looked up
 * upstream and moved forward through the same conditional update a callback
 * uses; tasks past their deadline are failed with a reason. It reads the
 * sparse open-task index (never the table), does bounded work per run, and
 * stops at the first 429 so a throttling upstream is never hammered.
 */
import { OPEN_TASK_SHARDS } from '../tables';
import { isUpstreamStatus } from './errors';
import type { LogSink, OpenTask, TaskStore, UpstreamClient, UpstreamGeneration } from './ports';
import { isTerminal, STATUS_RANK, updateFromGeneration } from './task';

export interface ReconcileDeps {
  readonly tasks: TaskStore;
  readonly upstream: UpstreamClient;
  readonly now: () => number;
  readonly log: LogSink;
  /** Seconds until an open task is looked at again. */
  readonly recheckAfterSeconds: number;
  /** Most tasks looked at in one run. */
  readonly maxTasksPerRun: number;
  /** Upstream requests in flight at once. */
  readonly concurrency: number;
  /** Milliseconds left in this invocation; no task is started that could not finish in time. */
  readonly remainingMs?: () => number;
  /** The longest one task can take (an upstream timeout plus the writes). */
  readonly taskBudgetMs?: number;
}

export interface ReconcileSummary {
  examined: number;
  /** Moved forward by what the upstream said. */
  advanced: number;
  /** Failed: past their deadline, or unknown to the upstream. */
  failed: number;
  /** Still open; looked at again later. */
  deferred: number;
  /** Upstream or store errors (the task is looked at again later). */
  errors: number;
  /** The upstream answered 429: the run stopped early. */
  throttled: boolean;
  /** The invocation was running out of time: the run stopped early. */
  outOfTime: boolean;
}

type Outcome = 'advanced' | 'failed' | 'deferred';

async function lookUp(deps: ReconcileDeps, upstreamId: string): Promise<UpstreamGeneration | 'unknown-upstream'> {
  try {
    return await deps.upstream.getGeneration(upstreamId);
  } catch (error) {
    if (isUpstreamStatus(error, 404)) return 'unknown-upstream';
    throw error;
  }
}

async function reconcileTask(deps: ReconcileDeps, task: OpenTask, now: number): Promise<Outcome> {
  const pastDeadline = now >= task.deadline_at;
  const fail = async (failureReason: string): Promise<Outcome> => {
    const result = await deps.tasks.advance(task.task_id, { status: 'failed', at: now, failureReason });
    return result.applied ? 'failed' : 'deferred';
  };

  if (task.upstream_id === undefined) {
    // Never confirmed by the upstream (the submission died halfway); a late callback may still bring the id.
    if (pastDeadline) return fail('the upstream never confirmed the submission');
    await deps.tasks.deferCheck(task.task_id, now + deps.recheckAfterSeconds);
    return 'deferred';
  }

  const generation = await lookUp(deps, task.upstream_id);
  if (generation === 'unknown-upstream') return fail('the upstream no longer knows this generation');
  if (generation.status !== undefined && STATUS_RANK[generation.status] > STATUS_RANK[task.task_status]) {
    const update = { ...updateFromGeneration({ ...generation, status: generation.status }, now), checkAfter: now + deps.recheckAfterSeconds };
    const result = await deps.tasks.advance(task.task_id, update);
    // Moved on; past the deadline only a final state counts.
    if (result.applied && (isTerminal(result.task.task_status) || !pastDeadline)) return 'advanced';
  } else if (generation.status === undefined) {
    deps.log.warn('upstream state not recognised; kept raw', { task_id: task.task_id, upstream_state: generation.rawState });
  }
  if (pastDeadline) {
    const seconds = task.deadline_at - task.created_at;
    return fail(`no final state from the upstream within ${seconds} s (last upstream state: ${generation.rawState ?? 'unknown'})`);
  }
  await deps.tasks.deferCheck(task.task_id, now + deps.recheckAfterSeconds);
  return 'deferred';
}

export async function reconcileOpenTasks(deps: ReconcileDeps): Promise<ReconcileSummary> {
  const now = deps.now();
  // Shards are read in turn within the run's budget, from a different first shard each run so none starves.
  const due: OpenTask[] = [];
  const first = Math.floor(Math.random() * OPEN_TASK_SHARDS);
  for (let i = 0; i < OPEN_TASK_SHARDS && due.length < deps.maxTasksPerRun; i += 1) {
    const shard = String((first + i) % OPEN_TASK_SHARDS);
    due.push(...(await deps.tasks.dueForCheck(shard, now, deps.maxTasksPerRun - due.length)));
  }

  const summary: ReconcileSummary = { examined: 0, advanced: 0, failed: 0, deferred: 0, errors: 0, throttled: false, outOfTime: false };
  const timeLeft = () => (deps.remainingMs?.() ?? Infinity) > (deps.taskBudgetMs ?? 0);
  let next = 0;
  const worker = async () => {
    while (!summary.throttled && next < due.length) {
      if (!timeLeft()) {
        summary.outOfTime = true;
        return;
      }
      const task = due[next++];
      summary.examined += 1;
      try {
        summary[await reconcileTask(deps, task, now)] += 1;
      } catch (error) {
        if (isUpstreamStatus(error, 429)) {
          summary.throttled = true;
          deps.log.warn('upstream throttled the reconciler; stopping this run', { task_id: task.task_id });
        } else {
          summary.errors += 1;
          deps.log.error('could not reconcile a task', { task_id: task.task_id, error });
          // Look again later rather than at the head of every run.
          await deps.tasks.deferCheck(task.task_id, now + deps.recheckAfterSeconds).catch(() => undefined);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, deps.concurrency) }, worker));
  return summary;
}
