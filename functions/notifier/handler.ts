/** DynamoDB stream consumer: signed notifications to clients' notify_hooks for every status change. */
import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import { ENV, numberEnv } from '#domain/config';
import { logger } from '#domain/logger';
import { notifyStatusChanges, type NotifyDeps } from '#domain/notify';
import { clientStoreFromEnv, deliveryStoreFromEnv, hookPolicyFromEnv, lifecycleFromEnv, once } from '#domain/wiring';

const deps = once((): NotifyDeps => ({
  clients: clientStoreFromEnv(),
  deliveries: deliveryStoreFromEnv(),
  policy: hookPolicyFromEnv(),
  log: logger,
  nowMs: Date.now,
  retryDelaysMs: (process.env[ENV.notifyRetryDelaysMs] ?? '500,2000').split(',').filter(Boolean).map(Number),
  timeoutMs: numberEnv(ENV.notifyTimeoutMs, 5000),
  retentionDays: lifecycleFromEnv().retentionDays,
}));

export async function handler(event: DynamoDBStreamEvent, context: Context) {
  const result = await notifyStatusChanges({ ...deps(), remainingMs: () => context.getRemainingTimeInMillis() }, event.Records);
  if (result.batchItemFailures.length > 0) logger.warn('notifications to retry', { count: result.batchItemFailures.length });
  return result;
}
