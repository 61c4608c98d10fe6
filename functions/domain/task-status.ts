/** The task statuses, in lifecycle order (see task.ts for their rank). */
export const TASK_STATUSES = ['submitting', 'pending', 'processing', 'completed', 'failed'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

