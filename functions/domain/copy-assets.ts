/**
 * The copy of a completed task's media into the gateway's own bucket
 * (issue 10), as a durable job (asset-job.ts) in the same machinery as the
 * notification messages (durable-job.ts):
 *
 * - the task-change reaction (assetJobReaction) sees a task reach
 *   `completed`, writes its job once (conditional: a replayed record writes
 *   nothing) and starts the asset worker on it at once, without waiting for
 *   the copy (an asynchronous invocation): the stream never waits for a
 *   download;
 * - the worker (copyAssetsOf) claims the job, streams each medium not yet
 *   stored into the bucket (functions/adapters/media-copy.ts), and settles
 *   the job: stored, retried on `assetRetrySchedule` when a failure is worth
 *   it, failed (with the reason) when none is or the schedule is spent;
 * - once settled for good, the task records it (asset_state, asset_keys,
 *   once), then its waiting `completed` notification is released
 *   (completed-notification.ts), then the job ends: a run that dies between
 *   two of these is finished by the next claim, which copies nothing again
 *   once the task says its media are settled;
 * - the worker's schedule (sweepDueAssetJobs) runs the jobs that are due:
 *   retries, and first runs whose invocation was lost.
 *
 * A second run for the same task never duplicates nor corrupts an object:
 * each medium has one key (assets.ts assetKey), written whole or not at all.
 */
import { newAssetJob, type AssetJob, type AssetSettlement, type DueAssetJob, type StoredMedium } from './asset-job';
import { assetKey, MEDIA_KINDS, upstreamMedia, type AssetKeys, type MediaKind } from './assets';
import { releaseCompletedNotification, type ReleaseDeps } from './completed-notification';
import { dueAcrossShards, type JobRunDeps } from './durable-job';
import { takeTurns, workFairly } from './fair-share';
import type { HookPolicy } from './hook-url';
import { silentMetrics, type AssetCopyStarter, type AssetJobStore, type LogSink, type MediaCopier, type TaskStore } from './ports';
import { nextAttemptAt } from './retry-schedule';
import type { TaskChangeReaction } from './task-changes';
import type { TaskItem } from './task';
import { DUE_ASSET_JOB_SHARDS } from '../tables';

/** Metrics: AssetCopiesStored, AssetCopiesFailed. */
export interface AssetDeps extends JobRunDeps {
  readonly jobs: AssetJobStore;
  readonly tasks: Pick<TaskStore, 'get' | 'settleAssets'>;
  readonly copy: MediaCopier;
  readonly policy: HookPolicy;
  /** The largest medium stored, in bytes. */
  readonly maxBytes: number;
  /** What releases the task's waiting `completed` notification. */
  readonly notifications: ReleaseDeps;
}

/** Room for the writes after the copies (job, task, notification and its first attempt) within a run's time. */
export const ASSET_SETTLE_MARGIN_MS = 15_000;

export type AssetRunResult = 'stored' | 'failed' | 'retry' | 'not-claimed' | 'lost';

const describe = (failures: readonly (readonly [MediaKind, string])[]) => failures.map(([kind, error]) => `${kind}: ${error}`).join('; ');

/** The object keys of what is stored, by medium. */
const keysOf = (stored: AssetJob['stored']): AssetKeys => Object.fromEntries(MEDIA_KINDS.filter((kind) => stored?.[kind]).map((kind) => [kind, stored![kind]!.key]));

/**
 * One run on one task's job: claimed (due, or with `requireDue: false` any
 * job no attempt holds), its missing media copied side by side within
 * `budgetMs`, settled. Never throws for the upstream's or the bucket's sake.
 */
