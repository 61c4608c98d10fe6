/**
 * The notification reaction of the task-change consumer (task-changes.ts):
 * turns every status change of a task with a notify_hook into one durable
 * notification message (one conditional
 * write, idempotent on the webhook-id), and makes its first attempt at once
 * when nothing stands in the way, so a healthy hook is told without delay.
 * Everything else (retries, endpoints that are failing or disabled,
 * messages waiting behind an earlier one of their task) is left to the
 * delivery worker (deliver-due.ts), so no hook ever holds back the stream:
 *
 * - a first attempt is bounded (firstAttemptTimeoutMs, e.g. 2 s) and made
 *   in parallel across the batch's tasks; it is not made for an endpoint
 *   already failing (its last attempt failed) or disabled, nor while an
 *   earlier message of the task is still pending (order per task);
 * - a replayed record (a retried or bisected batch) finds its message
 *   written and sends nothing: what was done stands;
 * - a record fails (for Lambda to retry) only when its message could not be
 *   written, and then so do the later records of its task, in order.
 */
import { attemptClaimed, leaseMs, type AttemptDeps, type AttemptResult } from './message-attempt';
import { claimedAtCreation, messageSeqOf, newMessage, skippedAtCreation } from './message';
import type { Client, ClientStore, Endpoint } from './ports';
import type { ReactionContext, TaskChange, TaskChangeReaction } from './task-changes';
import { STATUS_RANK, toTaskView } from './task';
import type { MessageState } from './task-status';

export interface NotifyDeps extends AttemptDeps {
  readonly clients: Pick<ClientStore, 'get'>;
  /** Timeout of the first attempt, made at once. */
  readonly firstAttemptTimeoutMs: number;
}

/** What one batch reads once and learns as it goes: clients, endpoints, the state each message was left in. */
class BatchView {
  private readonly clientReads = new Map<string, Promise<Client | undefined>>();
  private readonly endpointReads = new Map<string, Promise<Endpoint>>();
  private readonly failingEndpoints = new Set<string>();
  private readonly states = new Map<string, MessageState | AttemptResult>();
  private readonly turns = new Map<string, Promise<void>>();

  constructor(
    private readonly deps: NotifyDeps,
    readonly context: ReactionContext,
  ) {}

  /** A client's record, read once per batch however many of its tasks changed (a failed read is not shared). */
  async client(clientId: string): Promise<Client | undefined> {
    let read = this.clientReads.get(clientId);
    if (read === undefined) {
      read = this.deps.clients.get(clientId);
      this.clientReads.set(clientId, read);
    }
    try {
      return await read;
    } catch {
      this.clientReads.delete(clientId);
      return this.deps.clients.get(clientId);
    }
  }

  /** A hook URL's endpoint, read (or created) once per batch. */
  async endpoint(clientId: string, url: string): Promise<Endpoint> {
    const key = `${clientId}\n${url}`;
    let read = this.endpointReads.get(key);
    if (read === undefined) {
      read = this.deps.endpoints.ensure(clientId, url, Math.floor(this.deps.nowMs() / 1000));
      this.endpointReads.set(key, read);
      read.catch(() => this.endpointReads.delete(key));
    }
    return read;
  }

  isFailing(endpoint: Endpoint): boolean {
    return endpoint.failing_since !== undefined || this.failingEndpoints.has(`${endpoint.client_id}\n${endpoint.endpoint_id}`);
  }

  markFailing(endpoint: Endpoint): void {
    this.failingEndpoints.add(`${endpoint.client_id}\n${endpoint.endpoint_id}`);
  }

  /**
   * A place in a hook URL's queue of first attempts, taken in stream order:
   * `ready` resolves once every earlier change to that URL in this batch has
   * sent its request (or decided not to); call `done` once this one has.
   * Requests to one hook then leave in the order of the changes, while
   * their answers are awaited in parallel.
   */
  turn(clientId: string, url: string): { ready: Promise<void>; done: () => void } {
    const key = `${clientId}\n${url}`;
    const ready = this.turns.get(key) ?? Promise.resolve();
    let done!: () => void;
    const sent = new Promise<void>((resolve) => (done = resolve));
    this.turns.set(key, ready.then(() => sent));
    return { ready, done };
  }

  stateOf(taskId: string, seq: string) {
    return this.states.get(`${taskId}#${seq}`);
  }

  left(taskId: string, seq: string, state: MessageState | AttemptResult): void {
    this.states.set(`${taskId}#${seq}`, state);
  }
}

