/**
 * A durable job: work kept in one DynamoDB item until it ends, attempted by
 * whoever claims it, retried on a schedule (retry-schedule.ts) by a worker
 * that reads a sparse, sharded index of the jobs due. Notification messages
 * (message.ts) and asset copies (asset-job.ts) are both; the DynamoDB side
 * is functions/adapters/dynamodb/durable-jobs.ts.
 *
 * Claims: an attempt first claims its job (a conditional write that counts
 * the claim and leases the job until `due_at_ms`), then works, then settles
 * the job (a write conditional on its claim: a claim another one took over
 * writes nothing). While pending, the job is in the due index (`due_shard`,
 * `due_at_ms`); once ended, it is not.
 */

import type { LogSink, MetricSink } from './ports';
import type { RetrySchedule } from './retry-schedule';

/** What every worker of durable jobs runs with: its retry schedule, logs, metrics and clock. */
export interface JobRunDeps {
  readonly schedule: RetrySchedule;
  readonly log: LogSink;
  /** The worker's counts (lib/gateway-metrics.ts). @default none recorded */
  readonly metrics?: MetricSink;
  /** Unix milliseconds. */
  readonly nowMs: () => number;
  /** For the schedule's jitter; Math.random by default. */
  readonly random?: () => number;
}

/** What every durable job item carries. */
export interface JobLease {
  /** Claims made (one per attempt started). */
  readonly claims: number;
  /** Claims whose outcome is written; claims > settled while an attempt is in progress (or was lost). */
  readonly settled: number;
  /** Unix ms of the last claim. */
  readonly claim_at_ms?: number;
  /** Present while pending: the due index's partition. */
  readonly due_shard?: string;
  /** While pending: when it is next attempted, or when the claim in progress lapses. */
  readonly due_at_ms?: number;
  /** Unix ms the retry schedule is counted from. */
  readonly origin_ms: number;
}

/** A claim: the job as it was before (its last claim included) and the number of this one. */
export interface JobClaim<T> {
  readonly previous: T;
  readonly claim: number;
  readonly claimAtMs: number;
}

/** True while an attempt holds the job (claimed, not settled, lease not lapsed). */
export function isLeased(job: Pick<JobLease, 'claims' | 'settled' | 'due_at_ms'>, nowMs: number): boolean {
  return job.claims > job.settled && (job.due_at_ms ?? 0) > nowMs;
}

/** The lease fields of a job created pending and due at once. */
export function dueNow(shard: string, nowMs: number): JobLease {
  return { claims: 0, settled: 0, due_shard: shard, due_at_ms: nowMs, origin_ms: nowMs };
}

/**
 * Reads a sharded due index, one shard after another within `limit`, from
 * a different first shard each run so that none starves.
 */
export async function dueAcrossShards<T>(shards: number, limit: number, random: () => number, read: (shard: string, limit: number) => Promise<T[]>): Promise<T[]> {
  const due: T[] = [];
  const first = Math.floor(random() * shards);
  for (let i = 0; i < shards && due.length < limit; i += 1) due.push(...(await read(String((first + i) % shards), limit - due.length)));
  return due;
}
