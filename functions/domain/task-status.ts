/** The task statuses, in lifecycle order (see task.ts for their rank). */
export const TASK_STATUSES = ['submitting', 'pending', 'processing', 'completed', 'failed'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];


/** Why a task failed (failure_code); only `unconfirmed` ever moves again. */
export const FAILURE_CODES = ['refused', 'upstream_failed', 'unconfirmed', 'deadline', 'unknown_to_upstream'] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];

/**
 * Where a notification message stands: `pending` (waiting for an attempt,
 * or being attempted), then once for good `delivered` (a 2xx), `exhausted`
 * (every planned attempt failed), `skipped` (its endpoint is disabled) or
 * `refused` (its hook points where the gateway must not go). A redelivery
 * makes a message pending again.
 */
export const MESSAGE_STATES = ['pending', 'delivered', 'exhausted', 'skipped', 'refused'] as const;
export type MessageState = (typeof MESSAGE_STATES)[number];

/** A client's endpoint (one hook URL): enabled, or disabled by a 410 answer (`gone`) or by failing for too long (`failing`). */
export const ENDPOINT_STATES = ['enabled', 'disabled'] as const;
export type EndpointState = (typeof ENDPOINT_STATES)[number];
export const ENDPOINT_DISABLED_REASONS = ['gone', 'failing'] as const;
export type EndpointDisabledReason = (typeof ENDPOINT_DISABLED_REASONS)[number];
