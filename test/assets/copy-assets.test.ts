/**
 * The asset job (functions/domain/copy-assets.ts) against the real parts:
 * DynamoDB Local (the task, its job and their conditional writes), the
 * local S3 endpoint (which checks signatures and lengths) and a media host
 * on loopback: a copy stored once, the reaction idempotent on replays, a
 * second run that copies nothing again, retries on the schedule until
 * stored or failed, the size cap, and the sweep of due jobs.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { createAssetJobStore } from '#adapters/dynamodb/asset-job-store';
import { createClientStore } from '#adapters/dynamodb/client-store';
import { createDeliveryStore } from '#adapters/dynamodb/delivery-store';
import { createEndpointStore } from '#adapters/dynamodb/endpoint-store';
import { createMessageStore } from '#adapters/dynamodb/message-store';
import { createTaskStore } from '#adapters/dynamodb/task-store';
import { deliverToHook } from '#adapters/hook-delivery';
import { createMediaCopier } from '#adapters/media-copy';
import { createObjectWriter, MIN_PART_BYTES } from '#adapters/s3-objects';
import { assetJobReaction, copyAssetsOf, sweepDueAssetJobs, type AssetDeps } from '#domain/copy-assets';
import { silentLog, type AssetJobStore, type TaskStore } from '#domain/ports';
import type { TaskChange } from '#domain/task-changes';
import type { TaskItem } from '#domain/task';
import { mediumBytes } from '../../lib/local/media';
import { startS3Endpoint, type LocalS3Endpoint } from '../../lib/local/s3-endpoint';
import { createTestTables, type TestTables } from '../support/dynamo';
import { startMediaServer, type MediaServer } from '../support/media-server';
import { taskItem } from '../support/tasks';

const BUCKET = 'copy-assets-test';
const CREDENTIALS = { accessKeyId: 'AKJOBS', secretAccessKey: 'jobs-secret' };

let tables: TestTables;
let s3: LocalS3Endpoint;
let client: S3Client;
let media: MediaServer;
let tasks: TaskStore;
let jobs: AssetJobStore;
/** The test's clock: real time plus what a test moved it forward. */
let offsetMs = 0;
const nowMs = () => Date.now() + offsetMs;

beforeAll(async () => {
  [tables, s3, media] = await Promise.all([createTestTables(), startS3Endpoint({ credentials: { [CREDENTIALS.accessKeyId]: CREDENTIALS.secretAccessKey }, buckets: [BUCKET] }), startMediaServer()]);
  client = new S3Client({ region: 'us-east-1', endpoint: s3.url, forcePathStyle: true, credentials: CREDENTIALS, maxAttempts: 1 });
  tasks = createTaskStore({ client: tables.doc, tasksTable: tables.names.tasks, idempotencyTable: tables.names.idempotency });
  jobs = createAssetJobStore({ client: tables.doc, assetJobsTable: tables.names.assetJobs });
});
afterAll(async () => {
  client?.destroy();
  await Promise.all([s3?.stop(), media?.close()]);
  tables?.destroy();
});
beforeEach(() => {
  offsetMs = 0;
  s3.resetCounts();
});

function deps(overrides: Partial<AssetDeps> = {}): AssetDeps {
  const doc = tables.doc;
  return {
    jobs,
    tasks,
    copy: createMediaCopier({ writer: createObjectWriter({ client, bucket: BUCKET, partBytes: MIN_PART_BYTES }) }),
    policy: { allowLoopbackHttp: true },
    maxBytes: 64 * 1024 * 1024,
    schedule: [0, 1, 1],
    notifications: {
      messages: createMessageStore({ client: doc, messagesTable: tables.names.messages }),
      deliveries: createDeliveryStore({ client: doc, deliveriesTable: tables.names.deliveries }),
      endpoints: createEndpointStore({ client: doc, endpointsTable: tables.names.endpoints }),
      clients: createClientStore({ client: doc, clientsTable: tables.names.clients }),
      deliver: deliverToHook,
      policy: { allowLoopbackHttp: true },
      log: silentLog,
      nowMs,
      schedule: [0, 1],
      disableAfterSeconds: 3600,
      secretOverlapSeconds: 3600,
      retentionDays: 1,
      firstAttemptTimeoutMs: 500,
    },
    log: silentLog,
    nowMs,
    random: () => 0,
    ...overrides,
  };
}

