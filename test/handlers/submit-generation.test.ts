/**
 * Submitting generations against DynamoDB Local and a real HTTP upstream on
 * loopback. Faults a real part cannot produce on demand are forced by
 * wrapping the store.
 */
import { randomUUID } from 'node:crypto';
import { sha256Hex } from '#domain/credentials';
import { type SecretSource, silentLog, type TaskStore } from '#domain/ports';
import { submitGeneration, type SubmitCommand, type SubmitDeps } from '#domain/submit-generation';
import { createTaskStore } from '#adapters/dynamodb/task-store';
import { createUpstreamClient } from '#adapters/upstream/http-client';
import { createTestTables, type TestTables } from '../support/dynamo';
import { fixture } from '../support/fixtures';
import { startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream';
import { taskItem } from '../support/tasks';
import { asClientSees, clientView } from '../support/client-view';

const PARENT = '4665a07c-7641-4809-a133-10786201bb56';
const CALLBACK_BASE = 'https://gateway.example.com/prod';
// A real time: tasks get a TTL from it, and DynamoDB Local deletes expired items.
const NOW = Math.floor(Date.now() / 1000);

let tables: TestTables;
let upstream: ScriptedUpstream;
let store: TaskStore;

const keySource = (keys: string[]): SecretSource & { reads: number } => {
  const source = {
    reads: 0,
    get: async () => keys[Math.min(source.reads++, keys.length - 1)],
    refresh: async () => keys[Math.min(source.reads++, keys.length - 1)],
  };
  return source;
};

function deps(overrides: Partial<SubmitDeps> = {}, apiKey: SecretSource = keySource(['up-key']), timeoutMs = 2000): SubmitDeps {
  return {
    tasks: store,
    upstream: createUpstreamClient({ baseUrl: upstream.url, apiKey, timeoutMs }),
    callbackBaseUrl: CALLBACK_BASE,
    lifecycle: { reconcileAfterSeconds: 120, deadlineSeconds: 7200, confirmDeadlineSeconds: 900, retentionDays: 90 },
    submitWindowSeconds: 28,
    inFlightWaitMs: 3000,
    now: () => NOW,
    log: silentLog,
    ...overrides,
  };
}

/** The task a submission answers with (confirmed or not). */
const submitTask = (d: SubmitDeps, command: SubmitCommand) => submitGeneration(d, command).then((result) => result.task);
/** The task id the upstream was handed, from the callback URL it received. */
const taskIdSentUpstream = (index = 0): string => upstream.received[index].body.notify_hook.split('/').pop().split('.')[0];

const request = { user_prompt: 'add cat', expand_prompt: true };

beforeAll(async () => {
  tables = await createTestTables();
  upstream = await startScriptedUpstream();
  store = createTaskStore({ client: tables.doc, tasksTable: tables.names.tasks, idempotencyTable: tables.names.idempotency });
});
afterAll(async () => {
  await upstream.close();
  tables.destroy();
});
beforeEach(() => {
  upstream.received.length = 0;
  upstream.fallback = { status: 200, body: fixture('submit-raw-pending.json') };
});

describe('extend', () => {
  it('writes the task, calls the upstream with its own callback URL, and records the upstream id', async () => {
    const view = await submitTask(deps(), {
      ownerId: 'client-a',
      parentTaskId: PARENT,
      request: { ...request, notify_hook: 'https://client.example.com/hook', image_url: 'https://img.example.com/a.png' },
    });
    expect(view).toMatchObject({ task_status: 'pending', parent_task_id: PARENT, prompt: 'add cat', created_at: NOW });
    expect(view.task_id).not.toBe(PARENT);

    expect(upstream.received).toHaveLength(1);
    const sent = upstream.received[0];
    expect(sent.method).toBe('POST');
    expect(sent.path).toBe(`/luma/generations/${PARENT}/extend`);
    expect(sent.headers.authorization).toBe('Bearer up-key');
    expect(sent.headers['content-type']).toBe('application/json');
    expect(sent.headers.accept).toBe('application/json');
    expect(sent.body).toMatchObject({ user_prompt: 'add cat', expand_prompt: true, image_url: 'https://img.example.com/a.png' });
    const hook = new URL(sent.body.notify_hook);
    expect(`${hook.origin}${hook.pathname}`.startsWith(`${CALLBACK_BASE}/luma/callbacks/${view.task_id}.`)).toBe(true);

    const stored = await store.get(view.task_id);
    const secret = sent.body.notify_hook.split('.').pop();
    expect(stored).toMatchObject({
      owner_id: 'client-a',
      parent_task_id: PARENT,
      parent_upstream_id: PARENT,
      upstream_id: '749d328e-4fd0-43a8-8c89-32394d60da69',
      upstream_state: 'pending',
      task_status: 'pending',
      notify_hook: 'https://client.example.com/hook',
      callback_token_hash: sha256Hex(secret),
    });
    // Only the hash of the token is kept.
    expect(JSON.stringify(stored)).not.toContain(secret);
  });

  it('records the task before it calls the upstream', async () => {
    upstream.script({ status: 200, body: fixture('submit-wrapped.json'), delayMs: 300 });
    const pending = submitTask(deps(), { ownerId: 'client-a', parentTaskId: PARENT, request });
    while (upstream.received.length === 0) await new Promise((r) => setTimeout(r, 10));
    const taskId = upstream.received[0].body.notify_hook.split('/').pop().split('.')[0];
    expect(await store.get(taskId)).toMatchObject({ task_status: 'submitting', status_rank: 0 });
    expect(await pending).toMatchObject({ task_id: taskId, task_status: 'pending' });
  });

  it('accepts the wrapped shape', async () => {
    upstream.script({ status: 200, body: fixture('wrapped-processing.json') });
    const view = await submitTask(deps(), { ownerId: 'client-a', parentTaskId: PARENT, request });
    expect(view.task_status).toBe('processing');
    expect((await store.get(view.task_id))?.upstream_state).toBe('processing');
  });

  it('keeps an unknown upstream state raw and counts the task as accepted', async () => {
    upstream.script({ status: 200, body: { ...fixture('submit-raw-pending.json'), state: 'levitating' } });
    const view = await submitTask(deps(), { ownerId: 'client-a', parentTaskId: PARENT, request });
    expect(view.task_status).toBe('pending');
    expect((await store.get(view.task_id))?.upstream_state).toBe('levitating');
  });

  it.each([
    [{ status: 429, body: { detail: 'slow down' }, headers: { 'Retry-After': '9' } }, 503, /throttling/],
    [{ status: 400, body: fixture('error-400-detail-object.json') }, 400, /invalid request body/],
    [{ status: 404, body: { detail: 'generation not found' } }, 404, /does not know that generation/],
    [{ status: 200, body: { code: 1001, message: 'insufficient balance', data: null } }, 402, /lack of balance: insufficient balance \(code 1001\)/],
    [{ status: 200, body: { code: 4003, message: 'prompt violates the content policy', data: null } }, 422, /refused the content/],
    [{ status: 200, body: { code: 4029, message: 'concurrency limit exceeded', data: null } }, 429, /quota or rate limit/],
    [{ status: 400, body: { code: 2, message: 'image could not be fetched', data: null } }, 400, /image could not be fetched/],
  ])('a refusal (%j) fails the task with the reason and answers the mapped error', async (answer, status, message) => {
    upstream.script(answer);
    const error = await submitTask(deps({}, keySource(['up-key']), 500), { ownerId: 'client-a', parentTaskId: PARENT, request }).catch(clientView);
    expect(error).toMatchObject({ status });
    expect(error.message).toMatch(message);
    const stored = await store.get(taskIdSentUpstream());
    expect(stored).toMatchObject({ task_status: 'failed', failure_code: 'refused' });
    expect(stored?.failure_reason).toMatch(message);
    if (status === 503) expect(error.headers).toEqual({ 'Retry-After': '9' });
  });

  it.each([
    [{ status: 500, body: fixture('error-500-panic.json') }, /HTTP 500/],
    [{ status: 503, body: 'Service Unavailable' }, /HTTP 503/],
    [{ status: 200, body: '<html>oops</html>' }, /not JSON/],
    [{ status: 200, body: { unexpected: true } }, /unexpected body/],
    [{ reset: true }, /closed the connection/],
    [{ delayMs: 1500 }, /did not answer within 0.5 s/],
  ])('an unknown outcome (%j) keeps the task open and unconfirmed, and answers with it', async (answer, logged) => {
    upstream.script(answer);
    const warnings: unknown[] = [];
    const result = await submitGeneration(deps({ log: { ...silentLog, warn: (...args) => void warnings.push(args) } }, keySource(['up-key']), 500), {
      ownerId: 'client-a',
      parentTaskId: PARENT,
      request,
    });
    expect(result.confirmed).toBe(false);
    expect(result.task).toMatchObject({ task_id: taskIdSentUpstream(), task_status: 'submitting', failure_reason: null });
    const stored = await store.get(result.task.task_id);
    expect(stored).toMatchObject({ task_status: 'submitting', unconfirmed_since: NOW, check_after: NOW + 900, open_shard: expect.any(String) });
    // The upstream's own words stay in the logs, never in what the client is told.
    expect(JSON.stringify(result)).not.toMatch(/Panic|oops/);
    expect(JSON.stringify(warnings)).toMatch(logged);
  });

  it('answers 503 when the upstream is unreachable', async () => {
    const closed = await startScriptedUpstream();
    await closed.close();
    const error = await submitTask(
      { ...deps(), upstream: createUpstreamClient({ baseUrl: closed.url, apiKey: keySource(['k']), timeoutMs: 1000 }) },
      { ownerId: 'client-a', parentTaskId: PARENT, request },
    ).catch(clientView);
    expect(error).toMatchObject({ status: 503, message: 'the upstream is unreachable; retry later' });
  });

  it('re-reads the key once after a 401 and succeeds with the new one', async () => {
    upstream.script({ status: 401, body: fixture('error-401-detail-string.json') });
    const source = keySource(['old-key', 'new-key']);
    const view = await submitTask(deps({}, source), { ownerId: 'client-a', parentTaskId: PARENT, request });
    expect(view.task_status).toBe('pending');
    expect(upstream.received.map((r) => r.headers.authorization)).toEqual(['Bearer old-key', 'Bearer new-key']);
    expect(source.reads).toBe(2);
  });

  it('gives up after one refresh when the key is still refused, without leaking it', async () => {
    upstream.script({ status: 401, body: fixture('error-401-detail-object.json') }, { status: 401, body: fixture('error-401-detail-object.json') });
    const error = await submitTask(deps({}, keySource(['k1', 'k2'])), { ownerId: 'client-a', parentTaskId: PARENT, request }).catch(clientView);
    expect(error).toMatchObject({ status: 502 });
    expect(upstream.received).toHaveLength(2);
    expect(error.message).not.toMatch(/k1|k2/);
  });
});

describe('the parent to extend', () => {
  it("resolves the caller's own completed task to its upstream id", async () => {
    const parent = taskItem({ owner_id: 'client-a', task_status: 'completed', status_rank: 3, upstream_id: 'up-parent-1' });
    await store.create(parent);
    const view = await submitTask(deps(), { ownerId: 'client-a', parentTaskId: parent.task_id, request });
    expect(view.parent_task_id).toBe(parent.task_id);
    expect(upstream.received[0].path).toBe('/luma/generations/up-parent-1/extend');
  });

  it("refuses another client's task as not found, and calls nothing", async () => {
    const parent = taskItem({ owner_id: 'client-b', task_status: 'completed', status_rank: 3, upstream_id: 'up-parent-2' });
    await store.create(parent);
    await expect(asClientSees(submitTask(deps(), { ownerId: 'client-a', parentTaskId: parent.task_id, request }))).rejects.toMatchObject({
      status: 404,
      message: `task ${parent.task_id} was not found`,
    });
    expect(upstream.received).toHaveLength(0);
  });

  it('refuses a task that is not completed yet', async () => {
    const parent = taskItem({ owner_id: 'client-a', task_status: 'processing', status_rank: 2, upstream_id: 'up-parent-3' });
    await store.create(parent);
    await expect(asClientSees(submitTask(deps(), { ownerId: 'client-a', parentTaskId: parent.task_id, request }))).rejects.toMatchObject({
      status: 409,
      message: `task ${parent.task_id} is processing; only a completed task can be extended`,
    });
  });
});

describe('Idempotency-Key', () => {
  it('returns the same task for the same key and body, and calls the upstream once', async () => {
    const key = randomUUID();
    const first = await submitTask(deps(), { ownerId: 'client-a', parentTaskId: PARENT, request, idempotencyKey: key });
    const again = await submitTask(deps(), { ownerId: 'client-a', parentTaskId: PARENT, request, idempotencyKey: key });
    expect(again).toEqual(first);
    expect(upstream.received).toHaveLength(1);
  });

  it('calls the upstream once for concurrent retries', async () => {
    const key = randomUUID();
    upstream.fallback = { status: 200, body: fixture('submit-raw-pending.json'), delayMs: 100 };
    const views = await Promise.all(
      Array.from({ length: 5 }, () => submitTask(deps(), { ownerId: 'client-a', parentTaskId: PARENT, request, idempotencyKey: key })),
    );
    expect(new Set(views.map((v) => v.task_id)).size).toBe(1);
    expect(upstream.received).toHaveLength(1);
  });

  it('refuses the same key with a different body', async () => {
    const key = randomUUID();
    await submitTask(deps(), { ownerId: 'client-a', parentTaskId: PARENT, request, idempotencyKey: key });
    await expect(asClientSees(
      submitTask(deps(), { ownerId: 'client-a', parentTaskId: PARENT, request: { user_prompt: 'add dog' }, idempotencyKey: key }),
    )).rejects.toMatchObject({ status: 409, code: 40901 });
    expect(upstream.received).toHaveLength(1);
  });

  it('scopes keys per client', async () => {
    const key = randomUUID();
    const a = await submitTask(deps(), { ownerId: 'client-a', parentTaskId: PARENT, request, idempotencyKey: key });
    const b = await submitTask(deps(), { ownerId: 'client-b', parentTaskId: PARENT, request, idempotencyKey: key });
    expect(a.task_id).not.toBe(b.task_id);
  });

  it('lets a retry run again after a refused attempt', async () => {
    const key = randomUUID();
    upstream.script({ status: 400, body: fixture('error-400-detail-object.json') });
    await expect(asClientSees(submitTask(deps(), { ownerId: 'client-a', parentTaskId: PARENT, request, idempotencyKey: key }))).rejects.toMatchObject({ status: 400 });
    const retried = await submitTask(deps(), { ownerId: 'client-a', parentTaskId: PARENT, request, idempotencyKey: key });
    expect(retried.task_status).toBe('pending');
    expect(upstream.received).toHaveLength(2);
  });

  it('keeps the key after an unknown outcome: a retry returns the same task and calls the upstream zero more times', async () => {
    const key = randomUUID();
    upstream.script({ status: 500, body: fixture('error-500-panic.json') });
    const first = await submitGeneration(deps(), { ownerId: 'client-a', parentTaskId: PARENT, request, idempotencyKey: key });
    const retried = await submitGeneration(deps(), { ownerId: 'client-a', parentTaskId: PARENT, request, idempotencyKey: key });
    expect(retried).toEqual({ task: first.task, confirmed: false });
    expect(upstream.received).toHaveLength(1);
  });

  it('keeps the key when a callback moved the task on during a refused call', async () => {
    const key = randomUUID();
    upstream.script({ status: 400, body: { detail: 'bad' }, delayMs: 200 });
    const pending = submitTask(deps(), { ownerId: 'client-a', parentTaskId: PARENT, request, idempotencyKey: key }).catch(clientView);
    while (upstream.received.length === 0) await new Promise((r) => setTimeout(r, 10));
    // The upstream's callback arrives before its (contradictory) refusal.
    await store.advance(taskIdSentUpstream(), { status: 'processing', at: NOW, upstreamId: 'up-1', fromUpstream: true });
    expect(await pending).toMatchObject({ status: 400 });
    expect(await store.get(taskIdSentUpstream())).toMatchObject({ task_status: 'processing' });
    const retried = await submitTask(deps(), { ownerId: 'client-a', parentTaskId: PARENT, request, idempotencyKey: key });
    expect(retried).toMatchObject({ task_id: taskIdSentUpstream(), task_status: 'processing' });
    expect(upstream.received).toHaveLength(1);
  });

  it('a retry while the first attempt is in flight waits for it and replays its task', async () => {
    const key = randomUUID();
    upstream.script({ status: 200, body: fixture('submit-raw-pending.json'), delayMs: 400 });
    const first = submitTask(deps(), { ownerId: 'client-a', parentTaskId: PARENT, request, idempotencyKey: key });
    while (upstream.received.length === 0) await new Promise((r) => setTimeout(r, 10));
    const retried = await submitGeneration(deps(), { ownerId: 'client-a', parentTaskId: PARENT, request, idempotencyKey: key });
    expect(retried).toEqual({ task: await first, confirmed: true });
    expect(upstream.received).toHaveLength(1);
  });

  it('answers 409 "in progress" with Retry-After when the first attempt is still in flight after the wait', async () => {
    const key = randomUUID();
    upstream.script({ status: 200, body: fixture('submit-raw-pending.json'), delayMs: 800 });
    const first = submitTask(deps(), { ownerId: 'client-a', parentTaskId: PARENT, request, idempotencyKey: key });
    while (upstream.received.length === 0) await new Promise((r) => setTimeout(r, 10));
    const error = await submitTask(deps({ inFlightWaitMs: 300 }), { ownerId: 'client-a', parentTaskId: PARENT, request, idempotencyKey: key }).catch(clientView);
    expect(error).toMatchObject({ status: 409, code: 40902, headers: { 'Retry-After': '2' } });
    expect(error.message).toMatch(/still being handled/);
    await first;
    expect(upstream.received).toHaveLength(1);
  });

  it('same-key requests racing a refusal and its release never see "different request" nor a 503', async () => {
    const key = randomUUID();
    upstream.script({ status: 400, body: { detail: 'bad' }, delayMs: 150 });
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        new Promise((r) => setTimeout(r, i * 60)).then(() =>
          submitTask(deps({ inFlightWaitMs: 2000 }), { ownerId: 'client-a', parentTaskId: PARENT, request, idempotencyKey: key }).then(
            (task) => task.task_status,
            (error) => clientView(error).status,
          ),
        ),
      ),
    );
    expect(answers.filter((answer) => answer === 409 || answer === 503)).toEqual([]);
    // The refused task, or a fresh accepted one once the key was freed: at most two upstream calls, never two for one task.
    expect(upstream.received.length).toBeLessThanOrEqual(2);
    expect(new Set(upstream.received.map((_, i) => taskIdSentUpstream(i))).size).toBe(upstream.received.length);
  });
});

