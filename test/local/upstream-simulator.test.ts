/**
 * The upstream simulator over real loopback HTTP: shapes (checked against
 * the fixtures and the domain's parser), auth, validation, state progression
 * by callbacks, callback faults, request faults, faults that lose the answer
 * to an accepted submission, and the control endpoints.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseUpstreamGeneration } from '#adapters/upstream/response';
import { SEED_GENERATION_ID, startUpstreamSimulator, type UpstreamSimulator } from '../../lib/local/upstream-simulator';
import { fixture } from '../support/fixtures';

const PARENT = '4665a07c-7641-4809-a133-10786201bb56';
const KEY = 'sk-test-upstream-key-0123456789';

interface Hook {
  readonly url: string;
  readonly received: any[];
  status: number;
  close(): Promise<void>;
}

/** A loopback receiver for the simulator's callbacks. */
async function startHook(): Promise<Hook> {
  const received: any[] = [];
  const hook = { url: '', received, status: 200, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => {
      received.push({ path: req.url, body: JSON.parse(text) });
      res.writeHead(hook.status, { 'Content-Type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hook.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/luma/callbacks/abc.secret`;
  return hook;
}

let sim: UpstreamSimulator;
let hook: Hook;

const auth = { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json', Accept: 'application/json' };
const extend = (body: unknown, headers: Record<string, string> = auth, parent = PARENT) =>
  fetch(`${sim.url}/luma/generations/${parent}/extend`, { method: 'POST', headers, body: JSON.stringify(body) });
const get = (id: string) => fetch(`${sim.url}/luma/generations/${id}`, { headers: auth });

beforeAll(async () => {
  sim = await startUpstreamSimulator({ apiKey: KEY, stepDelayMs: 40, seed: 7 });
  hook = await startHook();
});
afterAll(async () => {
  await sim.stop();
  await hook.close();
});
beforeEach(() => {
  sim.reset();
  hook.received.length = 0;
  hook.status = 200;
});

describe('shapes', () => {
  test('raw: the submit answer has the keys of the seed example, and the domain parses it as pending', async () => {
    const response = await extend({ user_prompt: 'add cat', expand_prompt: true });
    expect(response.status).toBe(200);
    const body = await response.json() as any;
    expect(Object.keys(body).sort()).toEqual(Object.keys(fixture('submit-raw-pending.json')).sort());
    expect(body).toMatchObject({ state: 'pending', prompt: '', video: null });
    expect(body.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const parsed = parseUpstreamGeneration(body);
    expect(parsed).toMatchObject({ ok: true, generation: { id: body.id, status: 'pending' } });
  });

  test('raw: GET follows pending → processing → completed, with the fixture keys and asset URLs', async () => {
    const { id } = await (await extend({ user_prompt: 'add cat' })).json() as any;
    expect((await (await get(id)).json() as any).state).toBe('pending');
    await sim.idle();
    const done = await (await get(id)).json() as any;
    for (const key of Object.keys(fixture('generation-completed.json'))) expect(done).toHaveProperty(key);
    expect(done.video.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/media\/.+\.mp4\?X-Amz-Date=/);
    const parsed = parseUpstreamGeneration(done);
    expect(parsed).toMatchObject({ ok: true, generation: { status: 'completed', videoUrl: done.video.url, thumbnailUrl: done.thumbnail.url, lastFrameUrl: done.last_frame.url } });
  });

  test('wrapped: envelope with ms timestamps; failed carries the reason; the domain parses both', async () => {
    sim.setFaults({ shape: 'wrapped', outcome: 'failed', failureReason: 'content moderation' });
    const body = await (await extend({ user_prompt: 'add cat' })).json() as any;
    expect(Object.keys(body).sort()).toEqual(Object.keys(fixture('submit-wrapped.json')).sort());
    expect(body).toMatchObject({ code: 0, message: 'SUCCEED', data: { task_status: 'submitted' } });
    expect(body.data.created_at).toBeGreaterThan(1e12);
    expect(parseUpstreamGeneration(body)).toMatchObject({ ok: true, generation: { status: 'pending' } });
    await sim.idle();
    const failed = await (await get(body.data.task_id)).json() as any;
    expect(failed.data).toMatchObject({ task_status: 'failed', fail_reason: 'content moderation' });
    expect(parseUpstreamGeneration(failed)).toMatchObject({ ok: true, generation: { status: 'failed', failureReason: 'content moderation' } });
  });

  test('wrapped completed parses as completed with a video URL', async () => {
    sim.setFaults({ shape: 'wrapped' });
    const { data } = await (await fetch(`${sim.url}/luma/generations`, { method: 'POST', headers: auth, body: JSON.stringify({ user_prompt: 'a cat' }) })).json() as any;
    await sim.idle();
    const done = await (await get(data.task_id)).json() as any;
    expect(done.data.task_status).toBe('succeed');
    expect(parseUpstreamGeneration(done)).toMatchObject({ ok: true, generation: { status: 'completed', videoUrl: expect.stringMatching(/\.mp4\?X-Amz-Date=/) } });
  });

  test('GET: the seed generation is known; an unknown id is 404', async () => {
    expect((await (await get(SEED_GENERATION_ID)).json() as any).state).toBe('completed');
    const missing = await get('00000000-0000-4000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(await missing.json() as any).toEqual({ detail: expect.any(String) });
  });
});

describe('auth, validation, records', () => {
  test('a missing or wrong key is 401 with the upstream body; the record says so without the key', async () => {
    const none = await extend({ user_prompt: 'x' }, { 'Content-Type': 'application/json' });
    expect(none.status).toBe(401);
    expect(await none.json() as any).toEqual(fixture('error-401-detail-string.json'));
    const wrong = await extend({ user_prompt: 'x' }, { ...auth, Authorization: 'Bearer sk-wrong-key-000000000000' });
    expect(wrong.status).toBe(401);
    await extend({ user_prompt: 'x' });
    expect(sim.requests.map((r) => r.auth)).toEqual(['missing', 'invalid', 'valid']);
    expect(sim.requests.map((r) => r.authValid)).toEqual([false, false, true]);
    expect(JSON.stringify(sim.requests)).not.toContain(KEY);
    expect(JSON.stringify(sim.requests)).not.toContain('sk-wrong-key');
    expect(sim.requests[2]).toMatchObject({ method: 'POST', path: `/luma/generations/${PARENT}/extend`, body: { user_prompt: 'x' }, status: 200 });
    expect(sim.requests[2].headers['content-type']).toBe('application/json');
    expect(sim.requests[2].headers).not.toHaveProperty('authorization');
  });

  test('a body without user_prompt is 400 with the detail object', async () => {
    for (const body of [{}, { user_prompt: '' }, { user_prompt: 3 }, 'not json']) {
      const response = await fetch(`${sim.url}/luma/generations/${PARENT}/extend`, {
        method: 'POST',
        headers: auth,
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      expect(response.status).toBe(400);
      expect(await response.json() as any).toEqual(fixture('error-400-detail-object.json'));
    }
  });

  test('a rotated key: the old one becomes invalid', async () => {
    sim.setApiKey('sk-rotated-key-0000000000');
    expect((await extend({ user_prompt: 'x' })).status).toBe(401);
    expect((await extend({ user_prompt: 'x' }, { ...auth, Authorization: 'Bearer sk-rotated-key-0000000000' })).status).toBe(200);
    sim.setApiKey(KEY);
  });
});

describe('callbacks', () => {
  const states = () => hook.received.map((r) => r.body.state ?? r.body.data?.task_status);

  test('pending → processing → completed are POSTed to the notify_hook given, in order', async () => {
    const { id } = await (await extend({ user_prompt: 'add cat', notify_hook: hook.url })).json() as any;
    await sim.idle();
    expect(states()).toEqual(['pending', 'processing', 'completed']);
    expect(hook.received.every((r) => r.path === '/luma/callbacks/abc.secret' && r.body.id === id)).toBe(true);
    expect(hook.received[2].body.video.url).toMatch(/\.mp4\?X-Amz-Date=\d+&X-Amz-Expires=3600$/);
    expect(sim.callbacks.map((d) => [d.state, d.outcome, d.attempts])).toEqual([
      ['pending', 'delivered', 1],
      ['processing', 'delivered', 1],
      ['completed', 'delivered', 1],
    ]);
  });

  test("outcome 'failed' ends with failure_reason; 'never' stays processing", async () => {
    sim.setFaults({ outcome: 'failed' });
    await extend({ user_prompt: 'a', notify_hook: hook.url });
    await sim.idle();
    expect(states()).toEqual(['pending', 'processing', 'failed']);
    expect(hook.received[2].body.failure_reason).toBe('Advanced moderation failed');

    hook.received.length = 0;
    sim.setFaults({ outcome: 'never' });
    const { id } = await (await extend({ user_prompt: 'b', notify_hook: hook.url })).json() as any;
    await sim.idle();
    expect(states()).toEqual(['pending', 'processing']);
    expect(sim.generation(id)?.state).toBe('processing');
  });

  test('dropRate 1 loses every callback; duplicate sends each twice; reorder sends them in reverse', async () => {
    sim.setFaults({ callbacks: { dropRate: 1 } });
    await extend({ user_prompt: 'a', notify_hook: hook.url });
    await sim.idle();
    expect(hook.received).toHaveLength(0);
    expect(sim.callbacks.map((d) => d.outcome)).toEqual(['dropped', 'dropped', 'dropped']);

    sim.setFaults({ callbacks: { dropRate: 0, duplicate: true } });
    await extend({ user_prompt: 'b', notify_hook: hook.url });
    await sim.idle();
    expect(states()).toEqual(['pending', 'pending', 'processing', 'processing', 'completed', 'completed']);

    hook.received.length = 0;
    sim.setFaults({ callbacks: { duplicate: false, reorder: true } });
    await extend({ user_prompt: 'c', notify_hook: hook.url });
    await sim.idle();
    expect(states()).toEqual(['completed', 'processing', 'pending']);
  });

  test('dropRate 0.5 is repeatable with the same seed', async () => {
    const outcomes = async () => {
      sim.reset();
      sim.setFaults({ stepDelayMs: 5, callbacks: { dropRate: 0.5 } });
      for (let i = 0; i < 4; i += 1) await extend({ user_prompt: `p${i}`, notify_hook: hook.url });
      await sim.idle();
      return sim.callbacks.map((d) => d.outcome).sort().join(',');
    };
    const first = await outcomes();
    expect(first).toContain('dropped');
    expect(first).toContain('delivered');
    expect(await outcomes()).toBe(first);
  });

  test('a failing hook is retried 3 times, then given up', async () => {
    hook.status = 500;
    sim.setFaults({ outcome: 'never' });
    await extend({ user_prompt: 'a', notify_hook: hook.url });
    await sim.idle();
    expect(sim.callbacks.map((d) => [d.outcome, d.attempts, d.status])).toEqual([
      ['failed', 4, 500],
      ['failed', 4, 500],
    ]);
    expect(hook.received).toHaveLength(8);
  });

  test('callbacks delayMs delays each callback', async () => {
    sim.setFaults({ outcome: 'never', stepDelayMs: 10, callbacks: { delayMs: 150 } });
    const started = Date.now();
    await extend({ user_prompt: 'a', notify_hook: hook.url });
    await sim.waitForCallbacks(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    await sim.idle();
  });

  test('a hook that is not on loopback is never called', async () => {
    await extend({ user_prompt: 'a', notify_hook: 'https://example.com/hook' });
    await sim.idle();
    expect(sim.callbacks.map((d) => d.outcome)).toEqual(['refused', 'refused', 'refused']);
  });
});

describe('request faults', () => {
  test.each([
    [401, 'error-401-detail-string.json'],
    [400, 'error-400-detail-object.json'],
    [500, 'error-500-panic.json'],
  ])('errorRate 1, errorStatus %i: the fixture body', async (status, name) => {
    sim.setFaults({ errorRate: 1, errorStatus: status });
    const response = await extend({ user_prompt: 'x' });
    expect(response.status).toBe(status);
    expect(await response.json() as any).toEqual(fixture(name));
    expect(sim.requests[0]).toMatchObject({ fault: 'error', status });
  });

  test('429 carries Retry-After; 503 is not JSON', async () => {
    sim.setFaults({ errorRate: 1, errorStatus: 429, retryAfterSeconds: 3 });
    const throttled = await extend({ user_prompt: 'x' });
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('3');
    expect((await throttled.json() as any).detail).toBeDefined();
    sim.setFaults({ errorStatus: 503 });
    const unavailable = await extend({ user_prompt: 'x' });
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await unavailable.text();
    expect(() => JSON.parse(text)).toThrow();
  });

  test('errorRate 0.5 fails about half, repeatably with the same seed', async () => {
    const statuses = async () => {
      sim.reset();
      sim.setFaults({ errorRate: 0.5, outcome: 'never' });
      const seen: number[] = [];
      for (let i = 0; i < 10; i += 1) seen.push((await extend({ user_prompt: 'x' })).status);
      return seen;
    };
    const first = await statuses();
    expect(first.filter((s) => s === 500).length).toBeGreaterThan(1);
    expect(first.filter((s) => s === 200).length).toBeGreaterThan(1);
    expect(await statuses()).toEqual(first);
  });

  test('latency delays the answer', async () => {
    sim.setFaults({ latencyMs: 150 });
    const started = Date.now();
    expect((await extend({ user_prompt: 'x' })).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  test('hang never answers; reset destroys the connection', async () => {
    sim.setFaults({ hang: true });
    const hung = await fetch(`${sim.url}/luma/generations/${PARENT}/extend`, {
      method: 'POST',
      headers: auth,
      body: '{"user_prompt":"x"}',
      signal: AbortSignal.timeout(200),
    }).catch((error: Error) => error);
    expect((hung as Error).name).toBe('TimeoutError');
    sim.setFaults({ hang: false, resetConnection: true });
    const reset = await extend({ user_prompt: 'x' }).catch((error: Error) => error);
    expect((reset as Error).name).toBe('TypeError'); // fetch failed: the socket was reset
    expect(sim.requests.map((r) => r.fault)).toEqual(['hang', 'reset']);
  });
});

describe('faults after acceptance (the generation exists, its answer is lost)', () => {
  const states = () => hook.received.map((r) => r.body.state);
  const submitWithHook = (signal?: AbortSignal) =>
    fetch(`${sim.url}/luma/generations/${PARENT}/extend`, { method: 'POST', headers: auth, body: JSON.stringify({ user_prompt: 'add cat', notify_hook: hook.url }), signal });

  /** The one generation created: it progressed to completed and its hook got every state, ending with the final one. */
  async function expectAcceptedAndCalledBack(fault: string) {
    await sim.idle();
    const [request] = sim.submissions();
    expect(request).toMatchObject({ fault, generationId: expect.any(String) });
    const created = sim.createdGenerations();
    expect(created.map((g) => g.id)).toEqual([request.generationId]);
    expect(created[0]).toMatchObject({ state: 'completed', prompt: 'add cat', parentId: PARENT, afterAccept: fault.replace('accept-', '') });
    expect(states()).toEqual(['pending', 'processing', 'completed']);
    expect(hook.received.every((r) => r.body.id === request.generationId)).toBe(true);
    expect(hook.received[2].body.video.url).toMatch(/\.mp4\?X-Amz-Date=\d+&X-Amz-Expires=3600$/);
    // GET is not faulted: the accepted generation can be read.
    const read = await get(request.generationId!);
    expect(read.status).toBe(200);
    expect((await read.json() as any).state).toBe('completed');
  }

  test("afterAccept 'hang': the caller times out, the generation runs and calls back", async () => {
    sim.setFaults({ afterAccept: 'hang' });
    const answer = await submitWithHook(AbortSignal.timeout(300)).catch((error: Error) => error);
    expect((answer as Error).name).toBe('TimeoutError');
    expect(sim.submissions()[0].status).toBeUndefined();
    await expectAcceptedAndCalledBack('accept-hang');
  });

  test("afterAccept 'reset': the connection is destroyed, the generation runs and calls back", async () => {
    sim.setFaults({ afterAccept: 'reset' });
    const answer = await submitWithHook().catch((error: Error) => error);
    expect((answer as Error).name).toBe('TypeError'); // fetch failed
    expect(((answer as Error).cause as NodeJS.ErrnoException).code).toBe('ECONNRESET');
    expect(sim.submissions()[0].status).toBeUndefined();
    await expectAcceptedAndCalledBack('accept-reset');
  });

  test("afterAccept '5xx': the upstream's panic body, the generation runs and calls back", async () => {
    sim.setFaults({ afterAccept: '5xx' });
    const answer = await submitWithHook();
    expect(answer.status).toBe(500);
    expect(await answer.json() as any).toEqual(fixture('error-500-panic.json'));
    expect(sim.submissions()[0].status).toBe(500);
    await expectAcceptedAndCalledBack('accept-5xx');
  });

  test("afterAccept '5xx' with afterAcceptStatus 503: the proxy's text body with Retry-After", async () => {
    sim.setFaults({ afterAccept: '5xx', afterAcceptStatus: 503, retryAfterSeconds: 2 });
    const answer = await submitWithHook();
    expect(answer.status).toBe(503);
    expect(answer.headers.get('retry-after')).toBe('2');
    expect(await answer.text()).toMatch(/^upstream connect error/);
    await expectAcceptedAndCalledBack('accept-5xx');
  });

  test('errorEnvelope: HTTP 200 with the refusal, nothing created, no callback', async () => {
    sim.setFaults({ errorEnvelope: {} });
    const answer = await submitWithHook();
    expect(answer.status).toBe(200);
    expect(await answer.json() as any).toEqual({ code: 1001, message: 'insufficient balance', data: null });

    sim.setFaults({ errorEnvelope: { code: 4003, message: 'prompt rejected by moderation' }, afterAccept: 'hang' });
    const custom = await submitWithHook(AbortSignal.timeout(2000)); // the envelope wins: no answer to lose
    expect(await custom.json() as any).toEqual({ code: 4003, message: 'prompt rejected by moderation', data: null });

    await sim.idle();
    expect(sim.createdGenerations()).toEqual([]);
    expect(hook.received).toHaveLength(0);
    expect(sim.submissions().map((r) => [r.fault, r.status, r.generationId])).toEqual([
      ['error-envelope', 200, undefined],
      ['error-envelope', 200, undefined],
    ]);
    expect((await get(SEED_GENERATION_ID)).status).toBe(200); // GET is not refused

    sim.setFaults({ errorEnvelope: null, afterAccept: 'none' });
    expect((await submitWithHook()).status).toBe(200);
    expect(sim.createdGenerations()).toHaveLength(1);
  });

  test('rates: about half lost, repeatably with the same seed; every submission accepted is counted once', async () => {
    const run = async () => {
      sim.reset();
      sim.setFaults({ afterAccept: '5xx', afterAcceptRate: 0.5, outcome: 'never' });
      const seen: number[] = [];
      for (let i = 0; i < 10; i += 1) seen.push((await extend({ user_prompt: `p${i}` })).status);
      return seen;
    };
    const first = await run();
    expect(first.filter((s) => s === 500).length).toBeGreaterThan(1);
    expect(first.filter((s) => s === 200).length).toBeGreaterThan(1);
    expect(sim.submissions()).toHaveLength(10);
    expect(sim.createdGenerations()).toHaveLength(10);
    expect(sim.createdGenerations().map((g) => g.afterAccept === '5xx')).toEqual(first.map((s) => s === 500));
    expect(await run()).toEqual(first);

    sim.reset();
    sim.setFaults({ errorEnvelope: {}, errorEnvelopeRate: 0.5, outcome: 'never' });
    const bodies = [];
    for (let i = 0; i < 10; i += 1) bodies.push(await (await extend({ user_prompt: `q${i}` })).json() as any);
    const refused = bodies.filter((b) => b.code === 1001).length;
    expect(refused).toBeGreaterThan(1);
    expect(refused).toBeLessThan(10);
    expect(sim.createdGenerations()).toHaveLength(10 - refused);
  });

  test('submissions() counts POSTs of both routes whatever their fault, not GETs; create is faulted too', async () => {
    sim.setFaults({ afterAccept: 'reset', outcome: 'never' });
    await fetch(`${sim.url}/luma/generations`, { method: 'POST', headers: auth, body: '{"user_prompt":"a dog"}' }).catch(() => undefined);
    await extend({ user_prompt: 'x' }).catch(() => undefined);
    await get(SEED_GENERATION_ID);
    expect(sim.submissions().map((r) => [r.path, r.fault])).toEqual([
      ['/luma/generations', 'accept-reset'],
      [`/luma/generations/${PARENT}/extend`, 'accept-reset'],
    ]);
    expect(sim.createdGenerations().map((g) => g.parentId)).toEqual([undefined, PARENT]);
    expect(sim.requests).toHaveLength(3);
  });

  test('before acceptance nothing is created: a bad body, a wrong key, or a request fault', async () => {
    sim.setFaults({ afterAccept: 'hang' });
    expect((await extend({ user_prompt: '' })).status).toBe(400);
    expect((await extend({ user_prompt: 'x' }, { ...auth, Authorization: 'Bearer sk-wrong-key-000000000000' })).status).toBe(401);
    sim.setFaults({ errorRate: 1, errorStatus: 502 });
    expect((await extend({ user_prompt: 'x' })).status).toBe(502);
    expect(sim.submissions().map((r) => r.fault)).toEqual([undefined, undefined, 'error']);
    expect(sim.createdGenerations()).toEqual([]);
  });
});

describe('control endpoints', () => {
  test('POST /_sim/faults changes settings; bad values are 400; GET /_sim/requests; POST /_sim/reset', async () => {
    const changed = await fetch(`${sim.url}/_sim/faults`, { method: 'POST', body: JSON.stringify({ shape: 'wrapped', callbacks: { duplicate: true, dropRate: 1 } }) });
    expect(changed.status).toBe(200);
    expect(await changed.json() as any).toMatchObject({ shape: 'wrapped', callbacks: { duplicate: true, dropRate: 1, reorder: false } });
    expect(sim.settings.shape).toBe('wrapped');

    for (const bad of [
      { errorRate: 2 }, { shape: 'xml' }, { nope: 1 }, { callbacks: { dropRate: 'a' } },
      { afterAccept: 'drop' }, { afterAcceptStatus: 404 }, { afterAcceptRate: -1 },
      { errorEnvelope: { code: 0 } }, { errorEnvelope: { code: 1001, extra: 1 } }, { errorEnvelope: 'balance' }, { errorEnvelopeRate: 1.5 },
    ]) {
      const refused = await fetch(`${sim.url}/_sim/faults`, { method: 'POST', body: JSON.stringify(bad) });
      expect(refused.status).toBe(400);
      expect((await refused.json() as any).detail).toEqual(expect.any(String));
    }
    expect(sim.settings.shape).toBe('wrapped');

    await extend({ user_prompt: 'x', notify_hook: 'http://127.0.0.1:9/luma/callbacks/secret-token' });
    const recorded = await (await fetch(`${sim.url}/_sim/requests`)).json() as any;
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ path: `/luma/generations/${PARENT}/extend`, authValid: true });

    await sim.idle();
    const deliveries = await (await fetch(`${sim.url}/_sim/callbacks`)).json() as any;
    expect(JSON.stringify(deliveries)).not.toContain('secret-token');

    expect((await fetch(`${sim.url}/_sim/reset`, { method: 'POST' })).status).toBe(200);
    expect(sim.settings.shape).toBe('raw');
    expect(sim.requests).toHaveLength(0);
  });

  test('POST /_sim/faults sets the faults after acceptance; GET /_sim/generations lists what was created, without tokens', async () => {
    const changed = await fetch(`${sim.url}/_sim/faults`, { method: 'POST', body: JSON.stringify({ afterAccept: '5xx', afterAcceptStatus: 502, errorEnvelope: { message: 'quota exceeded' }, errorEnvelopeRate: 0 }) });
    expect(await changed.json() as any).toMatchObject({ afterAccept: '5xx', afterAcceptStatus: 502, afterAcceptRate: 1, errorEnvelope: { code: 1001, message: 'quota exceeded' }, errorEnvelopeRate: 0 });
    const answer = await extend({ user_prompt: 'x', notify_hook: 'http://127.0.0.1:9/luma/callbacks/secret-token' });
    expect(answer.status).toBe(502);
    expect(answer.headers.get('content-type')).toBe('text/html');
    const recorded = await (await fetch(`${sim.url}/_sim/requests`)).json() as any;
    expect(recorded[0]).toMatchObject({ fault: 'accept-5xx', status: 502, generationId: expect.any(String) });
    const listed = await (await fetch(`${sim.url}/_sim/generations`)).json() as any;
    expect(listed).toEqual([expect.objectContaining({ id: recorded[0].generationId, afterAccept: '5xx', notifyHook: 'http://127.0.0.1:9/luma/callbacks/{token}' })]);
    expect(JSON.stringify(listed)).not.toContain('secret-token');
    await sim.idle();
  });

  test('POST /_sim/api-key rotates the expected key', async () => {
    expect((await fetch(`${sim.url}/_sim/api-key`, { method: 'POST', body: '{"apiKey":"sk-new-key-123456"}' })).status).toBe(200);
    expect((await extend({ user_prompt: 'x' })).status).toBe(401);
    sim.setApiKey(KEY);
  });
});

describe('media', () => {
  test("a completed generation's links serve its real media (an MP4, JPEGs) until they expire, then 403; mediaStatus answers a fault", async () => {
    sim.setFaults({ mediaLinkTtlSeconds: 1 });
    try {
      const { id } = (await (await extend({ user_prompt: 'media' })).json()) as any;
      await sim.idle();
      const done = (await (await get(id)).json()) as any;
      const video = await fetch(done.video.url);
      expect(video.status).toBe(200);
      expect(video.headers.get('content-type')).toBe('video/mp4');
      const bytes = Buffer.from(await video.arrayBuffer());
      expect(bytes.toString('latin1', 4, 8)).toBe('ftyp');
      expect(Number(video.headers.get('content-length'))).toBe(bytes.length);
      const raw = Buffer.from(await (await fetch(done.video_raw.url)).arrayBuffer());
      expect(raw.equals(bytes)).toBe(false);
      const thumbnail = await fetch(done.thumbnail.url);
      expect(thumbnail.headers.get('content-type')).toBe('image/jpeg');
      expect(Buffer.from(await thumbnail.arrayBuffer()).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));

      sim.setFaults({ mediaStatus: 503 });
      expect((await fetch(done.last_frame.url)).status).toBe(503);
      sim.setFaults({ mediaStatus: 0 });
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expect((await fetch(done.video.url)).status).toBe(403);
      expect((await fetch(`${sim.url}/media/unknown/video.mp4?X-Amz-Date=${Date.now()}&X-Amz-Expires=60`)).status).toBe(404);
    } finally {
      sim.reset();
    }
  });
});
