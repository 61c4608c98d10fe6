/** The reconciler against DynamoDB Local (sparse index) and a loopback upstream. */
import { randomUUID } from 'node:crypto';
import { silentLog, type TaskStore } from '#domain/ports';
import { reconcileOpenTasks, type ReconcileDeps } from '#domain/reconcile';
import { staticSecret } from '#adapters/secret-cache';
import { openShard } from '../../functions/tables';
import { createTaskStore } from '#adapters/dynamodb/task-store';
import { createUpstreamClient } from '#adapters/upstream/http-client';
import { createTestTables, type TestTables } from '../support/dynamo';
import { fixture } from '../support/fixtures';
import { startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream';
import { taskItem } from '../support/tasks';

const NOW = 1_800_000_000;

let upstream: ScriptedUpstream;
let tables: TestTables;
let store: TaskStore;

beforeAll(async () => {
  upstream = await startScriptedUpstream();
});
afterAll(() => upstream.close());
beforeEach(async () => {
  // Fresh tables each test: the reconciler reads every open task of its table.
  tables = await createTestTables();
  store = createTaskStore({ client: tables.doc, tasksTable: tables.names.tasks, idempotencyTable: tables.names.idempotency });
  upstream.received.length = 0;
  // GET /luma/generations/{id} answers for the id asked about.
  upstream.fallback = { status: 200, body: (req: { path: string }) => ({ ...fixture('generation-processing.json'), id: req.path.split('/').pop() }) };
});
afterEach(() => tables.destroy());

function deps(overrides: Partial<ReconcileDeps> = {}): ReconcileDeps {
  return {
    tasks: store,
    upstream: createUpstreamClient({ baseUrl: upstream.url, apiKey: staticSecret('k'), timeoutMs: 1000 }),
    now: () => NOW,
    log: silentLog,
    recheckAfterSeconds: 30,
    confirmDeadlineSeconds: 900,
    maxTasksPerRun: 100,
    concurrency: 1,
    ...overrides,
  };
}

/** An open task, due for a check unless told otherwise. */
async function openTask(overrides: Parameters<typeof taskItem>[0] = {}) {
  const taskId = randomUUID();
  const task = taskItem({
    task_id: taskId,
    task_status: 'pending',
    status_rank: 1,
    upstream_id: randomUUID(),
    created_at: NOW - 600,
    check_after: NOW - 1,
    deadline_at: NOW + 3600,
    open_shard: openShard(taskId),
    ...overrides,
  });
  await store.create(task);
  return task;
}

it('completes a task whose callbacks were lost', async () => {
  const task = await openTask();
  upstream.script({ status: 200, body: { ...fixture('generation-completed.json'), id: task.upstream_id } });
  expect(await reconcileOpenTasks(deps())).toEqual({ examined: 1, advanced: 1, failed: 0, deferred: 0, errors: 0, throttled: false, outOfTime: false });
  expect(upstream.received[0]).toMatchObject({ method: 'GET', path: `/luma/generations/${task.upstream_id}` });
  const stored = await store.get(task.task_id);
  expect(stored).toMatchObject({ task_status: 'completed', video_url: expect.stringMatching(/^https:/) });
  // Closed: out of the sparse index, so the next run does not see it.
  expect(stored).not.toHaveProperty('open_shard');
  expect((await reconcileOpenTasks(deps())).examined).toBe(0);
});

it('moves a task forward and looks again later while the upstream is still working', async () => {
  const task = await openTask();
  expect(await reconcileOpenTasks(deps())).toMatchObject({ examined: 1, advanced: 1 });
  // Moved and rescheduled in one write.
  expect(await store.get(task.task_id)).toMatchObject({ task_status: 'processing', check_after: NOW + 30 });
  expect((await reconcileOpenTasks(deps())).examined).toBe(0);
  const later = { ...deps(), now: () => NOW + 31 };
  expect(await reconcileOpenTasks(later)).toMatchObject({ examined: 1, deferred: 1 });
  expect((await store.get(task.task_id))?.check_after).toBe(NOW + 31 + 30);
});

it('fails a task past its deadline with a reason', async () => {
  const task = await openTask({ deadline_at: NOW - 1, created_at: NOW - 7200 });
  expect(await reconcileOpenTasks(deps())).toMatchObject({ failed: 1 });
  const stored = await store.get(task.task_id);
  expect(stored).toMatchObject({ task_status: 'failed' });
  expect(stored?.failure_reason).toBe('no final state from the upstream within 7199 s (last upstream state: processing)');
});

it('fails a submission the upstream never confirmed, at the deadline only', async () => {
  const young = await openTask({ task_status: 'submitting', status_rank: 0, upstream_id: undefined });
  const old = await openTask({ task_status: 'submitting', status_rank: 0, upstream_id: undefined, deadline_at: NOW - 1 });
  expect(await reconcileOpenTasks(deps())).toMatchObject({ examined: 2, failed: 1, deferred: 1 });
  expect(await store.get(old.task_id)).toMatchObject({
    task_status: 'failed',
    failure_code: 'unconfirmed',
    failure_reason: 'the upstream never confirmed the submission within 599 s; the task moves on if the upstream reports it later',
  });
  expect((await store.get(young.task_id))?.task_status).toBe('submitting');
  expect(upstream.received).toHaveLength(0);
});

it('fails a task the upstream no longer knows', async () => {
  const task = await openTask();
  upstream.script({ status: 404, body: { detail: 'not found' } });
  expect(await reconcileOpenTasks(deps())).toMatchObject({ failed: 1 });
  expect((await store.get(task.task_id))?.failure_reason).toBe('the upstream no longer knows this generation');
});

it('leaves tasks that are not due alone', async () => {
  await openTask({ check_after: NOW + 10 });
  expect((await reconcileOpenTasks(deps())).examined).toBe(0);
  expect(upstream.received).toHaveLength(0);
});

it('stops at the first 429 and touches nothing else', async () => {
  const tasks = await Promise.all([openTask(), openTask(), openTask()]);
  upstream.script({ status: 429, body: { detail: 'slow down' }, headers: { 'Retry-After': '30' } });
  expect(await reconcileOpenTasks(deps())).toMatchObject({ examined: 1, throttled: true });
  expect(upstream.received).toHaveLength(1);
  for (const task of tasks) expect((await store.get(task.task_id))?.task_status).toBe('pending');
});

it('fails an unconfirmed submission at its confirmation deadline, long before the generation deadline, as revivable', async () => {
  const young = await openTask({ task_status: 'submitting', status_rank: 0, upstream_id: undefined, created_at: NOW - 899, unconfirmed_since: NOW - 899 });
  const old = await openTask({ task_status: 'submitting', status_rank: 0, upstream_id: undefined, created_at: NOW - 900, unconfirmed_since: NOW - 900 });
  expect(await reconcileOpenTasks(deps())).toMatchObject({ examined: 2, failed: 1, deferred: 1 });
  expect(await store.get(old.task_id)).toMatchObject({ task_status: 'failed', failure_code: 'unconfirmed' });
  expect(await store.get(young.task_id)).toMatchObject({ task_status: 'submitting', check_after: NOW + 1 });
  expect(upstream.received).toHaveLength(0);
});

it('fails a task past its deadline even when the upstream cannot be asked', async () => {
  const task = await openTask({ deadline_at: NOW - 1, created_at: NOW - 7200 });
  upstream.script({ status: 500, body: fixture('error-500-panic.json') });
  expect(await reconcileOpenTasks(deps())).toMatchObject({ failed: 1, errors: 0 });
  const stored = await store.get(task.task_id);
  expect(stored).toMatchObject({ task_status: 'failed', failure_code: 'deadline' });
  expect(stored?.failure_reason).toBe('no final state from the upstream within 7199 s (the upstream could not be asked: the upstream answered HTTP 500)');
});

it('does bounded work per run', async () => {
  await Promise.all(Array.from({ length: 6 }, () => openTask()));
  expect((await reconcileOpenTasks(deps({ maxTasksPerRun: 4, concurrency: 2 }))).examined).toBe(4);
  expect(upstream.received).toHaveLength(4);
});

it('counts an upstream outage as errors and retries next time', async () => {
  const task = await openTask();
  upstream.script({ status: 500, body: fixture('error-500-panic.json') });
  expect(await reconcileOpenTasks(deps())).toMatchObject({ examined: 1, errors: 1 });
  expect((await store.get(task.task_id))?.task_status).toBe('pending');
  // Put back in the queue, not retried at the head of every run.
  expect((await reconcileOpenTasks(deps())).examined).toBe(0);
  expect((await reconcileOpenTasks({ ...deps(), now: () => NOW + 30 })).advanced).toBe(1);
});

it('starts no task it could not finish before the invocation times out', async () => {
  await Promise.all([openTask(), openTask(), openTask()]);
  let remaining = 20_000;
  const upstreamCall = deps().upstream;
  const slow = {
    ...upstreamCall,
    getGeneration: async (id: string) => {
      remaining -= 8_000;
      return upstreamCall.getGeneration(id);
    },
  };
  const summary = await reconcileOpenTasks(deps({ upstream: slow, remainingMs: () => remaining, taskBudgetMs: 10_000 }));
  expect(summary).toMatchObject({ examined: 2, outOfTime: true });
});
