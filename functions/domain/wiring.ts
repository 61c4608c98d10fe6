/**
 * Builds the domain's dependencies from the environment, once per container
 * and only when the first request needs them.
 *
 * Split by what a function needs, so each bundle carries only that (esbuild
 * keeps every module a handler imports, used or not):
 *   wiring.ts           the stores (DynamoDB) and settings: every function
 *   wiring-upstream.ts  the upstream client and its key (Secrets Manager): reconciler, submitters
 *   wiring-submit.ts    the request schema and submit pipeline: extend, create
 */
import { ENV, numberEnv, requireEnv } from './config';
import { documentClient } from './dynamo';
import type { Lifecycle } from './submit-generation';
import { createTaskStore, type TaskStore } from './task-store';
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
