/**
 * The task lifecycle: statuses, their rank, and how upstream spellings map
 * onto them. State only moves to a higher rank (see task-store.ts).
 */
export const TASK_STATUSES = ['submitting', 'pending', 'processing', 'completed', 'failed'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

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

export type TaskKind = 'extend' | 'create';

/** The task item as stored in the tasks table (schema version 1). */
export interface TaskItem {
  task_id: string;
  schema_version: 1;
  kind: TaskKind;
  owner_id: string;
  task_status: TaskStatus;
  status_rank: number;
  /** The last upstream state seen, as the upstream spelled it. */
  upstream_state?: string;
  /** Private: the upstream's generation id. Never returned to clients. */
  upstream_id?: string;
  /** The id the client asked to extend (a gateway task id or an upstream id). */
  parent_task_id?: string;
  /** Private: the upstream id of the parent, as sent upstream. */
  parent_upstream_id?: string;
  prompt: string;
  expand_prompt?: boolean;
  image_url?: string;
  image_end_url?: string;
  notify_hook?: string;
  /** Private: sha256 of the callback token's secret part. */
  callback_token_hash: string;
  video_url?: string;
  video_raw_url?: string;
  thumbnail_url?: string;
  last_frame_url?: string;
  failure_reason?: string;
  created_at: number;
  updated_at: number;
  /** Unix seconds after which the reconciler fails the task. */
  deadline_at: number;
  /** Sparse open-task index: present only while the task is open. */
  open_shard?: string;
  check_after?: number;
  /** DynamoDB TTL. */
  expires_at: number;
}

/** What GET returns and what a client's notify_hook receives. */
export interface TaskView {
  task_id: string;
  task_status: TaskStatus;
  parent_task_id: string | null;
  prompt: string;
  video_url: string | null;
  thumbnail_url: string | null;
  last_frame_url: string | null;
  failure_reason: string | null;
  created_at: number;
  updated_at: number;
}

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
    created_at: task.created_at,
    updated_at: task.updated_at,
  };
}
