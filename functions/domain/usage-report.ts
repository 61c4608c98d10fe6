/**
 * A client's usage over a range of UTC days, with the billing rule applied:
 * what GET /luma/usage answers the client, and what the operator's
 * `npm run client -- usage` prints (functions/domain/usage.ts has the rules
 * the counts follow).
 */
import { invalid } from './errors';
import type { UsageStore } from './ports';
import { dayStart, MAX_USAGE_DAYS, USAGE_COUNTERS, utcDay, type DayUsage, type LimitsState, type UsageCounter } from './usage';

/** The billing rule, in the words the README and the OpenAPI document use. */
export const BILLING_RULE =
  'Only completed tasks are billable: a task failed by the upstream, failed by the gateway (deadline, unconfirmed) or refused by the upstream is never billed.';

/** Days a report covers when the caller names none: the last 30, today included. */
export const DEFAULT_USAGE_DAYS = 30;

export type UsageCounts = Readonly<Record<UsageCounter, number>> & { readonly billable: number };

export interface UsageReport {
  readonly from: string;
  readonly to: string;
  /** Days with any count, oldest first. */
  readonly days: (UsageCounts & { readonly day: string })[];
  readonly totals: UsageCounts;
}

export interface UsageRange {
  readonly from: string;
  readonly to: string;
}

/**
 * The days asked for: `to` defaults to today (UTC), `from` to 29 days
 * before `to`; both included, from ≤ to, at most MAX_USAGE_DAYS days.
 */
export function usageRange(from: string | undefined, to: string | undefined, now: number): UsageRange {
  const toDay = to ?? utcDay(now);
  const toStart = dayStart(toDay);
  if (toStart === undefined) throw invalid(`to must be a UTC day as YYYY-MM-DD, got ${JSON.stringify(to)}`);
  const fromDay = from ?? utcDay(toStart - (DEFAULT_USAGE_DAYS - 1) * 86_400);
  const fromStart = dayStart(fromDay);
  if (fromStart === undefined) throw invalid(`from must be a UTC day as YYYY-MM-DD, got ${JSON.stringify(from)}`);
  if (fromStart > toStart) throw invalid(`from (${fromDay}) must not be after to (${toDay})`);
  const days = (toStart - fromStart) / 86_400 + 1;
  if (days > MAX_USAGE_DAYS) throw invalid(`from and to span ${days} days; ask for at most ${MAX_USAGE_DAYS} at a time`);
  return { from: fromDay, to: toDay };
}

const countsOf = (usage: Readonly<Record<UsageCounter, number>>): UsageCounts => ({
  ...(Object.fromEntries(USAGE_COUNTERS.map((counter) => [counter, usage[counter]])) as Record<UsageCounter, number>),
  billable: usage.completed,
});

/** The report of one client's usage over a range (days without any count are left out). */
export async function usageReport(usage: Pick<UsageStore, 'days'>, clientId: string, range: UsageRange): Promise<UsageReport> {
  const days: DayUsage[] = await usage.days(clientId, range.from, range.to);
  const totals = Object.fromEntries(USAGE_COUNTERS.map((counter) => [counter, days.reduce((sum, day) => sum + day[counter], 0)])) as Record<UsageCounter, number>;
  return {
    from: range.from,
    to: range.to,
    days: days.filter((day) => USAGE_COUNTERS.some((counter) => day[counter] !== 0)).map((day) => ({ day: day.day, ...countsOf(day) })),
    totals: countsOf(totals),
  };
}

/** A client's limits as the API shows them (null: no limit), with the counters they hold. */
export function limitsView(state: LimitsState, now: number) {
  return {
    max_open_tasks: state.maxOpenTasks ?? null,
    max_tasks_per_day: state.maxTasksPerDay ?? null,
    open_tasks: Math.max(0, state.openTasks),
    submitted_today: state.day === utcDay(now) ? state.submittedToday : 0,
  };
}