/** A completed task whose media are at `paths` of the media host, its change, and the job its reaction writes. */
async function completedTask(paths: Partial<Record<'video_url' | 'thumbnail_url', string>>, ownerId?: string): Promise<{ task: TaskItem; change: TaskChange }> {
  const links = Object.fromEntries(Object.entries(paths).map(([field, path]) => [field, `${media.url}${path}`]));
  const before = taskItem({ task_status: 'processing', status_rank: 2, ...(ownerId !== undefined && { owner_id: ownerId }) });
  const task: TaskItem = { ...before, ...links, task_status: 'completed', status_rank: 3, asset_state: 'pending' };
  await tasks.create(task);
  return { task, change: { sequence: `seq-${task.task_id}`, before, after: task } };
}

const video = (tag: string) => mediumBytes('video', tag);
const image = (tag: string) => mediumBytes('thumbnail', tag);
const serve = (path: string, body: Buffer, type: string) => media.routes.set(path, { headers: { 'Content-Type': type }, body });

test('the reaction writes the job once and starts the worker once, whatever the replays; the run stores every medium under the task id', async () => {
  serve('/a/video.mp4', video('a'), 'video/mp4');
  serve('/a/thumb.jpg', image('a'), 'image/jpeg');
  const { task, change } = await completedTask({ video_url: '/a/video.mp4', thumbnail_url: '/a/thumb.jpg' });
  const started: string[] = [];
  const reaction = assetJobReaction({ jobs, start: async (id) => void started.push(id), retentionDays: 1, nowMs, log: silentLog });
  expect(reaction.wants(change)).toBe(true);
  expect(reaction.wants({ ...change, after: { ...task, asset_state: undefined } })).toBe(false);
  expect(await reaction.react([change], { remainingMs: () => 60_000 })).toEqual(new Set());
  expect(await reaction.react([change], { remainingMs: () => 60_000 })).toEqual(new Set());
  expect(started).toEqual([task.task_id]);

  expect(await copyAssetsOf(deps(), task.task_id, { budgetMs: 60_000 })).toBe('stored');
  expect((await s3.read(BUCKET, `tasks/${task.task_id}/video`))!.equals(video('a'))).toBe(true);
  expect((await s3.read(BUCKET, `tasks/${task.task_id}/thumbnail`))!.equals(image('a'))).toBe(true);
  expect(await s3.head(BUCKET, `tasks/${task.task_id}/thumbnail`)).toMatchObject({ contentType: 'image/jpeg', contentDisposition: 'inline; filename="thumbnail.jpg"' });
  expect(await tasks.get(task.task_id)).toMatchObject({
    asset_state: 'stored',
    asset_keys: { video: `tasks/${task.task_id}/video`, thumbnail: `tasks/${task.task_id}/thumbnail` },
    // The upstream's links are kept: the stored copies are asset_keys.
    video_url: `${media.url}/a/video.mp4`,
  });
  expect(await jobs.get(task.task_id)).toMatchObject({ job_state: 'stored', claims: 1, settled: 1, stored: { video: { bytes: video('a').length, content_type: 'video/mp4' } } });
  expect((await jobs.get(task.task_id))!.due_shard).toBeUndefined();

  // A second run: nothing to claim, nothing copied.
  const hits = media.hits.length;
  expect(await copyAssetsOf(deps(), task.task_id, { budgetMs: 60_000 })).toBe('not-claimed');
  expect(media.hits.length).toBe(hits);
  expect(s3.counts.PutObject).toBe(2);
});

test('a run that died after the task was settled: the next claim copies nothing again and ends the job as the task says', async () => {
  serve('/b/video.mp4', video('b'), 'video/mp4');
  const { task } = await completedTask({ video_url: '/b/video.mp4' });
  await jobs.put({ task_id: task.task_id, owner_id: task.owner_id, job_state: 'pending', claims: 0, settled: 0, due_shard: '0', due_at_ms: nowMs(), origin_ms: nowMs(), created_at: 1, expires_at: 2_000_000_000 });
  // What the dead run wrote: the task settled, the job still pending, its claim unsettled.
  await tasks.settleAssets(task.task_id, { state: 'stored', keys: { video: `tasks/${task.task_id}/video` }, at: 5 });
  const hits = media.hits.length;
  expect(await copyAssetsOf(deps(), task.task_id, { budgetMs: 60_000 })).toBe('stored');
  expect(media.hits.length).toBe(hits);
  expect(await jobs.get(task.task_id)).toMatchObject({ job_state: 'stored' });
  // Settled once: a second settling write changes nothing.
  expect(await tasks.settleAssets(task.task_id, { state: 'failed', keys: {}, reason: 'late', at: 9 })).toMatchObject({ asset_state: 'stored', assets_settled_at: 5 });
});

