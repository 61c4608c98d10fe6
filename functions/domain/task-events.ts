/**
 * Which stream records are task status changes. Written once as Lambda event
 * filter patterns: the CDK stack puts them on the event source mappings
 * (lib/task-events-subscription.ts), and the local stack's stream poller
 * evaluates the same patterns (matchesFilterPattern below).
 */
import { TASK_STATUSES, isTerminal, type TaskStatus } from './task';

export type FilterPattern = Record<string, unknown>;

/**
 * The statuses a task can leave: every open one, and `failed`, which a task
 * the gateway failed as `unconfirmed` leaves when the upstream reports it
 * after all (docs/stream-contract.md).
 */
export const LEAVABLE_STATUSES: readonly TaskStatus[] = [...TASK_STATUSES.filter((status) => !isTerminal(status)), 'failed'];

/**
 * One pattern per status a task can leave: the old image has it, the new
 * image has another. A filter cannot compare two fields, but it can do this.
 * At most 5 patterns fit on one event source mapping; this makes 4.
 */
export function statusChangePatterns(options: { withNotifyHook: boolean }): FilterPattern[] {
  return LEAVABLE_STATUSES.map((status) => ({
    eventName: ['MODIFY'],
    dynamodb: {
      OldImage: { task_status: { S: [status] } },
      NewImage: {
        task_status: { S: [{ 'anything-but': [status] }] },
        ...(options.withNotifyHook && { notify_hook: { S: [{ exists: true }] } }),
      },
    },
  }));
}

/** True when a record's old and new images carry different statuses. */
export function isStatusChange(oldStatus: TaskStatus | undefined, newStatus: TaskStatus | undefined): boolean {
  return oldStatus !== undefined && newStatus !== undefined && oldStatus !== newStatus;
}

function matchesValue(value: unknown, rules: unknown[]): boolean {
  return rules.some((rule) => {
    if (rule === null || typeof rule !== 'object') return value === rule;
    const { exists, 'anything-but': anythingBut, prefix } = rule as { exists?: boolean; 'anything-but'?: unknown[]; prefix?: string };
    if (exists !== undefined) return exists ? value !== undefined : value === undefined;
    if (anythingBut !== undefined) return value !== undefined && !anythingBut.includes(value);
    if (prefix !== undefined) return typeof value === 'string' && value.startsWith(prefix);
    return false;
  });
}

/**
 * Evaluates a Lambda event filter pattern against a record, for the subset
 * of the syntax this project uses (exact values, exists, anything-but,
 * prefix), with the same semantics as Lambda's filtering.
 */
export function matchesFilterPattern(record: unknown, pattern: FilterPattern): boolean {
  return Object.entries(pattern).every(([key, rule]) => {
    const value = (record as Record<string, unknown> | undefined)?.[key];
    if (Array.isArray(rule)) return matchesValue(value, rule);
    if (rule !== null && typeof rule === 'object') {
      // Nested pattern: a missing field only matches patterns asking for its absence.
      return matchesFilterPattern(value ?? {}, rule as FilterPattern);
    }
    return false;
  });
}
