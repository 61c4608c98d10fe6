/**
 * The task item: what the tasks table stores and what its stream carries in
 * NewImage / OldImage. A versioned contract for downstream consumers
 * (docs/stream-contract.md): version 1 only ever gains optional fields; a
 * breaking change becomes schema_version 2.
 *
 * Consumers: unmarshall the image (@aws-sdk/util-dynamodb), then
 * `taskRecordSchema.parse(item)`.
 */
import * as z from 'zod/mini';
import { ASSET_STATES, FAILURE_CODES, TASK_STATUSES } from './task-status';

export const TASK_RECORD_VERSION = 1;

/**
 * The contract's minor version: what version 1 has gained, each change
 * optional fields only (docs/stream-contract.md, "Versions"). 1.1 (2026-12):
 * the stored media (asset_state, asset_keys, asset_failure_reason,
 * assets_settled_at) and the write that settles them. 1.2 (2026-12):
 * usage_counted (limits and usage).
 */
export const TASK_RECORD_MINOR_VERSION = 2;

const unixSeconds = z.number().check(z.int(), z.nonnegative());

export const taskRecordSchema = z.looseObject({
  /** The gateway's task id (UUID): the table's key. */
  task_id: z.string(),
  schema_version: z.literal(TASK_RECORD_VERSION),
  /** `extend` (has a parent) or `create`. */
  kind: z.enum(['extend', 'create']),
  /** The client that owns the task. */
  owner_id: z.string(),
  task_status: z.enum(TASK_STATUSES),
  /** 0 submitting, 1 pending, 2 processing, 3 completed or failed: only ever rises, but when a task failed as `unconfirmed` is revived. */
  status_rank: z.number().check(z.int(), z.gte(0), z.lte(3)),
  /** The upstream's own spelling of the last state it reported. */
  upstream_state: z.optional(z.string()),
  /** The upstream's generation id. Internal: never shown to clients. */
  upstream_id: z.optional(z.string()),
  /** The id the client asked to extend: a gateway task id or an upstream generation id. */
  parent_task_id: z.optional(z.string()),
  /** The parent's upstream generation id. Internal. */
  parent_upstream_id: z.optional(z.string()),
  prompt: z.string(),
  expand_prompt: z.optional(z.boolean()),
  /** An http(s) URL, or a summary of a data URL (the image itself is not stored). */
  image_url: z.optional(z.string()),
  image_end_url: z.optional(z.string()),
  /** The client's own hook for notifications. */
  notify_hook: z.optional(z.string()),
  /** sha256 of the callback token's secret. Internal. */
  callback_token_hash: z.string(),
  /** The API Gateway request id of the client's submission (what its answer said): correlates the task's later log lines. */
  request_id: z.optional(z.string()),
  video_url: z.optional(z.string()),
  video_raw_url: z.optional(z.string()),
  thumbnail_url: z.optional(z.string()),
  last_frame_url: z.optional(z.string()),
  failure_reason: z.optional(z.string()),
  /**
   * Where the completed task's media stand in the gateway's bucket (1.1): \`pending\` from the
   * completing write on, then \`stored\` or \`failed\` (one write that keeps the status).
   */
  asset_state: z.optional(z.enum(ASSET_STATES)),
  /** The stored objects' keys in the bucket (stack output AssetBucketName), by medium (1.1): \`tasks/<task_id>/<medium>\`. */
  asset_keys: z.optional(
    z.looseObject({
      video: z.optional(z.string()),
      video_raw: z.optional(z.string()),
      thumbnail: z.optional(z.string()),
      last_frame: z.optional(z.string()),
    }),
  ),
  /** Which media could not be stored, and why, when asset_state is \`failed\` (1.1). */
  asset_failure_reason: z.optional(z.string()),
  /** When asset_state became \`stored\` or \`failed\` (1.1). */
  assets_settled_at: z.optional(unixSeconds),
  /**
   * Why a failed task failed: \`refused\` (the upstream refused the submission),
   * \`upstream_failed\` (the upstream reported the generation failed),
   * \`unconfirmed\` (the upstream never confirmed the submission: its answer
   * was lost, and no callback came within the confirmation deadline; the
   * only failed state that moves again, when the upstream reports the task
   * after all), \`deadline\` (no final state by deadline_at),
   * \`unknown_to_upstream\` (the upstream no longer knows the generation).
   */
  failure_code: z.optional(z.enum(FAILURE_CODES)),
  created_at: unixSeconds,
  updated_at: unixSeconds,
  /** When the reconciler fails the task if it has not finished. */
  deadline_at: unixSeconds,
  /** When the gateway lost the upstream's answer to the submission (a timeout, a reset, a 5xx). */
  unconfirmed_since: z.optional(unixSeconds),
  /** When a task failed as \`unconfirmed\` moved on because the upstream reported it after all (at most once). */
  revived_at: z.optional(unixSeconds),
  /**
   * True when the submission took an open-task slot of its client and counted
   * itself in the client's usage (functions/domain/usage.ts): its later final
   * state is counted, and frees the slot, exactly once. Absent on tasks
   * submitted before limits and usage existed. Added in 1.2.
   */
  usage_counted: z.optional(z.boolean()),
  /** Present only while the task is open (the sparse open-task index). */
  open_shard: z.optional(z.string()),
  check_after: z.optional(unixSeconds),
  /** DynamoDB TTL: when the item is deleted (a REMOVE record by the service). */
  expires_at: unixSeconds,
});

export type TaskRecord = z.infer<typeof taskRecordSchema>;
