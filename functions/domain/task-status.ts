/** The task statuses, in lifecycle order (see task.ts for their rank). */
export const TASK_STATUSES = ['submitting', 'pending', 'processing', 'completed', 'failed'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];


/** Why a task failed (failure_code); only `unconfirmed` ever moves again. */
export const FAILURE_CODES = ['refused', 'upstream_failed', 'unconfirmed', 'deadline', 'unknown_to_upstream'] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];

/**
 * Where a notification message stands: `waiting` (a `completed`
 * notification held until the task's media are stored, or their copy
 * failed for good), `pending` (waiting for an attempt, or being attempted),
 * then once for good `delivered` (a 2xx), `exhausted` (every planned
 * attempt failed), `skipped` (its endpoint is disabled) or `refused` (its
 * hook points where the gateway must not go). A redelivery makes a message
 * pending again.
 */
export const MESSAGE_STATES = ['waiting', 'pending', 'delivered', 'exhausted', 'skipped', 'refused'] as const;
export type MessageState = (typeof MESSAGE_STATES)[number];

/** A client's endpoint (one hook URL): enabled, or disabled by a 410 answer (`gone`) or by failing for too long (`failing`). */
export const ENDPOINT_STATES = ['enabled', 'disabled'] as const;
export type EndpointState = (typeof ENDPOINT_STATES)[number];
export const ENDPOINT_DISABLED_REASONS = ['gone', 'failing'] as const;
export type EndpointDisabledReason = (typeof ENDPOINT_DISABLED_REASONS)[number];

/**
 * Where a completed task's media stand in the gateway's own storage:
 * `pending` (being copied, or retried), then for good `stored` (every
 * medium the upstream gave is in the bucket) or `failed` (at least one could
 * not be copied; its reason says which and why; what was stored is served).
 * The same states name an asset job's (asset-job.ts).
 */
export const ASSET_STATES = ['pending', 'stored', 'failed'] as const;
export type AssetState = (typeof ASSET_STATES)[number];
