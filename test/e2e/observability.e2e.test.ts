/**
 * What an operator gets from the local stack, captured whole and searched:
 * the logs and the EMF metrics (the stack's stdout and stderr, as
 * `npm start` prints them) and the trace segments (a UDP listener standing
 * in for the X-Ray daemon, AWS_XRAY_DAEMON_ADDRESS, which turns the Tracer
 * on), over a run that goes through every function: an extend with a data:
 * image, a notify_hook and an Idempotency-Key (and its replay), the
 * upstream's callbacks (whose URL path holds the token), forged and
 * malformed callbacks, GET, the deliveries, the task-changes consumer, and the
 * reconciler healing a lost callback, failing an unconfirmed submission and
 * a task past its deadline, plus a refused submission.
 *
 * None of the client key, the callback token or its secret part, the
 * upstream key, the webhook secret or the image's data may appear in any of
 * it. Failures name what was found where, never the secret itself.
 *
 * The same capture holds the metric contract: every metric emitted is in
 * lib/gateway-metrics.ts with its dimension sets, and every metric an alarm
 * of the stack reads was emitted with exactly the alarm's dimensions.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COLD_START_METRIC, dimensionSetsOf, GATEWAY_METRICS, GATEWAY_METRICS_NAMESPACE, type GatewayMetricName } from '../../lib/gateway-metrics';
import { resourcesOf, synthStack } from '../infra/helpers';
import { checkResponsesFrom } from '../support/api-responses';
import { startHookServer, type HookServer } from '../support/hook-server';
import { eventually, READY_BANNER, REPO, stackEnv } from '../support/local-process';

jest.setTimeout(120_000);

const PARENT = '4665a07c-7641-4809-a133-10786201bb56';
const DEADLINE_SECONDS = 8;
const CONFIRM_SECONDS = 2;

const CLIENT_KEY = `lgw_${randomBytes(32).toString('base64url')}`;
const WEBHOOK_SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const UPSTREAM_KEY = `sk-obs-${randomBytes(24).toString('base64url')}`;
const IMAGE_DATA = randomBytes(3000).toString('base64');
const IMAGE_URL = `data:image/png;base64,${IMAGE_DATA}`;

let daemon: Socket;
const segments: string[] = [];
let hook: HookServer;
let child: ChildProcess;
/** The running stack, as the e2e files name it. */
let stack: { url: string };
let output = '';
let stateDir: string;
let api: string;
let sim: string;

interface Answer {
  status: number;
  body: any;
}

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${api}${path}`, {
    method,
    headers: { Authorization: `Bearer ${CLIENT_KEY}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

async function simulator(path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${sim}${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
  return response.json();
}

const faults = async (patch: Record<string, unknown>) => {
  await simulator('/_sim/reset', {});
  await simulator('/_sim/faults', patch);
};

async function taskReaches(taskId: string, done: (task: any) => boolean, timeoutMs = 20_000): Promise<any> {
  let last: any;
  const reached = await eventually(async () => {
    last = (await call('GET', `/luma/generations/${taskId}`)).body?.data;
    return last !== undefined && done(last);
  }, timeoutMs, 150);
  if (!reached) throw new Error(`task ${taskId} stayed ${last?.task_status} (${last?.failure_code ?? 'no failure code'})`);
  return last;
}

/** What the run produced, after the banner: handler logs, EMF lines, access log lines. */
const captured = () => output.slice(output.search(READY_BANNER));
const jsonLines = () =>
  captured()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, any>;
      } catch {
        return undefined;
      }
    })
    .filter((line): line is Record<string, any> => line !== undefined);
const logLines = () => jsonLines().filter((line) => typeof line.level === 'string');
const emfLines = () => jsonLines().filter((line) => line._aws !== undefined);

/** X-Ray daemon datagrams: a header line, then one segment document. */
const segmentDocuments = () => segments.map((datagram) => JSON.parse(datagram.slice(datagram.indexOf('\n') + 1)) as Record<string, any>);

