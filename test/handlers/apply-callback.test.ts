/** Callbacks against DynamoDB Local: every transition, duplicate and regression attempt. */
import { randomUUID } from 'node:crypto';
import { parseUpstreamGeneration } from '#adapters/upstream/response';
import { applyCallback, type CallbackDeps } from '#domain/apply-callback';
import { newCallbackToken } from '#domain/credentials';
import { silentLog, type TaskStore } from '#domain/ports';
import { createTaskStore } from '#adapters/dynamodb/task-store';
import type { TaskItem } from '#domain/task';
import { createTestTables, type TestTables } from '../support/dynamo';
import { fixture } from '../support/fixtures';
import { taskItem } from '../support/tasks';
import { asClientSees } from '../support/client-view';

const UPSTREAM_ID = '749d328e-4fd0-43a8-8c89-32394d60da69';

let tables: TestTables;
let store: TaskStore;
let deps: CallbackDeps;
let clock = 2_000_000_000;

beforeAll(async () => {
  tables = await createTestTables();
  store = createTaskStore({ client: tables.doc, tasksTable: tables.names.tasks, idempotencyTable: tables.names.idempotency });
  deps = { tasks: store, now: () => ++clock, log: silentLog };
});
afterAll(() => tables.destroy());

/** A stored task and the token its callbacks carry. */
async function storedTask(overrides: Partial<TaskItem> = {}): Promise<{ task: TaskItem; token: string }> {
  const taskId = randomUUID();
  const { token, hash } = newCallbackToken(taskId);
  const task = taskItem({ task_id: taskId, callback_token_hash: hash, ...overrides });
  await store.create(task);
  return { task, token };
}

const processing = fixture('generation-processing.json');
const completed = fixture('generation-completed.json');
const failed = fixture('generation-failed.json');

describe('callback', () => {
  it('walks a task through pending, processing and completed, storing every URL', async () => {
    const { task, token } = await storedTask({ task_status: 'pending', status_rank: 1, upstream_id: UPSTREAM_ID });
    expect(await applyCallback(deps, token, parseUpstreamGeneration(processing))).toEqual({ task_id: task.task_id, task_status: 'processing', applied: true });
    expect(await applyCallback(deps, token, parseUpstreamGeneration(completed))).toEqual({ task_id: task.task_id, task_status: 'completed', applied: true });
    expect(await store.get(task.task_id)).toMatchObject({
      task_status: 'completed',
      upstream_state: 'completed',
      video_url: 'https://storage.cdn-luma.com/dream_machine/749d328e/watermarked_video.mp4',
      video_raw_url: 'https://storage.cdn-luma.com/dream_machine/749d328e/video.mp4',
      thumbnail_url: 'https://storage.cdn-luma.com/dream_machine/749d328e/thumbnail.jpg',
      last_frame_url: 'https://storage.cdn-luma.com/dream_machine/749d328e/last_frame.jpg',
    });
  });

  it('stores the failure reason', async () => {
    const { task, token } = await storedTask({ task_status: 'processing', status_rank: 2, upstream_id: UPSTREAM_ID });
    await applyCallback(deps, token, parseUpstreamGeneration(failed));
    expect(await store.get(task.task_id)).toMatchObject({ task_status: 'failed', failure_reason: 'Advanced moderation failed' });
  });

  it('accepts the wrapped form with millisecond timestamps', async () => {
    const { task, token } = await storedTask({ task_status: 'pending', status_rank: 1, upstream_id: UPSTREAM_ID });
    expect((await applyCallback(deps, token, parseUpstreamGeneration(fixture('wrapped-succeed.json')))).task_status).toBe('completed');
    expect((await store.get(task.task_id))?.video_url).toBe('https://storage.cdn-luma.com/dream_machine/749d328e/video.mp4');
  });

  it('answers duplicates, late and out-of-order callbacks without changing anything', async () => {
    const { task, token } = await storedTask({ task_status: 'pending', status_rank: 1, upstream_id: UPSTREAM_ID });
    await applyCallback(deps, token, parseUpstreamGeneration(completed));
    const done = await store.get(task.task_id);
    for (const body of [completed, processing, fixture('submit-raw-pending.json'), failed]) {
      expect(await applyCallback(deps, token, parseUpstreamGeneration(body))).toEqual({ task_id: task.task_id, task_status: 'completed', applied: false });
    }
    expect(await store.get(task.task_id)).toEqual(done);
  });

  it('does not finish a task on completed without a video URL', async () => {
    const { task, token } = await storedTask({ task_status: 'pending', status_rank: 1, upstream_id: UPSTREAM_ID });
    const noVideo = { ...completed, video: null, artifact: null };
    expect((await applyCallback(deps, token, parseUpstreamGeneration(noVideo))).task_status).toBe('processing');
    expect((await applyCallback(deps, token, parseUpstreamGeneration(completed))).task_status).toBe('completed');
    expect((await store.get(task.task_id))?.task_status).toBe('completed');
  });

  it('applies a callback that arrives before the submission recorded the upstream id', async () => {
    const { task, token } = await storedTask({ task_status: 'submitting', status_rank: 0 });
    expect(await applyCallback(deps, token, parseUpstreamGeneration(processing))).toMatchObject({ task_status: 'processing', applied: true });
    expect((await store.get(task.task_id))?.upstream_id).toBe(UPSTREAM_ID);
  });

  it('keeps an unknown state raw without moving the task', async () => {
    const { task, token } = await storedTask({ task_status: 'pending', status_rank: 1, upstream_id: UPSTREAM_ID });
    expect(await applyCallback(deps, token, parseUpstreamGeneration({ ...processing, state: 'levitating' }))).toMatchObject({ task_status: 'pending', applied: false });
    expect(await store.get(task.task_id)).toMatchObject({ task_status: 'pending', upstream_state: 'levitating' });
  });
});