test('a medium that fails for a while is retried on the schedule, only what is missing, until stored', async () => {
  let answers = 0;
  media.routes.set('/c/video.mp4', () => (++answers <= 2 ? { status: 503, body: Buffer.from('busy') } : { headers: { 'Content-Type': 'video/mp4' }, body: video('c') }));
  serve('/c/thumb.jpg', image('c'), 'image/jpeg');
  const { task, change } = await completedTask({ video_url: '/c/video.mp4', thumbnail_url: '/c/thumb.jpg' });
  await assetJobReaction({ jobs, start: async () => {}, retentionDays: 1, nowMs, log: silentLog }).react([change], { remainingMs: () => 60_000 });

  expect(await copyAssetsOf(deps(), task.task_id, { budgetMs: 60_000 })).toBe('retry');
  const retried = (await jobs.get(task.task_id))!;
  expect(retried).toMatchObject({ job_state: 'pending', last_error: 'video: the media link answered HTTP 503', stored: { thumbnail: { content_type: 'image/jpeg' } } });
  expect(retried.due_at_ms! - retried.origin_ms).toBe(1000);
  // Not due yet: not claimed.
  expect(await copyAssetsOf(deps(), task.task_id, { budgetMs: 60_000 })).toBe('not-claimed');
  expect((await tasks.get(task.task_id))!.asset_state).toBe('pending');

  offsetMs = 1100;
  expect(await copyAssetsOf(deps(), task.task_id, { budgetMs: 60_000 })).toBe('retry');
  offsetMs = 2200;
  expect(await copyAssetsOf(deps(), task.task_id, { budgetMs: 60_000 })).toBe('stored');
  expect(media.hits.filter((path) => path === '/c/thumb.jpg')).toHaveLength(1);
  expect((await s3.read(BUCKET, `tasks/${task.task_id}/video`))!.equals(video('c'))).toBe(true);
  expect(await tasks.get(task.task_id)).toMatchObject({ asset_state: 'stored' });
});

test('a medium that keeps failing: failed after the last planned attempt, with the reason; what was stored stays', async () => {
  media.routes.set('/d/video.mp4', { status: 500, body: Buffer.from('down') });
  serve('/d/thumb.jpg', image('d'), 'image/jpeg');
  const { task, change } = await completedTask({ video_url: '/d/video.mp4', thumbnail_url: '/d/thumb.jpg' });
  await assetJobReaction({ jobs, start: async () => {}, retentionDays: 1, nowMs, log: silentLog }).react([change], { remainingMs: () => 60_000 });
  const results = [];
  for (const offset of [0, 1100, 2200]) {
    offsetMs = offset;
    results.push(await copyAssetsOf(deps(), task.task_id, { budgetMs: 60_000 }));
  }
  expect(results).toEqual(['retry', 'retry', 'failed']);
  expect(await tasks.get(task.task_id)).toMatchObject({
    asset_state: 'failed',
    asset_failure_reason: 'video: the media link answered HTTP 500 (every planned attempt failed)',
    asset_keys: { thumbnail: `tasks/${task.task_id}/thumbnail` },
  });
  expect(await jobs.get(task.task_id)).toMatchObject({ job_state: 'failed' });
});

test('the size cap: a medium over it fails at once, for good, and nothing of it is stored', async () => {
  const big = Buffer.concat([video('e'), Buffer.alloc(2 * 1024 * 1024, 1)]);
  media.routes.set('/e/video.mp4', { headers: { 'Content-Type': 'video/mp4' }, body: big, chunked: true });
  const { task, change } = await completedTask({ video_url: '/e/video.mp4' });
  await assetJobReaction({ jobs, start: async () => {}, retentionDays: 1, nowMs, log: silentLog }).react([change], { remainingMs: () => 60_000 });
  expect(await copyAssetsOf(deps({ maxBytes: 1024 * 1024 }), task.task_id, { budgetMs: 60_000 })).toBe('failed');
  expect((await tasks.get(task.task_id))!.asset_failure_reason).toBe('video: the medium is larger than the 1048576-byte cap (assetMaxBytes)');
  expect(await s3.keys(BUCKET)).not.toContainEqual(expect.stringContaining(task.task_id));
  expect(await s3.openUploads(BUCKET)).toBe(0);
});

