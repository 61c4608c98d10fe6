/**
 * DynamoDB stream consumer: every status change of a task with a notify_hook
 * becomes a durable notification message, with a short first attempt; the
 * delivery worker does the rest (functions/domain/notify.ts).
 */
import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import { logger } from '#adapters/logger';
import { notifyStatusChanges } from '#domain/notify';
import { backgroundHandler } from '#functions/instrumentation';
import { notifyDeps } from '#functions/wiring';

export async function notify(event: DynamoDBStreamEvent, context: Context) {
  const result = await notifyStatusChanges({ ...notifyDeps(), remainingMs: () => context.getRemainingTimeInMillis() }, event.Records);
  if (result.batchItemFailures.length > 0) logger.warn('notifications not recorded; the stream retries them', { count: result.batchItemFailures.length });
  return result;
}

// Not traced: its outgoing requests go to clients' hooks, whose URLs may be credentials (the Tracer records URLs).
export const handler = backgroundHandler(notify);