describe('time budget', () => {
  it('does not call the upstream when the invocation has no time left for it: refused, task failed, nothing sent', async () => {
    const error = await submitTask(deps(), { ownerId: 'client-a', parentTaskId: PARENT, request, remainingMs: () => 900 }).catch(clientView);
    expect(error).toMatchObject({ status: 503, headers: { 'Retry-After': '2' } });
    expect(upstream.received).toHaveLength(0);
  });

  it('gives the upstream call only what the steps after it leave', async () => {
    upstream.script({ status: 200, body: fixture('submit-raw-pending.json'), delayMs: 1500 });
    const started = Date.now();
    const result = await submitGeneration(deps({}, keySource(['k']), 10_000), {
      ownerId: 'client-a',
      parentTaskId: PARENT,
      request,
      remainingMs: () => 2200 - (Date.now() - started),
      reserveAfterUpstreamMs: 1000,
    });
    // 2.2 s left, 1 s reserved: the call got about 1.2 s, not its own 10 s, and the outcome is unknown.
    expect(result.confirmed).toBe(false);
    expect(Date.now() - started).toBeLessThan(2200);
  });

  it('skips the key refresh after a 401 when there is no time for it', async () => {
    upstream.script({ status: 401, body: fixture('error-401-detail-string.json') });
    const source = keySource(['old-key', 'new-key']);
    const error = await submitTask(deps({}, source), { ownerId: 'client-a', parentTaskId: PARENT, request, remainingMs: () => 3000 }).catch(clientView);
    expect(error).toMatchObject({ status: 502 });
    expect(upstream.received).toHaveLength(1);
    expect(source.reads).toBe(1);
  });
});