test('the sweep runs every due job (first runs whose start was lost, retries), a few at a time', async () => {
  const taskIds: string[] = [];
  for (const tag of ['f', 'g', 'h']) {
    serve(`/${tag}/video.mp4`, video(tag), 'video/mp4');
    const { task, change } = await completedTask({ video_url: `/${tag}/video.mp4` });
    // The start is lost: only the sweep runs it.
    await assetJobReaction({ jobs, start: async () => Promise.reject(new Error('lost')), retentionDays: 1, nowMs, log: silentLog }).react([change], { remainingMs: () => 60_000 });
    taskIds.push(task.task_id);
  }
  const summary = await sweepDueAssetJobs({ ...deps(), maxJobsPerRun: 50, concurrency: 2, perClientConcurrency: 2, startJobsForMs: 60_000, remainingMs: () => 120_000 });
  expect(summary).toMatchObject({ stored: 3, failed: 0, errors: 0 });
  for (const taskId of taskIds) expect((await tasks.get(taskId))!.asset_state).toBe('stored');
  expect(await sweepDueAssetJobs({ ...deps(), maxJobsPerRun: 50, concurrency: 2, perClientConcurrency: 2, startJobsForMs: 60_000, remainingMs: () => 120_000 })).toMatchObject({ due: 0 });
});

test("one client's backlog of hanging copies holds one lane of the sweep; another client's due copies are taken and stored meanwhile", async () => {
  const hanging: string[] = [];
  const others: string[] = [];
  // Six of client A's, due first (older), whose media host hangs; then two of client B's.
  for (const [owner, ids, count] of [['client-hanging', hanging, 6], ['client-other', others, 2]] as const) {
    for (let i = 0; i < count; i += 1) {
      const tag = `${owner}-${i}`;
      serve(`/${tag}/video.mp4`, video(tag), 'video/mp4');
      const { task, change } = await completedTask({ video_url: `/${tag}/video.mp4` }, owner);
      await assetJobReaction({ jobs, start: async () => Promise.reject(new Error('lost')), retentionDays: 1, nowMs, log: silentLog }).react([change], { remainingMs: () => 60_000 });
      (ids as string[]).push(task.task_id);
    }
  }
  // The hang is forced (a real host's hang lasts the copy's 15 s idle timeout): held until released, then a transient failure.
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let inFlight = 0;
  let mostInFlight = 0;
  const real = deps().copy;
  const copy: AssetDeps['copy'] = async (request) => {
    if (!request.url.includes('client-hanging')) return real(request);
    inFlight += 1;
    mostInFlight = Math.max(mostInFlight, inFlight);
    await released;
    inFlight -= 1;
    return { ok: false, permanent: false, error: 'the media host did not answer', durationMs: 1 };
  };
  // Room for four jobs this run, four lanes: without turns, the hanging client's older jobs would take them all.
  const sweep = sweepDueAssetJobs({ ...deps({ copy }), maxJobsPerRun: 4, concurrency: 4, perClientConcurrency: 1, startJobsForMs: 60_000, remainingMs: () => 120_000 });
  for (const taskId of others) {
    for (let waited = 0; (await tasks.get(taskId))!.asset_state !== 'stored'; waited += 50) {
      if (waited > 20_000) throw new Error("the other client's copy was held back");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  expect(mostInFlight).toBe(1);
  release();
  expect(await sweep).toMatchObject({ stored: 2, retried: 2, errors: 0 });
  expect(mostInFlight).toBe(1);
  for (const taskId of hanging) expect((await tasks.get(taskId))!.asset_state).toBe('pending');
});

test('a sweep starts jobs for startJobsForMs only: the rest wait for the next run, so runs do not pile up', async () => {
  const taskIds: string[] = [];
  for (const tag of ['late-1', 'late-2']) {
    serve(`/${tag}/video.mp4`, video(tag), 'video/mp4');
    const { task, change } = await completedTask({ video_url: `/${tag}/video.mp4` });
    await assetJobReaction({ jobs, start: async () => Promise.reject(new Error('lost')), retentionDays: 1, nowMs, log: silentLog }).react([change], { remainingMs: () => 60_000 });
    taskIds.push(task.task_id);
  }
  const real = deps().copy;
  // The first copy takes the run past its start window.
  const copy: AssetDeps['copy'] = async (request) => {
    const outcome = await real(request);
    offsetMs += 61_000;
    return outcome;
  };
  const first = await sweepDueAssetJobs({ ...deps({ copy }), maxJobsPerRun: 50, concurrency: 1, perClientConcurrency: 1, startJobsForMs: 60_000, remainingMs: () => 120_000 });
  // Jobs of earlier tests may be due too: whichever came first, it was the only one started.
  const started = (summary: typeof first) => summary.stored + summary.failed + summary.retried + summary.skipped + summary.errors;
  expect(first.due).toBeGreaterThanOrEqual(2);
  expect(started(first)).toBe(1);
  await sweepDueAssetJobs({ ...deps(), maxJobsPerRun: 50, concurrency: 1, perClientConcurrency: 1, startJobsForMs: 60_000, remainingMs: () => 120_000 });
  for (const taskId of taskIds) expect((await tasks.get(taskId))!.asset_state).toBe('stored');
});
