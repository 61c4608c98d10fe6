/**
 * What the domain needs from the outside world, as small interfaces (ports).
 * The use cases (submit-generation, apply-callback, reconcile, notify) take
 * them as arguments; functions/adapters implements them (DynamoDB, the
 * upstream's HTTP API, Secrets Manager, HTTPS delivery to hooks) and
 * functions/wiring.ts plugs the adapters in. Tests pass real adapters
 * against DynamoDB Local and loopback servers, or small fakes to force faults.
 */
// Types only: the metric contract's names and units, nothing of it in a bundle.
import type { BreakdownOf, GatewayMetricName, GatewayMetricOfUnit } from '../../lib/gateway-metrics';
import { ExpectedOutcome } from './errors';
import type { GenerationRequest } from './generation-request';
import type { HookPolicy } from './hook-url';
import type { TaskItem, TaskStatus, TaskUpdate } from './task';
import type { DeliveryView } from './views';

export type { DeliveryView };

// --- logging ---------------------------------------------------------------------------------------

/** What the domain needs of a logger; Powertools' Logger satisfies it, tests pass a silent one. */
export interface LogSink {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
  /**
   * Keys every later line of this invocation carries (the task id, once a
   * submission has one). Only where one invocation handles one task: work
   * on several tasks at once passes its keys on each line instead.
   */
  appendKeys(keys: Record<string, string | undefined>): void;
}

export const silentLog: LogSink = { info: () => {}, warn: () => {}, error: () => {}, appendKeys: () => {} };

// --- metrics ---------------------------------------------------------------------------------------

/** Metrics that take a breakdown (an extra dimension set), and those that do not. */
type WithBreakdown<N extends GatewayMetricName> = BreakdownOf<N> extends never ? [] : [by?: BreakdownOf<N>];

/**
 * What the domain and the adapters tell of what the gateway does, by the
 * names of the metric contract (lib/gateway-metrics.ts, whose alarms read
 * them): Powertools Metrics implements it (functions/adapters/metrics.ts),
 * flushed once per invocation; tests pass a recording one.
 */
export interface MetricSink {
  /** Adds `value` (1) to a Count metric; with `by`, also under that breakdown. */
  count<N extends GatewayMetricOfUnit<'Count'>>(name: N, value?: number, ...by: WithBreakdown<N>): void;
  milliseconds(name: GatewayMetricOfUnit<'Milliseconds'>, value: number): void;
  seconds(name: GatewayMetricOfUnit<'Seconds'>, value: number): void;
}

export const silentMetrics: MetricSink = { count: () => {}, milliseconds: () => {}, seconds: () => {} };

// --- tasks -----------------------------------------------------------------------------------------

/** An Idempotency-Key record, written in the same transaction as its task. */
export interface IdempotencyRecord {
  readonly pk: string;
  readonly fingerprint: string;
  readonly task_id: string;
  readonly created_at: number;
  readonly expires_at: number;
}

/** Thrown by TaskStore.create when the Idempotency-Key is already held (by `record`, if it is still there). */
export class IdempotencyKeyTaken extends ExpectedOutcome {
  override readonly name = 'IdempotencyKeyTaken';
  constructor(readonly record: IdempotencyRecord | undefined) {
    super('Idempotency-Key already used');
  }
}

/** An open task as the sparse open-task index projects it. */
export interface OpenTask {
  readonly task_id: string;
  readonly task_status: TaskStatus;
  readonly upstream_id?: string;
  readonly owner_id: string;
  readonly created_at: number;
  readonly deadline_at: number;
  readonly check_after: number;
}

export type AdvanceResult =
  | { readonly applied: true; readonly task: TaskItem }
  /** Not applied: the task is already at this rank or beyond, belongs to another upstream id, or does not exist. */
  | { readonly applied: false; readonly task: TaskItem | undefined };

/** Every task write is one conditional request: state only moves forward, even when updates race. */
export interface TaskStore {
  get(taskId: string): Promise<TaskItem | undefined>;
  /** Writes a new task; with a record, atomically claims its Idempotency-Key too. */
  create(task: TaskItem, idempotency?: IdempotencyRecord): Promise<void>;
  getIdempotencyRecord(pk: string): Promise<IdempotencyRecord | undefined>;
  advance(taskId: string, update: TaskUpdate): Promise<AdvanceResult>;
  /**
   * Fails a submission the upstream refused and frees its Idempotency-Key,
   * both in one write and only while the update's condition holds (the task
   * is still `submitting`); false when it did not (a callback moved it on).
   */
  failSubmission(taskId: string, update: TaskUpdate, idempotencyPk?: string): Promise<boolean>;
  /** Marks a `submitting` task whose submission outcome was lost, and when the reconciler next looks at it. */
  markUnconfirmed(taskId: string, at: number, checkAfter: number): Promise<void>;
  /** Records the upstream id when nothing recorded one yet (a callback may have). */
  attachUpstreamId(taskId: string, upstreamId: string, at: number): Promise<void>;
  /** Keeps an upstream state the gateway does not know, without moving the task. */
  recordUpstreamState(taskId: string, upstreamId: string, upstreamState: string, at: number): Promise<boolean>;
  /** Open tasks of one index shard whose check is due, oldest check first. */
  dueForCheck(shard: string, now: number, limit: number): Promise<OpenTask[]>;
  /** Sets when the reconciler next looks at an open task (no-op once it is closed). */
  deferCheck(taskId: string, checkAfter: number): Promise<void>;
}