describe('DynamoDB faults', () => {
  it('answers 503 and calls no upstream when the task cannot be written', async () => {
    const broken = createTaskStore({ client: tables.doc, tasksTable: 'no-such-table', idempotencyTable: tables.names.idempotency });
    await expect(asClientSees(submitTask(deps({ tasks: broken }), { ownerId: 'client-a', parentTaskId: PARENT, request }))).rejects.toMatchObject({
      status: 503,
      message: 'the task store is unavailable; retry in a few seconds',
    });
    expect(upstream.received).toHaveLength(0);
  });

  it('still answers with the task when recording the upstream answer fails', async () => {
    // DynamoDB Local cannot be made to fail one call on demand: force it.
    const flaky: TaskStore = { ...store, advance: async () => Promise.reject(new Error('ProvisionedThroughputExceeded')) };
    const errors: unknown[] = [];
    const view = await submitTask(deps({ tasks: flaky, log: { ...silentLog, error: (...args) => void errors.push(args) } }), {
      ownerId: 'client-a',
      parentTaskId: PARENT,
      request,
    });
    expect(view.task_status).toBe('pending');
    // Not lost: the task is stored (as submitting): its callbacks carry it forward, or the reconciler ends it.
    expect(await store.get(view.task_id)).toMatchObject({ task_status: 'submitting' });
    expect(errors).toHaveLength(1);
  });
});

describe('create', () => {
  it('posts to /luma/generations with no parent', async () => {
    const view = await submitTask(deps(), { ownerId: 'client-a', request });
    expect(view.parent_task_id).toBeNull();
    expect(upstream.received[0].path).toBe('/luma/generations');
    expect((await store.get(view.task_id))?.kind).toBe('create');
  });
});
