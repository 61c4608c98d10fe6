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
import type { AssetJob, AssetSettlement, DueAssetJob } from './asset-job';
import type { AssetKeys, MediaFamily, MediaKind } from './assets';
import type { JobClaim } from './durable-job';
import type { DueMessage, MessageItem } from './message';
import type { TaskItem, TaskStatus, TaskUpdate } from './task';
import type { EndpointDisabledReason, EndpointState, MessageState } from './task-status';
import type { DayUsage, LimitName, LimitsState, TransitionEffect } from './usage';
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

/** Thrown by TaskStore.create when the client's limits refuse the submission: nothing was written. */
export class LimitReached extends ExpectedOutcome {
  override readonly name = 'LimitReached';
  constructor(
    readonly limit: LimitName,
    /** The limits item as it was when it refused. */
    readonly state: LimitsState,
  ) {
    super(`limit reached: ${limit}`);
  }
}

/**
 * A submission's admission: the task takes an open-task slot of its owner
 * and counts as one of the day's submissions, in the transaction that writes
 * it, only while the owner's limits allow (functions/domain/usage.ts).
 */
export interface Admission {
  /** Days a day's usage is kept. */
  readonly retentionDays: number;
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

/** A task's place in the owner index (GET /luma/generations): newest first. */
export interface OwnerTaskKey {
  readonly task_id: string;
  readonly created_at: number;
}

export type AdvanceResult =
  | { readonly applied: true; readonly task: TaskItem }
  /** Not applied: the task is already at this rank or beyond, belongs to another upstream id, or does not exist. */
  | { readonly applied: false; readonly task: TaskItem | undefined };

/** Every task write is one conditional request: state only moves forward, even when updates race. */
export interface TaskStore {
  get(taskId: string): Promise<TaskItem | undefined>;
  /**
   * Writes a new task; with a record, atomically claims its Idempotency-Key
   * too; with an admission, atomically takes its owner's slot (or throws
   * LimitReached, having written nothing). A taken key wins over a limit
   * (IdempotencyKeyTaken): a replay never takes a second slot.
   */
  create(task: TaskItem, idempotency?: IdempotencyRecord, admission?: Admission): Promise<void>;
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
  /**
   * Records where a completed task's media ended (stored, or failed with its
   * reason, and the keys of what is stored), once: only while its
   * asset_state is pending. The task as it is after (written, or as another
   * write left it).
   */
  settleAssets(taskId: string, outcome: AssetOutcome): Promise<TaskItem | undefined>;
  /**
   * An owner's tasks from the owner index, newest first, after `startKey`,
   * created after `createdAfter`: up to `limit` keys, and where to go on
   * (undefined when none are left). The index lags writes slightly.
   */
  ofOwner(ownerId: string, options: { readonly createdAfter?: number; readonly limit: number; readonly startKey?: OwnerTaskKey }): Promise<{ keys: OwnerTaskKey[]; next?: OwnerTaskKey }>;
  /** The tasks of these ids that exist (strongly consistent; at most 100 ids), unprocessed keys read again until `deadlineAt` (unix ms). */
  getMany(taskIds: readonly string[], options?: { readonly deadlineAt?: number }): Promise<Map<string, TaskItem>>;
}

/** Where a completed task's media ended. */
export interface AssetOutcome {
  readonly state: 'stored' | 'failed';
  readonly keys: AssetKeys;
  readonly reason?: string;
  readonly at: number;
}

// --- limits and usage ------------------------------------------------------------------------------

/** A client's limits and usage (the usage table; functions/domain/usage.ts). Counters move only by atomic ADDs. */
export interface UsageStore {
  /** The client's limits and the counters they hold (zeros for a client that never submitted). */
  limits(clientId: string): Promise<LimitsState>;
  /** Sets (a number) or removes (null) each limit given; undefined leaves one as it is. */
  setLimits(clientId: string, change: { readonly maxOpenTasks?: number | null; readonly maxTasksPerDay?: number | null }, at: number): Promise<LimitsState>;
  /** The client's usage of the days from `from` to `to` (YYYY-MM-DD, both included) that have any, oldest first. */
  days(clientId: string, from: string, to: string): Promise<DayUsage[]>;
  /** Counts one transition of a task, once: false when it was counted before (a replayed stream record). */
  count(effect: TransitionEffect, at: number): Promise<boolean>;
}

// --- clients ---------------------------------------------------------------------------------------

export interface Client {
  readonly clientId: string;
  readonly name: string;
  readonly webhookSecret: string;
  /** The secret the last rotation replaced: notifications carry its signature too during the overlap. */
  readonly previousWebhookSecret?: string;
  /** Unix seconds of the last rotation. */
  readonly webhookSecretRotatedAt?: number;
  readonly createdAt: number;
  /** Unix seconds of the last API key rotation. */
  readonly keyRotatedAt?: number;
  /** Unix seconds of its revocation: every key of a revoked client is deleted. */
  readonly revokedAt?: number;
}

/** What a rotation returns: the new secret (shown once) and when the old one stops being used. */
export interface RotatedSecret {
  readonly clientId: string;
  readonly webhookSecret: string;
  readonly rotatedAt: number;
}

/** What creating a client returns: the only time the key is seen. */
export interface NewClient extends Client {
  readonly apiKey: string;
}

/** An API key, as the authorizer finds it by its hash. */
export interface ClientKey {
  readonly clientId: string;
  readonly createdAt: number;
  /** When a rotation replaced it (unix seconds): it is accepted for the overlap after that (clientKeyOverlapSeconds). */
  readonly replacedAt?: number;
}

/** What a key rotation returns: the new key (shown once) and what became of the old ones. */
export interface RotatedKey {
  readonly clientId: string;
  readonly apiKey: string;
  readonly rotatedAt: number;
  /** Keys that were current: accepted for the overlap after rotatedAt (none with keepOld false: deleted at once). */
  readonly replaced: number;
  /** Keys deleted at once: those an earlier rotation had replaced (or every old key, with keepOld false). */
  readonly deleted: number;
}

export interface ClientStore {
  create(name: string, options?: { apiKey?: string; webhookSecret?: string; at?: number }): Promise<NewClient>;
  /** The client id owning this key, or undefined. */
  clientIdForKey(apiKey: string): Promise<string | undefined>;
  /** The key record of this key (one GetItem by its hash), or undefined. */
  keyOf(apiKey: string): Promise<ClientKey | undefined>;
  get(clientId: string): Promise<Client | undefined>;
  /**
   * Issues a new webhook secret; the current one becomes the previous one
   * (signed with as well during the overlap). Undefined for an unknown client.
   */
  rotateWebhookSecret(clientId: string, options?: { webhookSecret?: string; at?: number }): Promise<RotatedSecret | undefined>;
  /** Clients with this name (an admin look-up: reads the whole table). */
  findByName(name: string): Promise<Client[]>;
  /** Every client, with its keys (an admin look-up: reads the whole table), oldest first. */
  list(): Promise<{ readonly client: Client; readonly keys: readonly ClientKey[] }[]>;
  /**
   * Issues a new API key. With keepOld, the current keys stay accepted for
   * the overlap (and keys an earlier rotation replaced are deleted at once);
   * without, every old key is deleted at once. Undefined for an unknown
   * client; a conflict for a revoked one.
   */
  rotateKey(clientId: string, options: { readonly keepOld: boolean; readonly apiKey?: string; readonly at?: number }): Promise<RotatedKey | undefined>;
  /** Revokes a client: deletes every key of it and marks it revoked. Undefined for an unknown client. */
  revoke(clientId: string, at?: number): Promise<{ readonly revokedAt: number; readonly keysDeleted: number; readonly already: boolean } | undefined>;
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
  /** One attempt by its key: did a claim whose message was never settled deliver it? */
  get(taskId: string, attemptId: string): Promise<DeliveryView | undefined>;
  /** The latest attempts of a task, oldest first. */
  list(taskId: string, limit: number): Promise<DeliveryView[]>;
}

export type DeliveryOutcome =
  | { readonly outcome: 'delivered'; readonly httpStatus: number; readonly durationMs: number }
  /** Worth retrying: the hook failed, timed out or answered an error. */
  | {
      readonly outcome: 'failed';
      readonly httpStatus?: number;
      readonly error: string;
      readonly durationMs: number;
      /** The hook's Retry-After header, as it sent it. */
      readonly retryAfter?: string;
    }
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

/** How an attempt of a claimed message ended, as written on the message. */
export type Settlement =
  | { readonly kind: 'delivered'; readonly at: number; readonly httpStatus: number }
  /** Failed; tried again at `dueAtMs`. */
  | { readonly kind: 'retry'; readonly dueAtMs: number; readonly error: string; readonly httpStatus?: number }
  /** Ended without success: no planned attempt left, the endpoint disabled, or the address refused. */
  | { readonly kind: 'exhausted' | 'skipped' | 'refused'; readonly at: number; readonly error: string; readonly httpStatus?: number };

/** A claim: the message as it was before (its last claim included) and the number of this one. */
export type MessageClaim = JobClaim<MessageItem>;

/** Notification messages (functions/domain/message.ts); every write is one conditional request. */
export interface MessageStore {
  /** Writes a new message; a message with its key already there is returned instead (a replayed stream record). */
  put(message: MessageItem): Promise<{ readonly created: true } | { readonly created: false; readonly existing: MessageItem }>;
  get(taskId: string, seq: string): Promise<MessageItem | undefined>;
  /** Every message of a task, in delivery order. */
  ofTask(taskId: string): Promise<MessageItem[]>;
  /** True when a message of the task earlier than `seq` is still pending. */
  pendingBefore(taskId: string, seq: string): Promise<boolean>;
  /** Messages of one index shard due by nowMs, earliest first. */
  due(shard: string, nowMs: number, limit: number): Promise<DueMessage[]>;
  /**
   * Claims a pending message that no attempt holds (and, with requireDue,
   * that is due), leasing it until `leaseUntilMs`; undefined when it is not
   * claimable.
   */
  claim(taskId: string, seq: string, options: { nowMs: number; leaseUntilMs: number; requireDue: boolean }): Promise<MessageClaim | undefined>;
  /** Writes a claim's outcome; false when the claim is no longer the message's latest (another took over). */
  settle(message: MessageItem, claim: number, settlement: Settlement): Promise<boolean>;
  /** Marks a pending message that no attempt holds as skipped (its endpoint is disabled); false when it was not. */
  skip(message: MessageItem, reason: string, nowMs: number): Promise<boolean>;
  /** Moves a pending message that no attempt holds to `dueAtMs` (it waits behind an earlier one). */
  defer(taskId: string, seq: string, dueAtMs: number, nowMs: number): Promise<void>;
  /**
   * Makes a message pending again, due at once with a fresh schedule (a
   * redelivery); with `leaseUntilMs`, claimed in the same write for an
   * attempt made at once; with `onlyFrom`, only from those states. The
   * message as written, or undefined when an attempt holds it (or its
   * state is not one of `onlyFrom`). With `payload`, its body (and the
   * stored media it names) replaced: a waiting `completed` message released.
   */
  requeue(
    taskId: string,
    seq: string,
    options: { nowMs: number; leaseUntilMs?: number; onlyFrom?: readonly MessageState[]; payload?: { readonly body: string; readonly assetKeys?: AssetKeys } },
  ): Promise<MessageItem | undefined>;
  /** Keys of a client's exhausted and skipped messages created at or after `since` (unix seconds), a page at a time. */
  undelivered(
    ownerId: string,
    since: number,
    limit: number,
    startKey?: Record<string, unknown>,
  ): Promise<{ readonly keys: { task_id: string; message_seq: string }[]; readonly next?: Record<string, unknown> }>;
}

/** A client's endpoint: one hook URL, whichever of its tasks names it. */
export interface Endpoint {
  readonly client_id: string;
  readonly endpoint_id: string;
  readonly url: string;
  readonly endpoint_state: EndpointState;
  /** Unix seconds. */
  readonly created_at: number;
  /** Unix seconds of the first of the failed attempts since the last success. */
  readonly failing_since?: number;
  readonly disabled_at?: number;
  readonly disabled_reason?: EndpointDisabledReason;
  readonly disabled_detail?: string;
}

export interface EndpointStore {
  get(clientId: string, endpointId: string): Promise<Endpoint | undefined>;
  /** The endpoint of a hook URL, created (enabled) the first time a task names it. */
  ensure(clientId: string, url: string, at: number): Promise<Endpoint>;
  list(clientId: string): Promise<Endpoint[]>;
  /** After a failed attempt: failing since `at` unless already failing; the endpoint as it is now. */
  recordFailure(clientId: string, endpointId: string, at: number): Promise<Endpoint | undefined>;
  /** After a delivery: no longer failing. */
  recordSuccess(clientId: string, endpointId: string): Promise<void>;
  /** Disables an enabled endpoint; false when it was not enabled (or does not exist). */
  disable(clientId: string, endpointId: string, reason: EndpointDisabledReason, detail: string, at: number): Promise<boolean>;
  /** Enables an endpoint, failing no more; undefined when it does not exist. */
  enable(clientId: string, endpointId: string): Promise<Endpoint | undefined>;
}

// --- stored media ------------------------------------------------------------------------------

/** Asset jobs (asset-job.ts); every write is one conditional request, as for messages (durable-job.ts). */
export interface AssetJobStore {
  /** Writes a new job; one already there for the task is returned instead (a replayed stream record). */
  put(job: AssetJob): Promise<{ readonly created: true } | { readonly created: false; readonly existing: AssetJob }>;
  get(taskId: string): Promise<AssetJob | undefined>;
  /** Claims a pending job that no attempt holds and that is due, leased until `leaseUntilMs`; undefined when it is not claimable. */
  claim(taskId: string, options: { nowMs: number; leaseUntilMs: number }): Promise<JobClaim<AssetJob> | undefined>;
  /** Writes a claim's outcome; false when the claim is no longer the job's latest (another took over). */
  settle(taskId: string, claim: number, settlement: AssetSettlement): Promise<boolean>;
  /** Jobs of one index shard due by nowMs, earliest first. */
  due(shard: string, nowMs: number, limit: number): Promise<DueAssetJob[]>;
}

/** What to copy: one medium from the upstream's link into the bucket. */
export interface MediaCopyRequest {
  readonly url: string;
  readonly key: string;
  readonly kind: MediaKind;
  readonly family: MediaFamily;
  /** The largest accepted, in bytes, whatever the upstream declares. */
  readonly maxBytes: number;
  /** Unix ms by which the copy must be over (it is aborted then, and is worth a retry). */
  readonly deadlineAtMs: number;
  readonly policy: HookPolicy;
}

export type MediaCopyOutcome =
  | { readonly ok: true; readonly bytes: number; readonly contentType: string; readonly durationMs: number }
  /** permanent: a retry cannot help (a refused address, too large, the wrong type, a link the upstream refuses or no longer has). */
  | { readonly ok: false; readonly permanent: boolean; readonly error: string; readonly httpStatus?: number; readonly durationMs: number };

/** Streams one medium from its link into the bucket, with bounded memory; never throws (every failure is an outcome). */
export type MediaCopier = (request: MediaCopyRequest) => Promise<MediaCopyOutcome>;

/** Starts the asset worker on one task without waiting for it (an asynchronous invocation). */
export type AssetCopyStarter = (taskId: string) => Promise<void>;

/** Links to the gateway's stored media: a presigned GET URL per object key, signed afresh at every call. */
export interface AssetLinks {
  /** How long a URL made now works, in seconds. */
  readonly lifetimeSeconds: number;
  url(key: string): Promise<string>;
}

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
