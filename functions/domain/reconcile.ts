/**
 * The reconciler: callbacks get lost, so tasks open too long are looked up
 * upstream and moved forward through the same conditional update a callback
 * uses; tasks past their deadline are failed with a reason, even when the
 * upstream cannot be asked. A submission whose answer was lost has no
 * upstream id to look up: it is failed as `unconfirmed` at its confirmation
 * deadline, and a later callback still revives it. It reads the sparse
 * open-task index (never the table), does bounded work per run, and stops
 * at the first 429 so a throttling upstream is never hammered.
 */
import { OPEN_TASK_SHARDS } from '../tables';
import { isDomainError, isUpstreamStatus } from './errors';
import { silentMetrics, type LogSink, type MetricSink, type OpenTask, type TaskStore, type UpstreamClient, type UpstreamGeneration } from './ports';
import { isTerminal, STATUS_RANK, updateFromGeneration, type FailureCode, type TaskStatus } from './task';
import { countTransition } from './task-metrics';

export interface ReconcileDeps {
  readonly tasks: TaskStore;
  readonly upstream: UpstreamClient;
  readonly now: () => number;
  readonly log: LogSink;
  /** @default none recorded */
  readonly metrics?: MetricSink;
  /** Seconds until an open task is looked at again. */
  readonly recheckAfterSeconds: number;
  /** Seconds after its creation an unconfirmed submission is failed (as `unconfirmed`). */
  readonly confirmDeadlineSeconds: number;
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

async function lookUp(deps: ReconcileDeps, task: OpenTask & { upstream_id: string }): Promise<UpstreamGeneration | 'unknown-upstream'> {
  try {
    return await deps.upstream.getGeneration(task.upstream_id, { taskId: task.task_id });
  } catch (error) {
    if (isUpstreamStatus(error, 404)) return 'unknown-upstream';
    throw error;
  }
}

/** One task's reconciliation, and whether the task is still open after it. */
async function reconcileTask(deps: ReconcileDeps, task: OpenTask, now: number, closed: (taskId: string) => void): Promise<Outcome> {
  const metrics = deps.metrics ?? silentMetrics;
  const pastDeadline = now >= task.deadline_at;
  const fail = async (failureCode: FailureCode, failureReason: string, onlyFrom?: TaskStatus): Promise<Outcome> => {
    const result = await deps.tasks.advance(task.task_id, { status: 'failed', at: now, failureReason, failureCode, onlyFrom });
    // Not applied: a callback closed it meanwhile (or, for `onlyFrom`, moved it on).
    if (!result.applied) return 'deferred';
    deps.log.info('task failed by the reconciler', { task_id: task.task_id, client_request_id: result.task.request_id, failure_code: failureCode, reason: failureReason });
    countTransition(metrics, result.task);
    closed(task.task_id);
    return 'failed';
  };
  const deadlineReason = (detail: string) => `no final state from the upstream within ${task.deadline_at - task.created_at} s (${detail})`;

  if (task.upstream_id === undefined) {
    // Never confirmed (the answer was lost, or the submission died halfway): only a callback can bring the id.
    const confirmBy = Math.min(task.created_at + deps.confirmDeadlineSeconds, task.deadline_at);
    if (now >= confirmBy) {
      return fail(
        'unconfirmed',
        `the upstream never confirmed the submission within ${confirmBy - task.created_at} s; the task moves on if the upstream reports it later`,
        'submitting',
      );
    }
    await deps.tasks.deferCheck(task.task_id, Math.min(confirmBy, now + deps.recheckAfterSeconds));
    return 'deferred';
  }

  let generation: UpstreamGeneration | 'unknown-upstream';
  try {
    generation = await lookUp(deps, { ...task, upstream_id: task.upstream_id });
  } catch (error) {
    // Past its deadline a task is failed even when the upstream cannot be asked.
    if (pastDeadline && !isUpstreamStatus(error, 429)) {
      return fail('deadline', deadlineReason(`the upstream could not be asked: ${isDomainError(error) ? error.message : 'the look-up failed'}`));
    }
    throw error;
  }
  if (generation === 'unknown-upstream') return fail('unknown_to_upstream', 'the upstream no longer knows this generation');
  if (generation.status !== undefined && STATUS_RANK[generation.status] > STATUS_RANK[task.task_status]) {
    const update = { ...updateFromGeneration({ ...generation, status: generation.status }, now), checkAfter: now + deps.recheckAfterSeconds };
    const result = await deps.tasks.advance(task.task_id, update);
    if (result.applied) {
      deps.log.info('task moved by the reconciler (its callback was lost)', { task_id: task.task_id, client_request_id: result.task.request_id, task_status: result.task.task_status });
      countTransition(metrics, result.task);
      if (isTerminal(result.task.task_status)) closed(task.task_id);
    }
    // Moved on; past the deadline only a final state counts.
    if (result.applied && (isTerminal(result.task.task_status) || !pastDeadline)) return 'advanced';
  } else if (generation.status === undefined) {
    deps.log.warn('upstream state not recognised; kept raw', { task_id: task.task_id, upstream_state: generation.rawState });
  }
  if (pastDeadline) return fail('deadline', deadlineReason(`last upstream state: ${generation.rawState ?? 'unknown'}`));
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
  const closedTasks = new Set<string>();
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
        summary[await reconcileTask(deps, task, now, (taskId) => closedTasks.add(taskId))] += 1;
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
  recordRun(deps, summary, due.filter((task) => !closedTasks.has(task.task_id)), now);
  return summary;
}

/**
 * A run's metrics: what it did, and the open tasks it saw (those it did not
 * close). Every open task is due at least every recheckAfterSeconds, so
 * over that window these gauges cover every open task.
 */
function recordRun(deps: ReconcileDeps, summary: ReconcileSummary, stillOpen: readonly OpenTask[], now: number): void {
  const metrics = deps.metrics ?? silentMetrics;
  metrics.count('ReconcilerAdvanced', summary.advanced);
  metrics.count('ReconcilerFailed', summary.failed);
  metrics.count('ReconcilerDeferred', summary.deferred);
  metrics.count('ReconcilerErrors', summary.errors);
  metrics.count('ReconcilerThrottled', summary.throttled ? 1 : 0);
  metrics.count('OpenTasksPastDeadline', stillOpen.filter((task) => now >= task.deadline_at).length);
  metrics.count('OpenTasksUnconfirmed', stillOpen.filter((task) => task.upstream_id === undefined).length);
  if (stillOpen.length > 0) metrics.seconds('OpenTasksOldestAgeSeconds', Math.max(...stillOpen.map((task) => now - task.created_at)));
}
