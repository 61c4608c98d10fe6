/** Scheduled (EventBridge): moves tasks whose callbacks were lost, fails tasks past their deadline. */
import type { Context } from 'aws-lambda';
import { ENV, numberEnv } from '#domain/config';
import { logger } from '#domain/logger';
import { reconcileOpenTasks } from '#domain/reconcile';
import { lifecycleFromEnv, nowSeconds, taskStoreFromEnv } from '#domain/wiring';
import { upstreamFromEnv } from '#domain/wiring-upstream';

export async function handler(_event: unknown, context: Context) {
  const summary = await reconcileOpenTasks({
    tasks: taskStoreFromEnv(),
    upstream: upstreamFromEnv(),
    now: nowSeconds,
    log: logger,
    recheckAfterSeconds: lifecycleFromEnv().reconcileAfterSeconds,
    maxTasksPerRun: numberEnv(ENV.reconcileMaxTasks, 100),
    concurrency: 4,
    remainingMs: () => context.getRemainingTimeInMillis(),
    // An upstream call may take its whole timeout; keep room for the writes after it.
    taskBudgetMs: numberEnv(ENV.upstreamTimeoutMs, 10_000) + 3_000,
  });
  logger.info('reconciled open tasks', { ...summary });
  return summary;
}
