/**
 * The task lifecycle: statuses, their rank, and how upstream spellings map
 * onto them. State only moves to a higher rank (see task-store.ts).
 */
import type { UpstreamGeneration } from './ports';
import { FAILURE_CODES, TASK_STATUSES, type FailureCode, type TaskStatus } from './task-status';
import type { TaskRecord } from './task-record';
// Types only: the schema stays out of bundles that merely build views (the task-changes consumer's).
import type { TaskView } from './views';

export { FAILURE_CODES, TASK_STATUSES, type FailureCode, type TaskStatus, type TaskView };

export const STATUS_RANK: Readonly<Record<TaskStatus, number>> = {
  submitting: 0,
  pending: 1,
  processing: 2,
  // Both terminal: whichever arrives first wins, the other is a no-op.
  completed: 3,
  failed: 3,
};

export const TERMINAL_RANK = 3;

export function isTerminal(status: TaskStatus): boolean {
  return STATUS_RANK[status] === TERMINAL_RANK;
}

const UPSTREAM_SPELLINGS: Readonly<Record<string, TaskStatus>> = {
  pending: 'pending',
  queued: 'pending',
  submitted: 'pending',
  processing: 'processing',
  dreaming: 'processing',
  in_progress: 'processing',
  completed: 'completed',
  succeed: 'completed',
  succeeded: 'completed',
  success: 'completed',
  failed: 'failed',
  failure: 'failed',
};

/**
 * Maps an upstream state onto a gateway status. Unknown spellings return
 * undefined: the caller keeps the raw value and logs it rather than guessing.
 */
export function statusFromUpstream(state: string | null | undefined): TaskStatus | undefined {
  if (typeof state !== 'string') return undefined;
  return UPSTREAM_SPELLINGS[state.trim().toLowerCase().replace(/[\s-]+/g, '_')];
}

/** The task item as stored in the tasks table: its schema is the stream contract (task-record.ts). */
export type TaskItem = TaskRecord;

export type TaskKind = TaskItem['kind'];

export function toTaskView(task: TaskItem): TaskView {
  return {
    task_id: task.task_id,
    task_status: task.task_status,
    parent_task_id: task.parent_task_id ?? null,
    prompt: task.prompt,
    video_url: task.video_url ?? null,
    thumbnail_url: task.thumbnail_url ?? null,
    last_frame_url: task.last_frame_url ?? null,
    failure_reason: task.failure_reason ?? null,
    failure_code: task.failure_code ?? null,
    created_at: task.created_at,
    updated_at: task.updated_at,
  };
}

/** A forward move of a task. Fields left undefined are not touched. */
export interface TaskUpdate {
  readonly status: TaskStatus;
  readonly at: number;
  readonly upstreamId?: string;
  readonly upstreamState?: string;
  readonly videoUrl?: string;
  readonly videoRawUrl?: string;
  readonly thumbnailUrl?: string;
  readonly lastFrameUrl?: string;
  readonly failureReason?: string;
  readonly failureCode?: FailureCode;
  /**
   * The update reports what the upstream said (a callback, an answer, a
   * look-up): it may also revive a task the gateway failed as `unconfirmed`.
   */
  readonly fromUpstream?: boolean;
  /** When the reconciler should next look at the task, if it stays open. */
  readonly checkAfter?: number;
  /** Apply only while the task still has this status (a failed submission must not fail a task a callback moved on). */
  readonly onlyFrom?: TaskStatus;
}

/** The forward move an upstream report asks for (submission answer, callback, reconciler look-up). */
export function updateFromGeneration(generation: UpstreamGeneration & { status: TaskStatus }, at: number): TaskUpdate {
  return {
    status: generation.status,
    at,
    upstreamId: generation.id,
    upstreamState: generation.rawState,
    videoUrl: generation.videoUrl,
    videoRawUrl: generation.videoRawUrl,
    thumbnailUrl: generation.thumbnailUrl,
    lastFrameUrl: generation.lastFrameUrl,
    failureReason: generation.status === 'failed' ? (generation.failureReason ?? 'the upstream reported a failure without a reason') : undefined,
    failureCode: generation.status === 'failed' ? 'upstream_failed' : undefined,
    fromUpstream: true,
  };
}