let mainTask: { taskId: string; requestId: string; token: string; upstreamRequestId: string };

beforeAll(async () => {
  daemon = createSocket('udp4');
  daemon.on('message', (message) => segments.push(message.toString('utf8')));
  await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', () => resolve()));
  hook = await startHookServer();
  stateDir = mkdtempSync(join(tmpdir(), 'luma-obs-'));

  child = spawn(join(REPO, 'node_modules', '.bin', 'tsx'), ['bin/local.ts'], {
    cwd: REPO,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: stackEnv({
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
      LOCAL_ACCESS_LOG: 'json',
      LOCAL_CLIENT_KEY: CLIENT_KEY,
      LOCAL_WEBHOOK_SECRET: WEBHOOK_SECRET,
      UPSTREAM_API_KEY: UPSTREAM_KEY,
      AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${daemon.address().port}`,
      LOCAL_RECONCILE_EVERY_MS: '300',
      RECONCILE_AFTER_SECONDS: '1',
      CONFIRM_DEADLINE_SECONDS: String(CONFIRM_SECONDS),
      TASK_DEADLINE_SECONDS: String(DEADLINE_SECONDS),
      LOCAL_STATE_FILE: join(stateDir, 'stack.json'),
    }),
  });
  const collect = (chunk: Buffer) => (output += chunk.toString('utf8'));
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  if (!(await eventually(() => READY_BANNER.test(output), 60_000))) throw new Error('the local stack did not start');
  api = /API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output)![1];
  sim = /simulator at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)![1];
  stack = { url: api };
  checkResponsesFrom(stack.url);

  // 1. One task's whole life: extend with an image, a hook and a key; its replay; callbacks; notifications; GET.
  const body = { user_prompt: 'a lighthouse at dawn', expand_prompt: true, image_url: IMAGE_URL, notify_hook: hook.url };
  const idempotency = { 'Idempotency-Key': `obs-${randomBytes(6).toString('hex')}` };
  const extended = await call('POST', `/luma/generations/${PARENT}/extend`, body, idempotency);
  expect(extended.status).toBe(200);
  expect((await call('POST', `/luma/generations/${PARENT}/extend`, body, idempotency)).body.data.task_id).toBe(extended.body.data.task_id);
  const taskId = extended.body.data.task_id as string;
  await taskReaches(taskId, (task) => task.task_status === 'completed');
  await hook.waitFor(3, 20_000);
  expect((await call('GET', `/luma/generations/${taskId}/deliveries`)).status).toBe(200);
  const submission = (await simulator('/_sim/requests')).find((request: any) => request.method === 'POST' && request.body?.notify_hook?.includes('/luma/callbacks/'));
  const token = /\/luma\/callbacks\/([^/?]+)$/.exec(submission.body.notify_hook)![1];
  mainTask = { taskId, requestId: extended.body.request_id, token, upstreamRequestId: submission.headers['x-request-id'] };

  // 2. A replayed callback, a forged one (its task's id, another secret), a malformed one, and a bad request with the image.
  const generation = { id: (await simulator('/_sim/generations'))[0]?.id, state: 'completed', video: { url: 'https://cdn.example.com/v.mp4' } };
  expect((await fetch(`${api}/luma/callbacks/${token}`, { method: 'POST', body: JSON.stringify(generation) })).status).toBeLessThan(500);
  expect((await fetch(`${api}/luma/callbacks/${taskId}.${randomBytes(32).toString('base64url')}`, { method: 'POST', body: '{}' })).status).toBe(404);
  expect((await fetch(`${api}/luma/callbacks/${token}`, { method: 'POST', body: '{"nothing":true}' })).status).toBe(400);
  expect((await call('POST', '/luma/generations', { ...body, prompt: 'typo' })).status).toBe(400);
  expect((await call('GET', `/luma/generations/${taskId}`, undefined, { Authorization: `Bearer lgw_${randomBytes(32).toString('base64url')}` })).status).toBe(401);

  // 3. The reconciler: a lost callback healed, an unconfirmed submission failed, a task failed at its deadline.
  await faults({ callbacks: { dropRate: 1 } });
  const healed = (await call('POST', '/luma/generations', { user_prompt: 'callbacks lost', notify_hook: hook.url })).body.data.task_id;
  await taskReaches(healed, (task) => task.task_status === 'completed');
  await faults({ afterAccept: 'reset', callbacks: { dropRate: 1 } });
  const unconfirmed = await call('POST', '/luma/generations', { user_prompt: 'answer lost', notify_hook: hook.url });
  expect(unconfirmed.status).toBe(202);
  await faults({ outcome: 'never' });
  const stuck = (await call('POST', '/luma/generations', { user_prompt: 'never ends' })).body.data.task_id;
  await taskReaches(unconfirmed.body.data.task_id, (task) => task.failure_code === 'unconfirmed');
  await taskReaches(stuck, (task) => task.failure_code === 'deadline', (DEADLINE_SECONDS + 10) * 1000);

  // 4. A refusal (an error envelope in an HTTP 200), and an upstream error (a 500 on the submission).
  await faults({ errorEnvelope: { code: 1001, message: 'insufficient balance' } });
  expect((await call('POST', '/luma/generations', { user_prompt: 'no credit' })).status).toBe(402);
  await faults({ errorRate: 1, errorStatus: 500 });
  await call('POST', '/luma/generations', { user_prompt: 'upstream down' });
  await faults({});

  // The last scheduled runs, then a clean stop: everything is written.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(-child.pid!, 'SIGINT');
  await exited;
}, 120_000);

afterAll(async () => {
  if (child?.exitCode === null && child.pid) process.kill(-child.pid, 'SIGKILL');
  daemon?.close();
  await hook?.close();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe('no secret in any log, metric or trace', () => {
  const secrets = () => ({
    'the client key': CLIENT_KEY,
    'the callback token': mainTask.token,
    "the callback token's secret": mainTask.token.split('.')[1],
    'the upstream key': UPSTREAM_KEY,
    'the webhook secret': WEBHOOK_SECRET,
    "the webhook secret's key": WEBHOOK_SECRET.slice('whsec_'.length),
    'the image data': IMAGE_DATA.slice(1000, 1064),
  });

  it('captured logs, metrics and traces from every function (the search is not vacuous)', () => {
    const functions = new Set(logLines().map((line) => line.function_name));
    // GET and the deliveries log nothing of their own: the access log has them.
    for (const name of ['authorizer', 'extend', 'create', 'callback', 'task-changes', 'reconciler']) expect(functions).toContain(`luma-gateway-local-${name}`);
    const routes = new Set(jsonLines().map((line) => line.resourcePath));
    for (const route of ['/luma/generations/{task_id}', '/luma/generations/{task_id}/deliveries', '/luma/callbacks/{token}']) expect(routes).toContain(route);
    expect(emfLines().length).toBeGreaterThan(10);
    const documents = segmentDocuments();
    expect(documents.some((segment) => segment.name === '## index.handler' && segment.annotations?.ColdStart !== undefined)).toBe(true);
    expect(documents.some((segment) => segment.namespace === 'aws' && segment.name === 'DynamoDB')).toBe(true);
    expect(documents.some((segment) => segment.namespace === 'remote' && String(segment.http?.request?.url).includes('/luma/generations/'))).toBe(true);
  });

  it.each(['logs and metrics (stdout, stderr)', 'trace segments'])('none in the %s', (where) => {
    const haystack = where === 'trace segments' ? segments.join('\n') : captured();
    const found = Object.entries(secrets()).filter(([, secret]) => haystack.includes(secret)).map(([name]) => name);
    expect(found).toEqual([]);
  });
});

describe("one task's life in the logs", () => {
  const aboutMainTask = () => logLines().filter((line) => line.task_id === mainTask.taskId);

  it('the request id from the request through the upstream call, the callbacks and the task-changes consumer', () => {
    const lines = aboutMainTask();
    const upstream = lines.find((line) => line.message === 'upstream call' && line.operation === 'submit');
    expect(upstream).toMatchObject({ request_id: mainTask.requestId, http_status: 200, result: 'answered' });
    expect(lines.find((line) => line.message === 'task submitted')).toMatchObject({ request_id: mainTask.requestId, function_name: 'luma-gateway-local-extend' });
    expect(lines.filter((line) => line.message === 'callback applied').length).toBeGreaterThanOrEqual(1);
    for (const line of lines.filter((l) => l.function_name === 'luma-gateway-local-callback' && l.level === 'INFO')) {
      expect(line.client_request_id).toBe(mainTask.requestId);
    }
    const delivered = lines.filter((line) => line.message === 'notification delivered');
    expect(delivered.map((line) => line.task_status)).toEqual(expect.arrayContaining(['pending', 'processing', 'completed']));
    for (const line of delivered) expect(line.client_request_id).toBe(mainTask.requestId);
  });

  it('the upstream got the request id as X-Request-Id', () => {
    expect(mainTask.upstreamRequestId).toBe(mainTask.requestId);
  });

  it('the reconciler says what it did to each task', () => {
    const messages = logLines().filter((line) => line.function_name === 'luma-gateway-local-reconciler').map((line) => `${line.message} ${line.failure_code ?? ''}`.trim());
    expect(messages).toEqual(expect.arrayContaining(['task moved by the reconciler (its callback was lost)', 'task failed by the reconciler unconfirmed', 'task failed by the reconciler deadline']));
  });
});

describe('the metric contract (lib/gateway-metrics.ts)', () => {
  type Emitted = { name: string; dimensions: string; values: Record<string, unknown> };
  const emitted = (): Emitted[] =>
    emfLines().flatMap((line) =>
      line._aws.CloudWatchMetrics.flatMap((directive: any) =>
        directive.Metrics.flatMap((metric: any) =>
          directive.Dimensions.map((set: string[]) => ({ name: metric.Name, dimensions: [...set].sort().join(','), values: { ...line, namespace: directive.Namespace } })),
        ),
      ),
    );

  it('every metric emitted is in the contract, in its namespace, under its dimension sets, for the local stage', () => {
    for (const { name, dimensions, values } of emitted()) {
      expect(values).toMatchObject({ namespace: GATEWAY_METRICS_NAMESPACE, service: 'luma-gateway', stage: 'local' });
      if (name === COLD_START_METRIC) {
        expect(dimensions).toBe('function_name,service,stage');
        continue;
      }
      expect(Object.keys(GATEWAY_METRICS)).toContain(name);
      expect(dimensionSetsOf(name as GatewayMetricName).map((set) => [...set].sort().join(','))).toContain(dimensions);
    }
  });

  it('every metric an alarm of the stack reads was emitted, with exactly the dimensions the alarm matches', () => {
    const alarms = Object.values(resourcesOf(synthStack().template, 'AWS::CloudWatch::Alarm')).map((alarm) => alarm.Properties);
    const read = alarms.flatMap((alarm: any) => [
      ...(alarm.Namespace === GATEWAY_METRICS_NAMESPACE ? [{ name: alarm.MetricName, dimensions: alarm.Dimensions }] : []),
      ...(alarm.Metrics ?? []).filter((m: any) => m.MetricStat?.Metric.Namespace === GATEWAY_METRICS_NAMESPACE).map((m: any) => ({ name: m.MetricStat.Metric.MetricName, dimensions: m.MetricStat.Metric.Dimensions })),
    ]);
    expect(read.length).toBeGreaterThanOrEqual(4);
    const seen = new Set(emitted().map(({ name, dimensions }) => `${name}|${dimensions}`));
    for (const { name, dimensions } of read) {
      expect(seen).toContain(`${name}|${dimensions.map((d: { Name: string }) => d.Name).sort().join(',')}`);
    }
  });
});
