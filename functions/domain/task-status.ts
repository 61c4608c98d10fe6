/** The task statuses, in lifecycle order (see task.ts for their rank). */
export const TASK_STATUSES = ['submitting', 'pending', 'processing', 'completed', 'failed'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];


/** Why a task failed (failure_code); only `unconfirmed` ever moves again. */
export const FAILURE_CODES = ['refused', 'upstream_failed', 'unconfirmed', 'deadline', 'unknown_to_upstream'] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];
