/** Scheduled (EventBridge): delivers the notification messages that are due (retries, deferred first attempts, redeliveries). */
import type { Context } from 'aws-lambda';
import { logger } from '#adapters/logger';
import { deliverDueMessages } from '#domain/deliver-due';
import { backgroundHandler } from '#functions/instrumentation';
import { workerDeps } from '#functions/wiring';

export async function deliverDue(_event: unknown, context: Context) {
  const summary = await deliverDueMessages({ ...workerDeps(), remainingMs: () => context.getRemainingTimeInMillis() });
  logger.info('delivered due notifications', { ...summary });
  return summary;
}

// Not traced, as the task-changes consumer: its requests go to clients' hooks, whose URLs may be credentials (the Tracer records URLs).
export const handler = backgroundHandler(deliverDue);
