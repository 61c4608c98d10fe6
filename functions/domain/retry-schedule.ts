/**
 * When a piece of durable work that keeps failing is tried again: the
 * schedule of notification deliveries (and of any other worker that drains
 * a due index, such as an asset copy). Pure: no clock, no randomness of its
 * own (both are passed in), so it is tested alone.
 *
 * A schedule is a list of delays in seconds, each counted from the planned
 * time of the attempt before; the first is counted from the work's origin
 * (when it was created, or redelivered). Attempt k is planned at
 * origin + delays[0] + ... + delays[k]. The plan is fixed at the origin: work
 * that could not be tried for a while (it waited behind earlier work of the
 * same task) is tried as soon as it can be, then at the planned times still
 * ahead, so every piece of work ends within the schedule's span of its
 * origin whatever held it up.
 */

/** Delays in seconds, e.g. [0, 60, 300, 1800, 7200, 18000, 36000, 36000]: 8 attempts over about 27.6 hours. */
export type RetrySchedule = readonly number[];

/** Jitter: an attempt is delayed by up to this share of the delay that leads to it, never advanced. */
export const JITTER_SHARE = 0.1;

/** Planned attempt times in unix ms, from the origin. */
export function plannedAttempts(schedule: RetrySchedule, originMs: number): number[] {
  let at = originMs;
  return schedule.map((delaySeconds) => (at += delaySeconds * 1000));
}

/** The schedule's whole span in seconds: the last attempt is planned this long after the origin. */
export function scheduleSpanSeconds(schedule: RetrySchedule): number {
  return schedule.reduce((sum, delay) => sum + delay, 0);
}

export interface NextAttemptInput {
  readonly schedule: RetrySchedule;
  /** Unix ms the plan is counted from. */
  readonly originMs: number;
  /** Unix ms of the attempt that just failed. */
  readonly nowMs: number;
  /** What the other side asked for (Retry-After), in ms from now. */
  readonly retryAfterMs?: number;
  /** [0, 1): Math.random in production, fixed in tests. */
  readonly random: () => number;
}

/**
 * After a failed attempt at nowMs: when the next one is due (unix ms), or
 * undefined when no planned attempt is left (the work is exhausted).
 * Retry-After is honoured (the next attempt is never earlier than it asks),
 * capped at the schedule's longest delay so a peer cannot park the work
 * beyond its span.
 */
export function nextAttemptAt(input: NextAttemptInput): number | undefined {
  const planned = plannedAttempts(input.schedule, input.originMs);
  const index = planned.findIndex((at) => at > input.nowMs);
  if (index < 0) return undefined;
  const jitter = Math.floor(input.random() * input.schedule[index] * 1000 * JITTER_SHARE);
  const longest = Math.max(...input.schedule) * 1000;
  const retryAfter = input.retryAfterMs === undefined ? 0 : Math.min(Math.max(0, input.retryAfterMs), longest);
  return Math.max(planned[index] + jitter, input.nowMs + retryAfter);
}

/**
 * A Retry-After header (RFC 9110: delay-seconds or an HTTP date) as ms from
 * now; undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}
