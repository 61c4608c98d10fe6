/**
 * The usage reaction of the task-changes consumer (functions/domain/task-changes.ts):
 * each transition of a counted task into or out of a final state frees (or
 * takes back) its client's open-task slot and counts in the client's usage
 * of that UTC day (functions/domain/usage.ts), once. A stream record comes
 * again after any reaction of its batch fails: each transition's count is
 * one transaction with a marker keyed by the transition, which a replay
 * finds and stops at.
 *
 * Bounded and fast, as every reaction must be: one transaction per
 * transition, nothing else. One client's transitions are counted one after
 * another (they add to the same items: side by side they would only cancel
 * each other's transactions), different clients' side by side, so a client
 * with many tasks ending at once never holds back another's counts.
 */
import type { LogSink, UsageStore } from './ports';
import type { ReactionContext, TaskChange, TaskChangeReaction } from './task-changes';
import { transitionEffect } from './usage';

export interface UsageReactionDeps {
  readonly usage: Pick<UsageStore, 'count'>;
  readonly now: () => number;
  readonly log: LogSink;
}

/** A count is not started with less time than this left (one transaction, its conflict retries included). */
const COUNT_BUDGET_MS = 5000;

export function usageReaction(deps: UsageReactionDeps): TaskChangeReaction {
  return {
    name: 'usage',
    wants: (change) => transitionEffect(change.before, change.after) !== undefined,
    react: async (changes: readonly TaskChange[], context: ReactionContext) => {
      const failed = new Set<string>();
      const byClient = new Map<string, TaskChange[]>();
      for (const change of changes) byClient.set(change.after.owner_id, [...(byClient.get(change.after.owner_id) ?? []), change]);
      await Promise.all(
        [...byClient.values()].map(async (ofClient) => {
          for (const change of ofClient) {
            const effect = transitionEffect(change.before, change.after);
            if (effect === undefined) continue;
            if (context.remainingMs() < COUNT_BUDGET_MS) {
              // Out of time: the stream brings it again.
              failed.add(change.sequence);
              continue;
            }
            try {
              const counted = await deps.usage.count(effect, deps.now());
              if (!counted) deps.log.info('task transition already counted (a replayed stream record)', { task_id: change.after.task_id, task_status: change.after.task_status });
            } catch (error) {
              deps.log.error('could not count a task transition; the stream brings it again', { task_id: change.after.task_id, task_status: change.after.task_status, error });
              failed.add(change.sequence);
            }
          }
        }),
      );
      return failed;
    },
  };
}
