/**
 * Where the adapters are plugged into the domain. Each builder runs once per
 * container, on the first request that needs it, from the settings the
 * function's environment carries (functions/settings.ts) and the table names
 * (functions/tables.ts).
 *
 * Every builder is marked pure: esbuild then drops the ones a handler does
 * not call, and with them the clients only they import (the authorizer, say,
 * carries no Secrets Manager client). test/budgets holds that.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createAssetCopyStarter } from '#adapters/asset-worker-invoke';
import { AWS_CALL } from './time-budget';
import { AWS_CLIENT_CONFIG } from '#adapters/aws-client-config';
import { createAssetJobStore } from '#adapters/dynamodb/asset-job-store';
import { createClientStore } from '#adapters/dynamodb/client-store';
import { createDeliveryStore } from '#adapters/dynamodb/delivery-store';
import { documentClient } from '#adapters/dynamodb/document-client';
import { createEndpointStore } from '#adapters/dynamodb/endpoint-store';
import { createMessageStore } from '#adapters/dynamodb/message-store';
import { createTaskStore } from '#adapters/dynamodb/task-store';
import { createUsageStore } from '#adapters/dynamodb/usage-store';
import { deliverToHook } from '#adapters/hook-delivery';
import { logger } from '#adapters/logger';
import { createMediaCopier } from '#adapters/media-copy';
import { createObjectWriter } from '#adapters/s3-objects';
import { createPresigner } from '#adapters/s3-presign';
import { metricSink } from '#adapters/metrics';
import { createSecretCache } from '#adapters/secret-cache';
import { createUpstreamClient } from '#adapters/upstream/http-client';
import type { CallbackDeps } from '#domain/apply-callback';
import { assetJobReaction, type AssetDeps } from '#domain/copy-assets';
import type { AssetLinks } from '#domain/ports';
import { DELIVERY_WORKER_BOUNDS, type WorkerDeps } from '#domain/deliver-due';
import type { AttemptDeps } from '#domain/message-attempt';
import { generationRequestSchema } from '#domain/generation-request';
import type { HookPolicy } from '#domain/hook-url';
import { notificationReaction, type NotifyDeps } from '#domain/notify';
import type { TaskChangeReaction } from '#domain/task-changes';
import type { ReconcileDeps } from '#domain/reconcile';
import { RECOVER_MAX_PER_CALL, type RecoverDeps, type ResendDeps } from '#domain/redeliver';
import type { Lifecycle, SubmitDeps } from '#domain/submit-generation';
import { usageReaction } from '#domain/usage-reaction';
import { crashPoint } from './crash-points';
import { readSettings } from './settings';
import { tableNameFrom, type TableRole } from './tables';
import { AWS_CALL_WORST_MS, SUBMIT_FUNCTION_TIMEOUT_MS } from './time-budget';

export function once<T>(build: () => T): () => T {
  let value: T | undefined;
  let built = false;
  return () => {
    if (!built) {
      value = build();
      built = true;
    }
    return value as T;
  };
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

export const settings = /* @__PURE__ */ once(() => readSettings(process.env));

const tableName = (role: TableRole) => tableNameFrom(process.env, role);

export const taskStore = /* @__PURE__ */ once(() =>
  createTaskStore({ client: documentClient(), tasksTable: tableName('tasks'), idempotencyTable: tableName('idempotency'), usageTable: tableName('usage') }),
);

/** Limits and usage; the retention of a day's usage is read only by the functions that count (usageRetentionDays' readBy). */
export const usageStore = /* @__PURE__ */ once(() =>
  createUsageStore({ client: documentClient(), usageTable: tableName('usage'), retentionDays: () => settings().usageRetentionDays }),
);

export const clientStore = /* @__PURE__ */ once(() => createClientStore({ client: documentClient(), clientsTable: tableName('clients') }));

export const deliveryStore = /* @__PURE__ */ once(() => createDeliveryStore({ client: documentClient(), deliveriesTable: tableName('deliveries') }));

export const messageStore = /* @__PURE__ */ once(() => createMessageStore({ client: documentClient(), messagesTable: tableName('messages') }));

