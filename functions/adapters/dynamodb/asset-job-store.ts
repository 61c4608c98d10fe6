/**
 * Asset jobs (AssetJobStore, functions/domain/ports.ts) on DynamoDB, as
 * durable jobs (durable-jobs.ts): written once per task, claimed by one
 * attempt at a time, settled only by the claim that holds it, in the sparse
 * due index exactly while pending.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AssetJob, DueAssetJob } from '#domain/asset-job';
import type { AssetJobStore } from '#domain/ports';
import { DUE_ASSET_JOBS_INDEX } from '../../tables';
import { guarded } from './document-client';
import { createJobTable, type JobOutcome } from './durable-jobs';

export interface AssetJobStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly assetJobsTable: string;
}

export function createAssetJobStore({ client, assetJobsTable }: AssetJobStoreOptions): AssetJobStore {
  const jobs = createJobTable<AssetJob>({
    client,
    tableName: assetJobsTable,
    keyAttributes: ['task_id'],
    stateAttribute: 'job_state',
    dueIndex: DUE_ASSET_JOBS_INDEX,
    names: { '#stored': 'stored', '#refused': 'refused' },
  });
  const key = (taskId: string) => ({ task_id: taskId });

  return {
    put: (job) => guarded(() => jobs.putOnce(job)),
    get: (taskId) => guarded(() => jobs.get(key(taskId))),
    claim: (taskId, { nowMs, leaseUntilMs }) => guarded(() => jobs.claim(key(taskId), { nowMs, leaseUntilMs, requireDue: true })),
    due: (shard, nowMs, limit) => guarded(() => jobs.due<DueAssetJob>(shard, nowMs, limit)),
    settle: (taskId, claim, settlement) =>
      guarded(() => {
        const outcome: JobOutcome =
          settlement.kind === 'retry'
            ? { kind: 'retry', dueAtMs: settlement.dueAtMs, error: settlement.error }
            : { kind: 'final', state: settlement.kind, endedAt: settlement.at, ...(settlement.kind === 'failed' && { error: settlement.error }) };
        return jobs.settle(key(taskId), claim, outcome, {
          set: ['#stored = :stored', '#refused = :refused'],
          values: { ':stored': settlement.stored ?? {}, ':refused': settlement.refused ?? {} },
        });
      }),
  };
}