describe('a task the gateway failed as unconfirmed', () => {
  const unconfirmed = { task_status: 'failed', status_rank: 3, failure_code: 'unconfirmed', failure_reason: 'never confirmed', open_shard: undefined, check_after: undefined } as const;

  it('is revived by a valid callback: the upstream had the work after all', async () => {
    const { task, token } = await storedTask(unconfirmed);
    expect(await applyCallback(deps, token, parseUpstreamGeneration(processing))).toMatchObject({ task_status: 'processing', applied: true });
    const revived = await store.get(task.task_id);
    expect(revived).toMatchObject({ task_status: 'processing', upstream_id: UPSTREAM_ID, open_shard: expect.any(String) });
    expect(revived?.failure_code).toBeUndefined();
    expect(await applyCallback(deps, token, parseUpstreamGeneration(completed))).toMatchObject({ task_status: 'completed', applied: true });
  });

  it('is not revived by a forged callback', async () => {
    const { task } = await storedTask(unconfirmed);
    await expect(asClientSees(applyCallback(deps, `${task.task_id}.${'B'.repeat(43)}`, parseUpstreamGeneration(completed)))).rejects.toMatchObject({ status: 404 });
    expect((await store.get(task.task_id))?.task_status).toBe('failed');
  });

  it('while a task failed for another reason never moves again', async () => {
    const { task, token } = await storedTask({ ...unconfirmed, failure_code: 'refused', upstream_id: UPSTREAM_ID });
    expect(await applyCallback(deps, token, parseUpstreamGeneration(completed))).toMatchObject({ task_status: 'failed', applied: false });
    expect(await store.get(task.task_id)).toEqual(task);
  });
});

describe('rejected callbacks change nothing', () => {
  it('refuses a forged token for a real task exactly as an unknown task (no way to learn that the task exists)', async () => {
    const { task, token } = await storedTask({ task_status: 'pending', status_rank: 1, upstream_id: UPSTREAM_ID });
    const forged = `${task.task_id}.${'A'.repeat(43)}`;
    expect(forged).not.toBe(token);
    await expect(asClientSees(applyCallback(deps, forged, parseUpstreamGeneration(completed)))).rejects.toMatchObject({ status: 404, message: 'unknown callback' });
    expect(await store.get(task.task_id)).toEqual(task);
  });

  it.each(['', 'nonsense', `${randomUUID()}.${'A'.repeat(43)}`, '../../etc/passwd'])('answers 404 for the token %j', async (token) => {
    await expect(asClientSees(applyCallback(deps, token, parseUpstreamGeneration(completed)))).rejects.toMatchObject({ status: 404, message: 'unknown callback' });
  });

  it("refuses a valid token replayed with another task's payload", async () => {
    const { task, token } = await storedTask({ task_status: 'pending', status_rank: 1, upstream_id: UPSTREAM_ID });
    const otherGeneration = { ...completed, id: randomUUID() };
    await expect(asClientSees(applyCallback(deps, token, parseUpstreamGeneration(otherGeneration)))).rejects.toMatchObject({ status: 409 });
    expect(await store.get(task.task_id)).toEqual(task);
  });

  it('refuses a replay to another task even before the upstream id is recorded, once one is', async () => {
    const { task, token } = await storedTask({ task_status: 'submitting', status_rank: 0 });
    await applyCallback(deps, token, parseUpstreamGeneration(fixture('submit-raw-pending.json')));
    await expect(asClientSees(applyCallback(deps, token, parseUpstreamGeneration({ ...completed, id: randomUUID() })))).rejects.toMatchObject({ status: 409 });
    expect((await store.get(task.task_id))?.task_status).toBe('pending');
  });

  it.each([null, 'text', [], {}, { state: 'completed' }, { id: 5, state: 'completed' }])('refuses the malformed body %j', async (body) => {
    const { task, token } = await storedTask({ task_status: 'pending', status_rank: 1, upstream_id: UPSTREAM_ID });
    await expect(asClientSees(applyCallback(deps, token, parseUpstreamGeneration(body)))).rejects.toMatchObject({ status: 400 });
    expect(await store.get(task.task_id)).toEqual(task);
  });
});
