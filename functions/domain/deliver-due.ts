/**
 * The delivery worker: drains the sparse index of notification messages
 * due for an attempt (first attempts the stream consumer left to it,
 * retries on the schedule, redeliveries, attempts whose claim lapsed), on a
 * schedule, like the reconciler.
 *
 * Order per task: only a task's oldest pending message is attempted; a
 * later one found due waits for it (moved to the earlier one's due time),
 * and is attempted in the same run as soon as the earlier one is delivered.
 *
 * Isolation between clients: attempts to one endpoint (one hook URL) are at
 * most `perEndpointConcurrency` at a time out of the run's `concurrency`,
 * each bounded by `attemptTimeoutMs`, and an endpoint that fails an attempt
 * gets no other attempt in the same run; so a hanging hook holds at most
 * that many slots for one timeout per run, while every other endpoint's
 * messages go through. No attempt starts that could not end (and be
 * recorded) within the invocation.
 */
import { DUE_MESSAGE_SHARDS } from '../tables';
import { dueAcrossShards } from './durable-job';
import { workFairly } from './fair-share';
import { claimAndAttempt, leaseMs, type AttemptDeps, type AttemptResult } from './message-attempt';
import type { DueMessage, MessageItem } from './message';
import type { Client, ClientStore, Endpoint } from './ports';

/** The deployed worker's bounds (functions/wiring.ts; docs/stream-contract.md states them). */
export const DELIVERY_WORKER_BOUNDS = { maxMessagesPerRun: 400, concurrency: 16, perEndpointConcurrency: 2 } as const;

export interface WorkerDeps extends AttemptDeps {
  readonly clients: Pick<ClientStore, 'get'>;
  /** Timeout of one attempt. */
  readonly attemptTimeoutMs: number;
  /** Most messages looked at in one run. */
  readonly maxMessagesPerRun: number;
  /** Attempts in flight at once. */
  readonly concurrency: number;
  /** Attempts in flight at once to one endpoint. */
  readonly perEndpointConcurrency: number;
  /** Milliseconds left in this invocation. */
  readonly remainingMs?: () => number;
}

export interface WorkerSummary {
  /** Due messages found. */
  due: number;
  attempted: number;
  delivered: number;
  /** Failed, tried again later. */
  retried: number;
  exhausted: number;
  /** Not sent: the endpoint is disabled (or its client gone). */
  skipped: number;
  refused: number;
  /** Waiting behind an earlier message of their task. */
  waiting: number;
  /** Store errors (the message is looked at again in a later run). */
  errors: number;
  /** The invocation was running out of time: the run stopped early. */
  outOfTime: boolean;
}

/** The due message of each task that comes first (a task's later messages wait for it anyway). */
function firstPerTask(due: readonly DueMessage[]): DueMessage[] {
  const first = new Map<string, DueMessage>();
  for (const message of due) {
    const seen = first.get(message.task_id);
    if (seen === undefined || message.message_seq < seen.message_seq) first.set(message.task_id, message);
  }
  return [...first.values()];
}

