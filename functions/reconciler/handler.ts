/** Scheduled (EventBridge): moves tasks whose callbacks were lost, fails tasks past their deadline. */
import type { Context } from 'aws-lambda';
import { logger } from '#adapters/logger';
import { reconcileOpenTasks } from '#domain/reconcile';
import { backgroundHandler } from '#functions/instrumentation';
import { tracing } from '#functions/tracing';
import { reconcileDeps } from '#functions/wiring';

export async function reconcile(_event: unknown, context: Context) {
  const summary = await reconcileOpenTasks({ ...reconcileDeps(), remainingMs: () => context.getRemainingTimeInMillis() });
  logger.info('reconciled open tasks', { ...summary });
  return summary;
}

export const handler = backgroundHandler(reconcile, { tracing: tracing() });
