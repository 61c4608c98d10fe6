/** Scheduled (EventBridge): moves tasks whose callbacks were lost, fails tasks past their deadline. */
import { ENV, numberEnv } from '#domain/config';
import { logger } from '#domain/logger';
import { reconcileOpenTasks } from '#domain/reconcile';
import { lifecycleFromEnv, nowSeconds, taskStoreFromEnv, upstreamFromEnv } from '#domain/wiring';

export async function handler() {
  const summary = await reconcileOpenTasks({
    tasks: taskStoreFromEnv(),
    upstream: upstreamFromEnv(),
    now: nowSeconds,
    log: logger,
    recheckAfterSeconds: lifecycleFromEnv().reconcileAfterSeconds,
    maxTasksPerRun: numberEnv(ENV.reconcileMaxTasks, 100),
    concurrency: 4,
  });
  logger.info('reconciled open tasks', { ...summary });
  return summary;
}
