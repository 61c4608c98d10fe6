/**
 * Each client's limits and usage, in the domain's terms: what a task's
 * submission takes (an open-task slot, one of the day's submissions), what
 * each of its later transitions gives back or counts, and the UTC days the
 * counts fall in. The counters live in the usage table (functions/tables.ts)
 * and are only ever changed by conditional or atomic DynamoDB writes:
 *
 * - a submission takes its slot and counts itself in the SAME transaction
 *   that writes its task (and claims its Idempotency-Key), on the condition
 *   that the client's limits allow it: a refusal writes nothing;
 * - every later transition of a task that was counted so (its record carries
 *   `usage_counted`) is counted once, by the task-changes reaction
 *   (usage-reaction.ts), in one transaction with a marker keyed by the
 *   transition, so a replayed stream record counts nothing twice.
 *
 * The rules, as the README states them:
 * - `submitted` counts on the UTC day a task is submitted; its final state
 *   counts on the UTC day it is reached: `completed`, `failed_upstream`
 *   (upstream_failed, unknown_to_upstream), `failed_deadline` (deadline,
 *   unconfirmed), `refused` (the upstream refused the submission);
 * - only `completed` is billable;
 * - a task failed as `unconfirmed` that the upstream reports after all is
 *   taken out of that day's `failed_deadline`, takes its open-task slot again
 *   while it is open, and counts by its new final state on the day it
 *   reaches it;
 * - so, once every task has ended, a client's submitted equals completed +
 *   failed_upstream + failed_deadline + refused, summed over the days.
 */
import type { FailureCode, TaskItem } from './task';
import { isTerminal } from './task';

/** A client's limits; undefined: no limit. */
export interface ClientLimits {
  /** Tasks of the client open at once (submitting, pending or processing). */
  readonly maxOpenTasks?: number;
  /** Tasks the client may submit per UTC day. */
  readonly maxTasksPerDay?: number;
}

/** The limits and the counters they hold, as the usage table's `limits` item keeps them. */
export interface LimitsState extends ClientLimits {
  readonly openTasks: number;
  /** The UTC day of submittedToday. */
  readonly day?: string;
  readonly submittedToday: number;
}

export const USAGE_COUNTERS = ['submitted', 'completed', 'failed_upstream', 'failed_deadline', 'refused'] as const;
export type UsageCounter = (typeof USAGE_COUNTERS)[number];

/** One client's usage on one UTC day. */
export type DayUsage = { readonly day: string } & Readonly<Record<UsageCounter, number>>;

/** The limit a submission was refused for. */
export type LimitName = 'open_tasks' | 'tasks_per_day';

/** Unix seconds → its UTC day, `YYYY-MM-DD`. */
export function utcDay(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 10);
}

/** Unix seconds of the UTC midnight that ends the day of `seconds`. */
export function nextUtcMidnight(seconds: number): number {
  return (Math.floor(seconds / 86_400) + 1) * 86_400;
}

/** A `YYYY-MM-DD` day → unix seconds of its start; undefined when it is no real day. */
export function dayStart(day: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return undefined;
  const ms = Date.parse(`${day}T00:00:00Z`);
  return Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== day ? undefined : ms / 1000;
}

/** The counter a task in a final state counts in; undefined while it is open. */
export function outcomeCounter(task: Pick<TaskItem, 'task_status' | 'failure_code'>): UsageCounter | undefined {
  if (task.task_status === 'completed') return 'completed';
  if (task.task_status !== 'failed') return undefined;
  const code: FailureCode = task.failure_code ?? 'upstream_failed';
  if (code === 'refused') return 'refused';
  if (code === 'deadline' || code === 'unconfirmed') return 'failed_deadline';
  return 'failed_upstream';
}

/** What one transition of a counted task changes in its client's counters. */
export interface TransitionEffect {
  readonly ownerId: string;
  /**
   * Identifies the transition, as the stream contract keys status changes
   * (task, status reached, revived_at): a task reaches each status at most
   * once, and once more after its one revival.
   */
  readonly transition: string;
  /** -1: a task ended and frees its slot; +1: a failed task revived into an open status takes one again. */
  readonly openTasks: -1 | 0 | 1;
  /** Counter changes by UTC day: +1 for the final state reached, -1 for the final state left (a revival). */
  readonly counts: readonly { readonly day: string; readonly counter: UsageCounter; readonly delta: 1 | -1 }[];
}

/**
 * What a status change counts, or undefined when it counts nothing (a move
 * between open statuses, a task submitted before usage was counted).
 */
export function transitionEffect(before: TaskItem, after: TaskItem): TransitionEffect | undefined {
  if (after.usage_counted !== true || before.task_status === after.task_status) return undefined;
  const wasFinal = isTerminal(before.task_status);
  const isFinal = isTerminal(after.task_status);
  if (!wasFinal && !isFinal) return undefined;
  const counts: { day: string; counter: UsageCounter; delta: 1 | -1 }[] = [];
  // Left a final state (a revival): the day it was counted on gives it back. Its updated_at is when it got there.
  const left = wasFinal ? outcomeCounter(before) : undefined;
  if (left !== undefined) counts.push({ day: utcDay(before.updated_at), counter: left, delta: -1 });
  const reached = isFinal ? outcomeCounter(after) : undefined;
  if (reached !== undefined) counts.push({ day: utcDay(after.updated_at), counter: reached, delta: 1 });
  return {
    ownerId: after.owner_id,
    transition: `${after.task_id}#${after.task_status}#${after.revived_at ?? '-'}`,
    openTasks: wasFinal === isFinal ? 0 : isFinal ? -1 : 1,
    counts,
  };
}

/** Seconds until an open-task slot is likely to be free again: the Retry-After of that refusal. */
export const OPEN_TASKS_RETRY_AFTER_SECONDS = 30;

/** The refusal of a submission for a limit: which one, and when it frees (unix seconds, and as Retry-After). */
export function limitRefusal(limit: LimitName, state: LimitsState, now: number): { readonly message: string; readonly retryAfterSeconds: number } {
  if (limit === 'tasks_per_day') {
    const midnight = nextUtcMidnight(now);
    return {
      message:
        `limit reached: tasks per day (${state.maxTasksPerDay} a UTC day, ${state.submittedToday} submitted today); ` +
        `it frees at the next UTC midnight, ${new Date(midnight * 1000).toISOString()} (in ${midnight - now} s)`,
      retryAfterSeconds: midnight - now,
    };
  }
  return {
    message:
      `limit reached: open tasks (${state.maxOpenTasks} at once, ${state.openTasks} open); ` +
      'a slot frees as soon as one of your open tasks completes or fails (follow them with GET /luma/generations?status=processing)',
    retryAfterSeconds: OPEN_TASKS_RETRY_AFTER_SECONDS,
  };
}

/** Which limit a state refuses the next submission of `today` for, if any (the open-task limit first). */
export function limitReached(state: LimitsState, today: string): LimitName | undefined {
  if (state.maxOpenTasks !== undefined && state.openTasks >= state.maxOpenTasks) return 'open_tasks';
  const submitted = state.day === today ? state.submittedToday : 0;
  if (state.maxTasksPerDay !== undefined && submitted >= state.maxTasksPerDay) return 'tasks_per_day';
  return undefined;
}

/** Zero counts for a day: what a day without a usage item has. */
export function emptyDay(day: string): DayUsage {
  return { day, submitted: 0, completed: 0, failed_upstream: 0, failed_deadline: 0, refused: 0 };
}

/** Most days one usage request or report covers. */
export const MAX_USAGE_DAYS = 366;
