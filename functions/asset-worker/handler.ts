/**
 * The asset worker: copies a completed task's media into the gateway's
 * bucket (functions/domain/copy-assets.ts). Invoked asynchronously per task
 * by the task-changes consumer (`{ task_id }`), and on a schedule to run the
 * jobs that are due (retries, and first runs whose invocation was lost).
 */
import type { Context } from 'aws-lambda';
import type { AssetWorkerEvent } from '#adapters/asset-worker-invoke';
import { logger } from '#adapters/logger';
import { copyAssetsOf, sweepDueAssetJobs } from '#domain/copy-assets';
import { backgroundHandler } from '#functions/instrumentation';
import { assetDeps } from '#functions/wiring';

/**
 * The scheduled sweep's bounds: jobs copied per run, at once, and at once for one client; and how long a run takes
 * new jobs (about its schedule's interval, so runs do not pile up; a copy started in time has the rest of the timeout).
 */
export const ASSET_SWEEP_BOUNDS = { maxJobsPerRun: 50, concurrency: 4, perClientConcurrency: 1, startJobsForMs: 60_000 } as const;

export async function copyAssets(event: Partial<AssetWorkerEvent>, context: Context) {
  const remainingMs = () => context.getRemainingTimeInMillis();
  if (typeof event.task_id === 'string') {
    const result = await copyAssetsOf(assetDeps(), event.task_id, { budgetMs: remainingMs() - 1000, remainingMs });
    logger.info('asset copy run', { task_id: event.task_id, result });
    return { result };
  }
  const summary = await sweepDueAssetJobs({ ...assetDeps(), ...ASSET_SWEEP_BOUNDS, remainingMs });
  logger.info('swept due asset jobs', { ...summary });
  return summary;
}

// Not traced: its requests go to the upstream's media links, which are credentials while they last (presigned).
export const handler = backgroundHandler(copyAssets);