export const endpointStore = /* @__PURE__ */ once(() => createEndpointStore({ client: documentClient(), endpointsTable: tableName('endpoints') }));

export const assetJobStore = /* @__PURE__ */ once(() => createAssetJobStore({ client: documentClient(), assetJobsTable: tableName('assetJobs') }));

/**
 * Presigned links to the stored media, for the functions that hand them out
 * (the assetBucket setting's readers: GET, and the senders of `completed`
 * notifications but the stream consumer, which only releases them to the
 * delivery worker). The local stack's S3 endpoint through AWS_ENDPOINT_URL_S3 (path-style).
 */
export const assetLinks = /* @__PURE__ */ once(
  (): AssetLinks =>
    createPresigner({
      bucket: settings().assetBucket!,
      region: process.env.AWS_REGION ?? 'us-east-1',
      lifetimeSeconds: settings().assetLinkTtlSeconds,
      endpoint: process.env.AWS_ENDPOINT_URL_S3 || undefined,
    }),
);

/** Only the local stack lets hooks use plain http on loopback; the deployed stack never sets it. */
export const hookPolicy = /* @__PURE__ */ once((): HookPolicy => ({ allowLoopbackHttp: settings().allowLoopbackHooks }));

export const lifecycle = /* @__PURE__ */ once(
  (): Lifecycle => ({
    reconcileAfterSeconds: settings().reconcileAfterSeconds,
    deadlineSeconds: settings().taskDeadlineSeconds,
    confirmDeadlineSeconds: settings().confirmDeadlineSeconds,
    retentionDays: settings().taskRetentionDays,
  }),
);

export const upstream = /* @__PURE__ */ once(() =>
  createUpstreamClient({
    baseUrl: settings().upstreamBaseUrl,
    timeoutMs: settings().upstreamTimeoutMs,
    log: logger,
    metrics: metricSink,
    apiKey: createSecretCache({
      client: new SecretsManagerClient(AWS_CLIENT_CONFIG),
      secretId: settings().upstreamSecretId,
      ttlMs: settings().secretCacheTtlSeconds * 1000,
    }),
  }),
);

/** The body schema of extend and create, with this stack's hook policy. */
export const requestSchema = /* @__PURE__ */ once(() => generationRequestSchema(hookPolicy()));

export const submitDeps = /* @__PURE__ */ once(
  (): SubmitDeps => ({
    tasks: taskStore(),
    upstream: upstream(),
    callbackBaseUrl: settings().callbackBaseUrl,
    lifecycle: lifecycle(),
    admission: { retentionDays: settings().usageRetentionDays },
    submitWindowSeconds: Math.ceil(SUBMIT_FUNCTION_TIMEOUT_MS / 1000),
    inFlightWaitMs: 3000,
    now: nowSeconds,
    log: logger,
    metrics: metricSink,
    afterStep: crashPoint,
  }),
);

export const callbackDeps = /* @__PURE__ */ once((): CallbackDeps => ({ tasks: taskStore(), now: nowSeconds, log: logger, metrics: metricSink }));

/** The reconciler's dependencies but its time budget, which comes from each invocation. */
export const reconcileDeps = /* @__PURE__ */ once(
  (): Omit<ReconcileDeps, 'remainingMs'> => ({
    tasks: taskStore(),
    upstream: upstream(),
    now: nowSeconds,
    log: logger,
    metrics: metricSink,
    recheckAfterSeconds: settings().reconcileAfterSeconds,
    confirmDeadlineSeconds: settings().confirmDeadlineSeconds,
    maxTasksPerRun: settings().reconcileMaxTasks,
    concurrency: 4,
    // An upstream call may take its whole timeout; keep room for the writes after it.
    taskBudgetMs: settings().upstreamTimeoutMs + 2 * AWS_CALL_WORST_MS,
  }),
);

