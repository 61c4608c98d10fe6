/**
 * The gateway's one reader of the task table's stream: every task status
 * change, fanned out to the reactions that want it (functions/domain/task-changes.ts;
 * the list is taskChangeReactions in functions/wiring.ts).
 */
import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import { logger } from '#adapters/logger';
import { reactToTaskChanges } from '#domain/task-changes';
import { backgroundHandler } from '#functions/instrumentation';
import { taskChangeReactions } from '#functions/wiring';

export async function reactToStream(event: DynamoDBStreamEvent, context: Context) {
  const result = await reactToTaskChanges(taskChangeReactions(), event.Records, { remainingMs: () => context.getRemainingTimeInMillis() }, logger);
  if (result.batchItemFailures.length > 0) logger.warn('task changes not handled; the stream replays them', { count: result.batchItemFailures.length });
  return result;
}

// Not traced: its outgoing requests go to clients' hooks, whose URLs may be credentials (the Tracer records URLs).
export const handler = backgroundHandler(reactToStream);
