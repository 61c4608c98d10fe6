/**
 * The gateway's one reader of the task table's stream, and what it does
 * with each task change. DynamoDB Streams serves about two readers per
 * shard before it throttles, and other teams' subscriptions read it too
 * (docs/stream-contract.md), so the gateway reads it once and fans each
 * change out, in process, to every reaction that wants it: the client's
 * notification, and whatever else is added to the list in
 * functions/wiring.ts (`taskChangeReactions`).
 *
 * The rules every reaction keeps, because they share one shard position:
 * - fast and bounded: DynamoDB writes, or a request with a short timeout;
 *   slow work (retries, downloads) goes to a durable record that a worker
 *   picks up, so no tenant's trouble holds back the others' changes;
 * - idempotent: a record a reaction reports failed is replayed, with every
 *   later record of the batch, to every reaction (Lambda resumes a stream
 *   batch from its lowest failed record), so a replayed change must not
 *   count, send or write anything twice.
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { isStatusChange } from './task-events';
import type { TaskItem } from './task';

/** A task's status change, as one stream record carries it. */
export interface TaskChange {
  /** The record's stream sequence number: its identifier in a partial batch response. */
  readonly sequence: string;
  readonly before: TaskItem;
  readonly after: TaskItem;
}

export interface ReactionContext {
  /** Milliseconds left in this invocation: nothing should start that could not finish in time. */
  readonly remainingMs: () => number;
}

export interface TaskChangeReaction {
  /** For logs: which reaction failed. */
  readonly name: string;
  /** Whether this reaction acts on the change (cheap and pure: called for every change). */
  wants(change: TaskChange): boolean;
  /**
   * Acts on the changes it wants, in stream order within a task. Resolves
   * to the sequence numbers of the changes it could not act on (and must
   * see again); it should not reject: a rejection fails all its changes.
   */
  react(changes: readonly TaskChange[], context: ReactionContext): Promise<ReadonlySet<string>>;
}

export interface BatchResult {
  batchItemFailures: { itemIdentifier: string }[];
}

/** The status change a stream record carries, or undefined when it carries none (an insert, a write that kept the status). */
export function taskChangeOf(record: DynamoDBRecord): TaskChange | undefined {
  const { NewImage, OldImage, SequenceNumber } = record.dynamodb ?? {};
  if (record.eventName !== 'MODIFY' || NewImage === undefined || OldImage === undefined) return undefined;
  const after = unmarshall(NewImage as Parameters<typeof unmarshall>[0]) as TaskItem;
  const before = unmarshall(OldImage as Parameters<typeof unmarshall>[0]) as TaskItem;
  if (!isStatusChange(before.task_status, after.task_status)) return undefined;
  return { sequence: SequenceNumber ?? '', before, after };
}

/** Every reaction over the changes it wants, side by side; the batch's failures are the union of theirs. */
export async function reactToTaskChanges(
  reactions: readonly TaskChangeReaction[],
  records: readonly DynamoDBRecord[],
  context: ReactionContext,
  log: { error(message: string, extra: Record<string, unknown>): void },
): Promise<BatchResult> {
  const changes = records.map(taskChangeOf).filter((change): change is TaskChange => change !== undefined);
  const failed = new Set<string>();
  await Promise.all(
    reactions.map(async (reaction) => {
      const wanted = changes.filter((change) => reaction.wants(change));
      if (wanted.length === 0) return;
      try {
        for (const sequence of await reaction.react(wanted, context)) failed.add(sequence);
      } catch (error) {
        log.error('a task change reaction failed', { reaction: reaction.name, error });
        for (const change of wanted) failed.add(change.sequence);
      }
    }),
  );
  return {
    batchItemFailures: records
      .map((record) => record.dynamodb?.SequenceNumber ?? '')
      .filter((sequence) => failed.has(sequence))
      .map((itemIdentifier) => ({ itemIdentifier })),
  };
}
