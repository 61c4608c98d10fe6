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
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AWS_CLIENT_CONFIG } from '#adapters/aws-client-config';
import { createClientStore } from '#adapters/dynamodb/client-store';
import { createDeliveryStore } from '#adapters/dynamodb/delivery-store';
import { documentClient } from '#adapters/dynamodb/document-client';
import { createEndpointStore } from '#adapters/dynamodb/endpoint-store';
import { createMessageStore } from '#adapters/dynamodb/message-store';
import { createTaskStore } from '#adapters/dynamodb/task-store';
import { createUsageStore } from '#adapters/dynamodb/usage-store';
import { deliverToHook } from '#adapters/hook-delivery';
import { logger } from '#adapters/logger';
import { metricSink } from '#adapters/metrics';
import { createSecretCache } from '#adapters/secret-cache';
import { createUpstreamClient } from '#adapters/upstream/http-client';
import type { CallbackDeps } from '#domain/apply-callback';
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
    firstAttemptTimeoutMs: settings().notifyFirstAttemptTimeoutMs,
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
    clients: clientStore(),
    attemptTimeoutMs: settings().notifyTimeoutMs,
    ...DELIVERY_WORKER_BOUNDS,
  }),
);

export const resendDeps = /* @__PURE__ */ once(
  (): ResendDeps => ({ ...attemptDeps(), clients: clientStore(), firstAttemptTimeoutMs: settings().notifyFirstAttemptTimeoutMs }),
);

export const recoverDeps = /* @__PURE__ */ once((): Omit<RecoverDeps, 'remainingMs'> => ({ messages: messageStore(), nowMs: Date.now, maxPerCall: RECOVER_MAX_PER_CALL }));