/** What every sender of notifications needs (the stream consumer, the delivery worker, a resend). */
const attemptDeps = /* @__PURE__ */ once(
  (): AttemptDeps => ({
    messages: messageStore(),
    deliveries: deliveryStore(),
    endpoints: endpointStore(),
    deliver: deliverToHook,
    policy: hookPolicy(),
    log: logger,
    metrics: metricSink,
    nowMs: Date.now,
    schedule: settings().webhookRetrySchedule,
    disableAfterSeconds: settings().webhookDisableAfterSeconds,
    secretOverlapSeconds: settings().webhookSecretOverlapSeconds,
    retentionDays: settings().taskRetentionDays,
  }),
);

/** The notification reaction's dependencies. */
const notifyDeps = /* @__PURE__ */ once(
  (): NotifyDeps => ({
    ...attemptDeps(),
    clients: clientStore(),
    tasks: taskStore(),
    firstAttemptTimeoutMs: settings().notifyFirstAttemptTimeoutMs,
  }),
);

/** The asset reaction's: the job's table, and the asynchronous start of the asset worker. */
const assetReactionDeps = /* @__PURE__ */ once(() => ({
  jobs: assetJobStore(),
  start: createAssetCopyStarter({ functionName: settings().assetWorkerFunction!, region: process.env.AWS_REGION ?? 'us-east-1', endpoint: process.env.AWS_ENDPOINT_URL_LAMBDA || undefined }),
  retentionDays: settings().taskRetentionDays,
  nowMs: Date.now,
  log: logger,
}));

/**
 * The asset worker's dependencies: the media streamed into the bucket by an
 * S3 client whose requests may wait for the upstream's bytes (an idle
 * socket for up to 30 s; a streamed body is never retried by the SDK), and
 * what releases the `completed` notification afterwards.
 */
export const assetDeps = /* @__PURE__ */ once(
  (): AssetDeps => ({
    jobs: assetJobStore(),
    tasks: taskStore(),
    copy: createMediaCopier({
      writer: createObjectWriter({
        client: new S3Client({
          maxAttempts: AWS_CALL.maxAttempts,
          requestHandler: { connectionTimeout: AWS_CALL.connectionTimeoutMs, requestTimeout: 30_000, throwOnRequestTimeout: true },
          forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3),
        }),
        bucket: settings().assetBucket!,
      }),
    }),
    policy: hookPolicy(),
    maxBytes: settings().assetMaxBytes,
    schedule: settings().assetRetrySchedule,
    notifications: { ...attemptDeps(), links: assetLinks(), clients: clientStore(), firstAttemptTimeoutMs: settings().notifyFirstAttemptTimeoutMs },
    log: logger,
    metrics: metricSink,
    nowMs: Date.now,
  }),
);

/**
 * What the task-change consumer does with each task status change, in
 * order of appearance here (they run side by side; each is idempotent).
 * A new reaction to task changes is one entry, with its needs added to the
 * consumer's in lib/function-needs.ts.
 */
export const taskChangeReactions = /* @__PURE__ */ once((): readonly TaskChangeReaction[] => [
  notificationReaction(notifyDeps()),
  // Completed tasks: their media copied into the gateway's bucket (the asset worker, started per task).
  assetJobReaction(assetReactionDeps()),
  usageReaction({ usage: usageStore(), now: nowSeconds, log: logger }),
]);

/**
 * The delivery worker's dependencies but its time budget. 16 attempts at
 * once, at most 2 of them to one endpoint: a hanging hook holds 2 slots for
 * one attempt timeout per run.
 */
export const workerDeps = /* @__PURE__ */ once(
  (): Omit<WorkerDeps, 'remainingMs'> => ({
    ...attemptDeps(),
    links: assetLinks(),
    clients: clientStore(),
    attemptTimeoutMs: settings().notifyTimeoutMs,
    ...DELIVERY_WORKER_BOUNDS,
  }),
);

export const resendDeps = /* @__PURE__ */ once(
  (): ResendDeps => ({ ...attemptDeps(), links: assetLinks(), clients: clientStore(), firstAttemptTimeoutMs: settings().notifyFirstAttemptTimeoutMs }),
);

export const recoverDeps = /* @__PURE__ */ once((): Omit<RecoverDeps, 'remainingMs'> => ({ messages: messageStore(), nowMs: Date.now, maxPerCall: RECOVER_MAX_PER_CALL }));