export async function copyAssetsOf(deps: AssetDeps, taskId: string, { budgetMs, remainingMs = () => Infinity }: { budgetMs: number; remainingMs?: () => number }): Promise<AssetRunResult> {
  const startedMs = deps.nowMs();
  const deadlineAtMs = startedMs + Math.max(1000, budgetMs - ASSET_SETTLE_MARGIN_MS);
  const claimed = await deps.jobs.claim(taskId, { nowMs: startedMs, leaseUntilMs: startedMs + budgetMs });
  if (claimed === undefined) return 'not-claimed';
  const job = claimed.previous;
  const task = await deps.tasks.get(taskId);

  const stored: { [K in MediaKind]?: StoredMedium } = { ...job.stored };
  const refused: { [K in MediaKind]?: string } = { ...job.refused };
  const transient: [MediaKind, string][] = [];
  if (task !== undefined && task.asset_state === 'pending') {
    const missing = upstreamMedia(task).filter(({ kind }) => stored[kind] === undefined && refused[kind] === undefined);
    const outcomes = await Promise.all(
      missing.map(async (medium) => {
        const key = assetKey(taskId, medium.kind);
        return { medium, key, outcome: await deps.copy({ url: medium.url, key, kind: medium.kind, family: medium.family, maxBytes: deps.maxBytes, deadlineAtMs, policy: deps.policy }) };
      }),
    );
    for (const { medium, key, outcome } of outcomes) {
      if (outcome.ok) {
        stored[medium.kind] = { key, bytes: outcome.bytes, content_type: outcome.contentType };
        deps.log.info('medium stored', { task_id: taskId, medium: medium.kind, bytes: outcome.bytes, duration_ms: outcome.durationMs });
      } else {
        (outcome.permanent ? (refused[medium.kind] = outcome.error) : transient.push([medium.kind, outcome.error]));
        deps.log.warn('medium not stored', { task_id: taskId, medium: medium.kind, permanent: outcome.permanent, reason: outcome.error, http_status: outcome.httpStatus, attempt: claimed.claim });
      }
    }
  }
  const nowMs = deps.nowMs();
  const at = Math.floor(nowMs / 1000);
  const media = { stored, refused };

  if (task !== undefined && task.asset_state === 'pending' && transient.length > 0) {
    const dueAtMs = nextAttemptAt({ schedule: deps.schedule, originMs: job.origin_ms, nowMs, random: deps.random ?? Math.random });
    if (dueAtMs !== undefined) return (await deps.jobs.settle(taskId, claimed.claim, { ...media, kind: 'retry', dueAtMs, error: describe(transient) })) ? 'retry' : 'lost';
    for (const [kind, error] of transient) refused[kind] = `${error} (every planned attempt failed)`;
  }

  // Ended for good: the task first (once), then its notification, then the job.
  let settled: AssetSettlement;
  let after: TaskItem | undefined = task;
  if (task === undefined) {
    settled = { ...media, kind: 'failed', at, error: 'the task no longer exists' };
  } else {
    const failures = MEDIA_KINDS.flatMap((kind) => (refused[kind] === undefined ? [] : [[kind, refused[kind]!] as const]));
    if (task.asset_state === 'pending') {
      const reason = failures.length > 0 ? describe(failures) : undefined;
      after = await deps.tasks.settleAssets(taskId, { state: reason === undefined ? 'stored' : 'failed', keys: keysOf(stored), reason, at });
      const metric = reason === undefined ? 'AssetCopiesStored' : 'AssetCopiesFailed';
      (deps.metrics ?? silentMetrics).count(metric);
      if (reason === undefined) deps.log.info('task media stored', { task_id: taskId, media: Object.keys(stored) });
      else deps.log.warn('task media copy failed', { task_id: taskId, reason });
    }
    const final = after?.asset_state === 'stored' ? 'stored' : 'failed';
    settled = final === 'stored' ? { ...media, kind: 'stored', at } : { ...media, kind: 'failed', at, error: after?.asset_failure_reason ?? describe(failures) };
    if (after !== undefined) await releaseCompletedNotification(deps.notifications, after, { attempt: true, remainingMs });
  }
  return (await deps.jobs.settle(taskId, claimed.claim, settled)) ? settled.kind : 'lost';
}