export async function deliverDueMessages(deps: WorkerDeps): Promise<WorkerSummary> {
  const nowMs = deps.nowMs();
  const summary: WorkerSummary = { due: 0, attempted: 0, delivered: 0, retried: 0, exhausted: 0, skipped: 0, refused: 0, waiting: 0, errors: 0, outOfTime: false };

  const due = await dueAcrossShards(DUE_MESSAGE_SHARDS, deps.maxMessagesPerRun, deps.random ?? Math.random, (shard, limit) => deps.messages.due(shard, nowMs, limit));
  summary.due = due.length;

  const clients = new Map<string, Promise<Client | undefined>>();
  const endpoints = new Map<string, Promise<Endpoint>>();
  const clientOf = (id: string) => {
    if (!clients.has(id)) clients.set(id, deps.clients.get(id));
    return clients.get(id)!;
  };
  const endpointOf = (message: MessageItem) => {
    const key = `${message.owner_id}\n${message.endpoint_id}`;
    if (!endpoints.has(key)) endpoints.set(key, deps.endpoints.ensure(message.owner_id, message.hook_url, Math.floor(nowMs / 1000)));
    return endpoints.get(key)!;
  };
  const failedEndpoints = new Set<string>();
  /** Disabled during this run (a 410, or failing too long): their other messages are skipped at once. */
  const disabledEndpoints = new Set<string>();
  const timeLeft = () => (deps.remainingMs?.() ?? Infinity) > leaseMs(deps.attemptTimeoutMs);

  const count = (result: AttemptResult | 'not-claimed') => {
    if (result === 'not-claimed' || result === 'lost') return;
    summary.attempted += 1;
    const field = ({ delivered: 'delivered', retry: 'retried', exhausted: 'exhausted', skipped: 'skipped', refused: 'refused' } as const)[result];
    summary[field] += 1;
  };

  /** Skips every pending message of a task (its endpoint is disabled, or its client gone). */
  const skipAll = async (messages: readonly MessageItem[], reason: string) => {
    for (const message of messages.filter((m) => m.message_state === 'pending')) {
      if (await deps.messages.skip(message, reason, deps.nowMs())) summary.skipped += 1;
    }
  };

  /** One task: its oldest pending message, then (while delivered) the next ones. */
  const deliverTask = async (candidate: DueMessage, endpointKey: string) => {
    const messages = await deps.messages.ofTask(candidate.task_id);
    const pending = messages.filter((m) => m.message_state === 'pending');
    const head = pending[0];
    if (head === undefined) return; // settled meanwhile
    if ((head.due_at_ms ?? 0) > nowMs) {
      // The earlier message is not due (or an attempt holds it): the later ones wait for it.
      for (const later of pending.slice(1).filter((m) => (m.due_at_ms ?? 0) <= nowMs)) {
        await deps.messages.defer(later.task_id, later.message_seq, head.due_at_ms!, nowMs);
        summary.waiting += 1;
      }
      return;
    }
    const client = await clientOf(head.owner_id);
    if (client === undefined) return skipAll(messages, 'the client no longer exists');
    for (const [index, message] of pending.entries()) {
      const endpoint = await endpointOf(message);
      if (endpoint.endpoint_state === 'disabled' || disabledEndpoints.has(endpointKey)) {
        return skipAll(pending.slice(index), `the endpoint is disabled: ${endpoint.disabled_detail ?? endpoint.disabled_reason ?? 'during this run'}`);
      }
      if (failedEndpoints.has(endpointKey)) return;
      if (!timeLeft()) {
        summary.outOfTime = true;
        return;
      }
      // The head is due; the ones after it were waiting for it, so they go now, claimed whatever their due time.
      const result = await claimAndAttempt(deps, message, { client, endpoint, timeoutMs: deps.attemptTimeoutMs }, { requireDue: index === 0 });
      count(result);
      if (result === 'skipped') {
        disabledEndpoints.add(endpointKey);
        return skipAll(pending.slice(index + 1), 'the endpoint is disabled');
      }
      if (result !== 'delivered') {
        if (result !== 'not-claimed') failedEndpoints.add(endpointKey);
        return;
      }
    }
  };

  // Per endpoint, its tasks in turn, at most perEndpointConcurrency at once; a failing endpoint gets no other attempt
  // this run (a disabled one's messages are all skipped).
  await workFairly(
    firstPerTask(due),
    (candidate) => `${candidate.owner_id}\n${candidate.endpoint_id}`,
    {
      concurrency: deps.concurrency,
      perKey: deps.perEndpointConcurrency,
      goOn: (key) => (!failedEndpoints.has(key) || disabledEndpoints.has(key)) && !summary.outOfTime,
    },
    async (candidate, key) => {
      try {
        await deliverTask(candidate, key);
      } catch (error) {
        summary.errors += 1;
        deps.log.error('could not deliver a due notification', { task_id: candidate.task_id, error });
      }
    },
  );
  return summary;
}