/** True when no earlier message of the task is still pending, so this one may go first. */
async function nothingPendingBefore(deps: NotifyDeps, batch: BatchView, { before, after }: TaskChange, seq: string): Promise<boolean> {
  // A task leaving `submitting` had no notification before this one.
  if (STATUS_RANK[before.task_status] === 0 && before.revived_at === undefined) return true;
  // The change before it, in this batch: delivered (so everything before it was done), or not.
  const previous = batch.stateOf(after.task_id, messageSeqOf(before));
  if (previous !== undefined) return previous === 'delivered' || previous === 'exhausted' || previous === 'skipped' || previous === 'refused';
  return !(await deps.messages.pendingBefore(after.task_id, seq));
}

/** One status change: its message written (once), and its first attempt when nothing stands in the way. */
async function enqueueChange(deps: NotifyDeps, batch: BatchView, change: TaskChange): Promise<void> {
  const turn = batch.turn(change.after.owner_id, change.after.notify_hook!);
  try {
    await recordAndAttempt(deps, batch, change, turn);
  } finally {
    turn.done();
  }
}

async function recordAndAttempt(deps: NotifyDeps, batch: BatchView, change: TaskChange, turn: { ready: Promise<void>; done: () => void }): Promise<void> {
  const task = change.after;
  // Read side by side, so the first attempt waits for one round trip before the message's write: the client's
  // secret, the endpoint (created the first time its URL is named), whether an earlier notification is pending.
  const [client, endpoint, nothingBefore] = await Promise.all([
    batch.client(task.owner_id),
    batch.endpoint(task.owner_id, task.notify_hook!),
    nothingPendingBefore(deps, batch, change, messageSeqOf(task)),
  ]);
  if (client === undefined) {
    deps.log.warn('task owner has no client record; notification dropped', { task_id: task.task_id });
    return;
  }
  const nowMs = deps.nowMs();
  const message = newMessage({ task, endpointId: endpoint.endpoint_id, payload: JSON.stringify(toTaskView(task)), nowMs, retentionDays: deps.retentionDays });

  if (endpoint.endpoint_state === 'disabled') {
    const skipped = skippedAtCreation(message, `the endpoint is disabled: ${endpoint.disabled_detail ?? endpoint.disabled_reason ?? ''}`);
    const put = await deps.messages.put(skipped);
    batch.left(task.task_id, message.message_seq, put.created ? 'skipped' : put.existing.message_state);
    return;
  }

  const timeLeft = batch.context.remainingMs() > leaseMs(deps.firstAttemptTimeoutMs);
  const attemptNow = timeLeft && !batch.isFailing(endpoint) && nothingBefore;
  const written = attemptNow ? claimedAtCreation(message, nowMs, nowMs + leaseMs(deps.firstAttemptTimeoutMs)) : message;
  const put = await deps.messages.put(written);
  if (!put.created) {
    // A replayed record: its message exists, and whatever became of it stands (never sent twice from here).
    batch.left(task.task_id, message.message_seq, put.existing.message_state);
    return;
  }
  if (!attemptNow) {
    batch.left(task.task_id, message.message_seq, 'pending');
    return;
  }
  await turn.ready;
  const attempt = attemptClaimed(deps, { previous: written, claim: 1, claimAtMs: nowMs }, { client, endpoint, timeoutMs: deps.firstAttemptTimeoutMs });
  // The request is on its way: the next change to this hook may send its own.
  setImmediate(turn.done);
  const result = await attempt;
  if (result !== 'delivered') batch.markFailing(endpoint);
  batch.left(task.task_id, message.message_seq, result);
}

/**
 * Different tasks in parallel; one task's changes one after another, in
 * stream order. A change whose message cannot be written fails, with the
 * later changes of its task; every other change succeeds whatever the
 * hooks do.
 */
export async function notifyTaskChanges(deps: NotifyDeps, changes: readonly TaskChange[], context: ReactionContext): Promise<ReadonlySet<string>> {
  const batch = new BatchView(deps, context);
  const byTask = new Map<string, TaskChange[]>();
  for (const change of changes) byTask.set(change.after.task_id, [...(byTask.get(change.after.task_id) ?? []), change]);

  const failed = new Set<string>();
  await Promise.all(
    [...byTask.values()].map(async (ofTask) => {
      for (const [index, change] of ofTask.entries()) {
        try {
          await enqueueChange(deps, batch, change);
        } catch (error) {
          deps.log.error('could not record a notification', { task_id: change.after.task_id, error });
          for (const later of ofTask.slice(index)) failed.add(later.sequence);
          return;
        }
      }
    }),
  );
  return failed;
}

/** Status changes of tasks with a notify_hook, told to that hook. */
export function notificationReaction(deps: NotifyDeps): TaskChangeReaction {
  return {
    name: 'notifications',
    wants: (change) => Boolean(change.after.notify_hook),
    react: (changes, context) => notifyTaskChanges(deps, changes, context),
  };
}
