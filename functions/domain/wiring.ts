/**
 * Builds the domain's dependencies from the environment, once per container
 * and only when the first request needs them.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ENV, numberEnv, requireEnv } from './config';
import { documentClient } from './dynamo';
import { createSecretCache } from './secret-cache';
import { logger } from './logger';
import { generationRequestSchema } from './schemas';
import type { Lifecycle, SubmitDeps } from './submit-generation';
import { createTaskStore, type TaskStore } from './task-store';
import { createUpstreamClient, type UpstreamClient } from './upstream-client';
import { createClientStore, type ClientStore } from './client-store';
import { createDeliveryStore, type DeliveryStore } from './delivery-store';

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

export const taskStoreFromEnv = once((): TaskStore =>
  createTaskStore({
    client: documentClient(),
    tasksTable: requireEnv(ENV.tasksTable),
    idempotencyTable: requireEnv(ENV.idempotencyTable),
  }),
);

export const clientStoreFromEnv = once((): ClientStore =>
  createClientStore({ client: documentClient(), clientsTable: requireEnv(ENV.clientsTable) }),
);

export const upstreamFromEnv = once((): UpstreamClient =>
  createUpstreamClient({
    baseUrl: requireEnv(ENV.upstreamBaseUrl),
    timeoutMs: numberEnv(ENV.upstreamTimeoutMs, 10_000),
    apiKey: createSecretCache({
      client: new SecretsManagerClient({}),
      secretId: requireEnv(ENV.upstreamSecretId),
      ttlMs: numberEnv(ENV.secretCacheTtlSeconds, 300) * 1000,
    }),
  }),
);

export const deliveryStoreFromEnv = once((): DeliveryStore =>
  createDeliveryStore({ client: documentClient(), deliveriesTable: requireEnv(ENV.deliveriesTable) }),
);

/** Only the local stack lets hooks use plain http on loopback; the deployed stack never sets this. */
export const hookPolicyFromEnv = once(() => ({ allowLoopbackHttp: process.env[ENV.allowLoopbackHooks] === 'true' }));

export const lifecycleFromEnv = once((): Lifecycle => ({
  reconcileAfterSeconds: numberEnv(ENV.reconcileAfterSeconds, 300),
  deadlineSeconds: numberEnv(ENV.taskDeadlineSeconds, 2 * 60 * 60),
  retentionDays: numberEnv(ENV.taskRetentionDays, 90),
}));

export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The request body schema; only the local stack lets hooks use plain http on loopback. */
export const generationRequestSchemaFromEnv = once(() => generationRequestSchema(hookPolicyFromEnv()));

export const submitDepsFromEnv = once((): SubmitDeps => ({
  tasks: taskStoreFromEnv(),
  upstream: upstreamFromEnv(),
  callbackBaseUrl: requireEnv(ENV.callbackBaseUrl),
  lifecycle: lifecycleFromEnv(),
  now: nowSeconds,
  log: logger,
}));
