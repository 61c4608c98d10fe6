/**
 * The asset job: the durable record of one completed task's media copy
 * into the gateway's bucket (a durable job, durable-job.ts, in the asset
 * jobs table). Written once, by the task-change reaction that sees the
 * task complete (conditional: a replayed record writes nothing); claimed
 * by the asset worker for each attempt; retried on `assetRetrySchedule`;
 * ended `stored` or `failed` with its reason. It keeps what each attempt
 * stored (so a retry copies only what is missing, even after the upstream's
 * other links died) and the media refused for good.
 */
import { DUE_ASSET_JOB_SHARDS, shardOf } from '../tables';
import type { MediaKind } from './assets';
import { dueNow, type JobLease } from './durable-job';
import type { TaskItem } from './task';
import type { AssetState } from './task-status';

/** A medium in the bucket. */
export interface StoredMedium {
  readonly key: string;
  readonly bytes: number;
  readonly content_type: string;
}

export interface AssetJob extends JobLease {
  readonly task_id: string;
  readonly owner_id: string;
  readonly job_state: AssetState;
  /** Media stored so far. */
  readonly stored?: { readonly [K in MediaKind]?: StoredMedium };
  /** Media that can never be stored (refused address, too large, not a video or image, a link the upstream refuses), with why. */
  readonly refused?: { readonly [K in MediaKind]?: string };
  readonly last_error?: string;
  /** Unix seconds. */
  readonly created_at: number;
  /** Unix seconds it became stored or failed. */
  readonly ended_at?: number;
  readonly expires_at: number;
}

/** An asset job as the due index projects it. */
export interface DueAssetJob {
  readonly task_id: string;
  readonly owner_id: string;
  readonly due_at_ms: number;
}

export const assetJobShard = (taskId: string) => shardOf(taskId, DUE_ASSET_JOB_SHARDS);

/** The job of a task that just completed: pending, due at once. */
export function newAssetJob(task: Pick<TaskItem, 'task_id' | 'owner_id'>, nowMs: number, retentionDays: number): AssetJob {
  const createdAt = Math.floor(nowMs / 1000);
  return {
    task_id: task.task_id,
    owner_id: task.owner_id,
    job_state: 'pending',
    ...dueNow(assetJobShard(task.task_id), nowMs),
    created_at: createdAt,
    expires_at: createdAt + retentionDays * 86_400,
  };
}

/** How an attempt ended, as written on the job: due again at `dueAtMs`, or ended. Both carry the media stored and refused so far. */
export type AssetSettlement = { readonly stored: AssetJob['stored']; readonly refused: AssetJob['refused'] } & (
  | { readonly kind: 'retry'; readonly dueAtMs: number; readonly error: string }
  | { readonly kind: 'stored'; readonly at: number }
  | { readonly kind: 'failed'; readonly at: number; readonly error: string }
);
