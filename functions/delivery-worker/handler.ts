/** Scheduled (EventBridge): delivers the notification messages that are due (retries, deferred first attempts, redeliveries). */
import type { Context } from 'aws-lambda';
import { logger } from '#adapters/logger';
import { deliverDueMessages } from '#domain/deliver-due';
import { workerDeps } from '#functions/wiring';

export async function handler(_event: unknown, context: Context) {
  const summary = await deliverDueMessages({ ...workerDeps(), remainingMs: () => context.getRemainingTimeInMillis() });
  logger.info('delivered due notifications', { ...summary });
  return summary;
}
