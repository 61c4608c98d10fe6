/** The metrics of a task's move (lib/gateway-metrics.ts), wherever it moved: a submission's answer, a callback, the reconciler. */
import type { MetricSink } from './ports';
import type { TaskItem } from './task';

/** Counts a task that reached a final state: completed, or failed (by failure_code, and the two the alarms read). */
export function countTransition(metrics: MetricSink, task: Pick<TaskItem, 'task_status' | 'failure_code'>): void {
  if (task.task_status === 'completed') metrics.count('TasksCompleted');
  if (task.task_status !== 'failed') return;
  const failureCode = task.failure_code ?? 'upstream_failed';
  metrics.count('TasksFailed', 1, { failure_code: failureCode });
  if (failureCode === 'deadline') metrics.count('TasksFailedPastDeadline');
  if (failureCode === 'unconfirmed') metrics.count('TasksFailedUnconfirmed');
}