export interface SweepDeps extends AssetDeps {
  /** Most jobs looked at in one run. */
  readonly maxJobsPerRun: number;
  /** Jobs copied at once. */
  readonly concurrency: number;
  /** Jobs of one client copied at once: a client whose media hosts hang holds no more lanes than this. */
  readonly perClientConcurrency: number;
  /** How long after its start a run still starts jobs; the rest wait for the next run. */
  readonly startJobsForMs: number;
  /** Milliseconds left in this invocation. */
  readonly remainingMs: () => number;
}

export interface SweepSummary {
  due: number;
  stored: number;
  failed: number;
  retried: number;
  /** Held by another run, or settled meanwhile. */
  skipped: number;
  errors: number;
}

/** How many due jobs a sweep looks at for each it may run: enough for every client with a job due to get its turn. */
const SWEEP_LOOK_AHEAD = 10;

/**
 * The scheduled run: the due jobs (retries, and first runs whose invocation
 * was lost), the clients taking turns, a few at a time and at most
 * `perClientConcurrency` of one client's, each within the time left: one
 * client's backlog of failing copies never holds back another's.
 */
export async function sweepDueAssetJobs(deps: SweepDeps): Promise<SweepSummary> {
  const nowMs = deps.nowMs();
  const due = await dueAcrossShards<DueAssetJob>(DUE_ASSET_JOB_SHARDS, deps.maxJobsPerRun * SWEEP_LOOK_AHEAD, deps.random ?? Math.random, (shard, limit) => deps.jobs.due(shard, nowMs, limit));
  const ownerOf = (job: DueAssetJob) => job.owner_id;
  const taken = takeTurns(due, ownerOf, deps.maxJobsPerRun);
  const summary: SweepSummary = { due: due.length, stored: 0, failed: 0, retried: 0, skipped: 0, errors: 0 };
  const budgetMs = () => deps.remainingMs() - 1000;
  await workFairly(taken, ownerOf, { concurrency: deps.concurrency, perKey: deps.perClientConcurrency, goOn: () => budgetMs() >= 2 * ASSET_SETTLE_MARGIN_MS && deps.nowMs() - nowMs < deps.startJobsForMs }, async (next) => {
    try {
      const result = await copyAssetsOf(deps, next.task_id, { budgetMs: budgetMs(), remainingMs: deps.remainingMs });
      if (result === 'stored') summary.stored += 1;
      else if (result === 'failed') summary.failed += 1;
      else if (result === 'retry') summary.retried += 1;
      else summary.skipped += 1;
    } catch (error) {
      summary.errors += 1;
      deps.log.error('could not copy a task\'s media', { task_id: next.task_id, error });
    }
  });
  return summary;
}

export interface AssetReactionDeps {
  readonly jobs: Pick<AssetJobStore, 'put'>;
  readonly start: AssetCopyStarter;
  readonly retentionDays: number;
  readonly nowMs: () => number;
  readonly log: LogSink;
}

/**
 * Tasks reaching `completed`: their asset job written (once) and the worker
 * started on it. A change fails (for the stream to replay it) only when its
 * job could not be written; a start that fails is left to the sweep.
 */
export function assetJobReaction(deps: AssetReactionDeps): TaskChangeReaction {
  return {
    name: 'assets',
    wants: (change) => change.after.task_status === 'completed' && change.after.asset_state === 'pending',
    react: async (changes) => {
      const failed = new Set<string>();
      await Promise.all(
        changes.map(async (change) => {
          const task = change.after;
          try {
            const put = await deps.jobs.put(newAssetJob(task, deps.nowMs(), deps.retentionDays));
            if (!put.created) return; // a replayed record: the job exists and goes its way
            await deps.start(task.task_id).catch((error: unknown) =>
              deps.log.warn('could not start the asset worker; its sweep copies the media', { task_id: task.task_id, error }),
            );
          } catch (error) {
            deps.log.error('could not record an asset job', { task_id: task.task_id, error });
            failed.add(change.sequence);
          }
        }),
      );
      return failed;
    },
  };
}