// --- clients ---------------------------------------------------------------------------------------

export interface Client {
  readonly clientId: string;
  readonly name: string;
  readonly webhookSecret: string;
  readonly createdAt: number;
}

/** What creating a client returns: the only time the key is seen. */
export interface NewClient extends Client {
  readonly apiKey: string;
}

export interface ClientStore {
  create(name: string, options?: { apiKey?: string; webhookSecret?: string; at?: number }): Promise<NewClient>;
  /** The client id owning this key, or undefined. */
  clientIdForKey(apiKey: string): Promise<string | undefined>;
  get(clientId: string): Promise<Client | undefined>;
}

// --- notifications ---------------------------------------------------------------------------------

/** An attempt as stored: what the client sees of it (views.ts), plus its sort key and TTL. */
export interface DeliveryAttempt extends Readonly<DeliveryView> {
  /** Sorts attempts in time order: `<attempted_at ms>#<webhook id>#<attempt>`. */
  readonly attempt_id: string;
  readonly expires_at: number;
}

/** Every notification attempt, so a client can see what was sent to its hook and how the hook answered. */
export interface DeliveryStore {
  record(attempt: DeliveryAttempt): Promise<void>;
  /** The latest attempts of a task, oldest first. */
  list(taskId: string, limit: number): Promise<DeliveryView[]>;
}

export type DeliveryOutcome =
  | { readonly outcome: 'delivered'; readonly httpStatus: number; readonly durationMs: number }
  /** Worth retrying: the hook failed, timed out or answered an error. */
  | { readonly outcome: 'failed'; readonly httpStatus?: number; readonly error: string; readonly durationMs: number }
  /** Never retried: the hook points somewhere the gateway must not go. */
  | { readonly outcome: 'refused'; readonly error: string; readonly durationMs: number };

export interface DeliveryRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly timeoutMs: number;
  readonly policy: HookPolicy;
  /** Resolves a host name to its addresses (tests pass a fixed resolver). */
  readonly resolve?: (host: string) => Promise<{ address: string; family: number }[]>;
}

/** Sends one notification to a client's hook; never throws (every failure is an outcome). */
export type HookSender = (request: DeliveryRequest) => Promise<DeliveryOutcome>;

// --- the upstream ----------------------------------------------------------------------------------

/** What the upstream receives for a submission: the client's request, with the gateway's own callback URL as notify_hook. */
export type UpstreamSubmission = Omit<GenerationRequest, 'notify_hook'> & { readonly notify_hook: string };

/** What the upstream reported of a generation, in either of its shapes, normalised. */
export interface UpstreamGeneration {
  /** The upstream's generation id. */
  readonly id: string;
  /** The state as the upstream spelled it. */
  readonly rawState?: string;
  /**
   * The gateway status it maps onto; undefined for an unknown spelling.
   * `completed` without a video URL is reported as `processing`: not final.
   */
  readonly status?: TaskStatus;
  readonly videoUrl?: string;
  readonly videoRawUrl?: string;
  readonly thumbnailUrl?: string;
  readonly lastFrameUrl?: string;
  readonly failureReason?: string;
  /** Unix seconds. */
  readonly updatedAt?: number;
}

/** A report from the upstream (answer or callback body), read: a generation, or what was wrong with it. */
export type UpstreamReport = { ok: true; generation: UpstreamGeneration } | { ok: false; problem: string };

export interface UpstreamCallOptions {
  /** Unix ms by which the call must be over, key refresh included (the caller's time budget). */
  readonly deadlineAt?: number;
  /** Sent as X-Request-Id, so the upstream's logs can be matched to the gateway's. */
  readonly requestId?: string;
  /** The task the call is about: on the call's log line (the reconciler looks up several at once). */
  readonly taskId?: string;
}


/**
 * The upstream video API. Every failure is an UpstreamError whose `outcome`
 * says whether the upstream definitely created nothing (`refused`) or may
 * have (`unknown`).
 */
export interface UpstreamClient {
  /** Extends `parentUpstreamId`, or creates a new video when it is undefined. */
  submit(parentUpstreamId: string | undefined, submission: UpstreamSubmission, options?: UpstreamCallOptions): Promise<UpstreamGeneration>;
  getGeneration(upstreamId: string, options?: UpstreamCallOptions): Promise<UpstreamGeneration>;
}

/** A secret read from somewhere (Secrets Manager), cached; refresh() reads it again at once. */
export interface SecretSource {
  get(): Promise<string>;
  refresh(): Promise<string>;
}
