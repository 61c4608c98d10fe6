/**
 * The `completed` notification of a task whose media the gateway copies
 * into its own bucket (issue 10): a client told "completed" can download
 * at once, from the gateway's storage.
 *
 * - the notification reaction (notify.ts) writes it `waiting`: out of the
 *   due index, so nothing sends it yet;
 * - once the media are settled (stored, or failed for good) the asset
 *   worker (copy-assets.ts) releases it: its payload becomes the task as it
 *   is then (asset_state, asset_failure_reason), naming the stored media,
 *   which every attempt links with freshly presigned URLs (assets.ts
 *   bodyAtAttempt); it is made pending with a fresh retry schedule and
 *   attempted at once when nothing stands in the way (the first attempt),
 *   else the delivery worker sends it;
 * - the copy may end before the reaction wrote the message: the reaction
 *   then reads the task after its write and releases the message itself
 *   (to the delivery worker). Both sides write first and read after, with
 *   consistent reads, so at least one of them sees the other's write.
 *
 * Idempotent: only a waiting message is released (one conditional write),
 * so a second release, a replay or a second run does nothing.
 */
import { attemptClaimed, leaseMs, type AttemptDeps } from './message-attempt';
import { messageSeqOf } from './message';
import type { ClientStore } from './ports';
import { toTaskView, type TaskItem } from './task';

export interface ReleaseDeps extends AttemptDeps {
  readonly clients: Pick<ClientStore, 'get'>;
  /** Timeout of the first attempt, made at once. */
  readonly firstAttemptTimeoutMs: number;
}

/** A completed task whose notification waits for its media's copy. */
export function waitsForAssets(task: Pick<TaskItem, 'task_status' | 'asset_state'>): boolean {
  return task.task_status === 'completed' && task.asset_state === 'pending';
}

/**
 * Releases the waiting `completed` notification of a task whose media are
 * settled; 'not-waiting' when there is none (no hook, not written yet,
 * already released). With `attempt`, the first attempt is made at once when
 * the endpoint is healthy, no earlier notification of the task is pending
 * and the attempt and its writes fit in `remainingMs`.
 */
export async function releaseCompletedNotification(
  deps: ReleaseDeps,
  task: TaskItem,
  { attempt, remainingMs = () => Infinity }: { attempt: boolean; remainingMs?: () => number },
): Promise<'released' | 'not-waiting'> {
  if (!task.notify_hook || task.asset_state === undefined || task.asset_state === 'pending') return 'not-waiting';
  const seq = messageSeqOf(task);
  const message = await deps.messages.get(task.task_id, seq);
  if (message?.message_state !== 'waiting') return 'not-waiting';
  const [client, endpoint, earlierPending] = attempt
    ? await Promise.all([deps.clients.get(task.owner_id), deps.endpoints.get(message.owner_id, message.endpoint_id), deps.messages.pendingBefore(task.task_id, seq)])
    : [undefined, undefined, true];
  const nowMs = deps.nowMs();
  const lease = leaseMs(deps.firstAttemptTimeoutMs);
  const healthy = endpoint !== undefined && endpoint.endpoint_state === 'enabled' && endpoint.failing_since === undefined;
  const attemptNow = client !== undefined && healthy && !earlierPending && remainingMs() > lease;
  const released = await deps.messages.requeue(task.task_id, seq, {
    nowMs,
    onlyFrom: ['waiting'],
    payload: { body: JSON.stringify(toTaskView(task)), assetKeys: task.asset_keys },
    ...(attemptNow && { leaseUntilMs: nowMs + lease }),
  });
  if (released === undefined) return 'not-waiting';
  if (attemptNow) {
    await attemptClaimed(deps, { previous: released, claim: released.claims, claimAtMs: nowMs }, { client: client!, endpoint: endpoint!, timeoutMs: deps.firstAttemptTimeoutMs });
  }
  return 'released';
}
