/**
 * End to end, with the background functions running as in `npm start`: the
 * simulator's callbacks move tasks, the task stream feeds the task-changes consumer, the
 * client's hook gets Standard Webhooks it can verify, and the reconciler
 * heals lost callbacks and fails tasks past their deadline.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { startLocalStack, type LocalStack } from '../../lib/local/local-stack';
import type { UpstreamSimulator } from '../../lib/local/upstream-simulator';
import { testEndpoint } from '../support/dynamo';
import { checkResponsesFrom } from '../support/api-responses';
import { OpenApiValidator } from '../support/openapi-validator';

jest.setTimeout(30_000);

const PARENT = '4665a07c-7641-4809-a133-10786201bb56';
const DEADLINE_SECONDS = 4;

let stack: LocalStack;
let sim: UpstreamSimulator;
let hookServer: Server;
let hookUrl: string;
const received: { headers: IncomingHttpHeaders; body: string }[] = [];
const errors: string[] = [];

beforeAll(async () => {
  hookServer = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/hooks/luma`;

  stack = await startLocalStack({
    env: {},
    port: 0,
    dynamoEndpoint: testEndpoint(),
    tablePrefix: `life${randomBytes(4).toString('hex')}_`,
    reconcileAfterSeconds: 1,
    taskDeadlineSeconds: DEADLINE_SECONDS,
    scheduleEveryMs: 300,
    simulator: { seed: 3, stepDelayMs: 150 },
    accessLog: false,
    errorLog: (line) => errors.push(line),
  });
  checkResponsesFrom(stack.url);
  sim = stack.upstream!;
});
afterAll(async () => {
  await stack?.stop();
  await new Promise((resolve) => hookServer?.close(resolve));
});
afterEach(() => sim.reset());

const auth = () => ({ Authorization: `Bearer ${stack.clientKey}`, 'Content-Type': 'application/json' });

async function extend(body: Record<string, unknown>): Promise<string> {
  const response = await fetch(`${stack.url}/luma/generations/${PARENT}/extend`, { method: 'POST', headers: auth(), body: JSON.stringify(body) });
  expect(response.status).toBe(200);
  return ((await response.json()) as any).data.task_id;
}

const getTask = async (taskId: string) =>
  ((await (await fetch(`${stack.url}/luma/generations/${taskId}`, { headers: auth() })).json()) as any).data;

async function until<T>(read: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const notificationsFor = (taskId: string) =>
  received.map((r) => ({ ...r, json: JSON.parse(r.body) })).filter((r) => r.json.task_id === taskId);

test('background functions run: the reconciler and the task-changes consumer', () => {
  expect(stack.background).toEqual(expect.arrayContaining(['reconciler', 'task-changes']));
});

test('callbacks complete the task; the client hook gets signed notifications it can verify', async () => {
  const taskId = await extend({ user_prompt: 'add cat', notify_hook: hookUrl });
  const done = await until(async () => {
    const task = await getTask(taskId);
    return task.task_status === 'completed' ? task : undefined;
  }, 'completed');
  expect(done.video_url).toMatch(/\.mp4$/);

  const notes = await until(() => {
    const found = notificationsFor(taskId);
    return found.some((n) => n.json.task_status === 'completed') ? found : undefined;
  }, 'the completed notification');
  const webhook = new Webhook(stack.webhookSecret);
  for (const note of notes) {
    expect(() => webhook.verify(note.body, note.headers as Record<string, string>)).not.toThrow();
  }
  expect(() => new Webhook(`whsec_${randomBytes(24).toString('base64')}`).verify(notes[0].body, notes[0].headers as Record<string, string>)).toThrow();
  const statuses = notes.map((n) => n.json.task_status);
  expect(statuses[statuses.length - 1]).toBe('completed');
  expect(new Set(statuses).size).toBe(statuses.length); // one notification per status
  expect(notes[notes.length - 1].json).toEqual(done);
  // What the hook received is the document's taskChanged webhook.
  expect(notes.flatMap((note) => new OpenApiValidator().webhookBodyProblems('taskChanged', note.json))).toEqual([]);
});

test('the deliveries route lists every attempt to the hook, and how it answered', async () => {
  const taskId = await extend({ user_prompt: 'delivered', notify_hook: hookUrl });
  const list = await until(async () => {
    const response = await fetch(`${stack.url}/luma/generations/${taskId}/deliveries`, { headers: auth() });
    const { data } = (await response.json()) as any;
    return data.deliveries.some((d: any) => d.task_status === 'completed') ? data : undefined;
  }, 'the completed delivery');
  expect(list.deliveries.every((d: any) => d.outcome === 'delivered' && d.http_status === 204)).toBe(true);
});

test('duplicate and out-of-order callbacks: the task still ends completed, each status notified once', async () => {
  sim.setFaults({ callbacks: { duplicate: true, reorder: true } });
  const taskId = await extend({ user_prompt: 'reordered', notify_hook: hookUrl });
  await sim.idle();
  await until(async () => ((await getTask(taskId)).task_status === 'completed' ? true : undefined), 'completed');
  await until(() => (notificationsFor(taskId).some((n) => n.json.task_status === 'completed') ? true : undefined), 'notification');
  await new Promise((resolve) => setTimeout(resolve, 500));
  const ids = notificationsFor(taskId).map((n) => n.headers['webhook-id']);
  expect(new Set(ids).size).toBe(ids.length);
});

test('lost callbacks: the reconciler asks the upstream and completes the task', async () => {
  sim.setFaults({ callbacks: { dropRate: 1 } });
  const taskId = await extend({ user_prompt: 'lost callbacks' });
  await sim.idle();
  expect(sim.callbacks.every((d) => d.outcome === 'dropped')).toBe(true);
  const task = await until(async () => {
    const current = await getTask(taskId);
    return current.task_status === 'completed' ? current : undefined;
  }, 'the reconciler to complete the task');
  expect(task.video_url).toMatch(/\.mp4$/);
  expect(sim.requests.some((r) => r.method === 'GET' && r.path.startsWith('/luma/generations/'))).toBe(true);
});

test('a generation that never finishes: failed with a reason after the deadline', async () => {
  sim.setFaults({ outcome: 'never' });
  const taskId = await extend({ user_prompt: 'never ends' });
  const task = await until(async () => {
    const current = await getTask(taskId);
    return current.task_status === 'failed' ? current : undefined;
  }, 'the deadline', (DEADLINE_SECONDS + 8) * 1000);
  expect(task.failure_reason).toEqual(expect.any(String));
  expect(task.failure_reason.length).toBeGreaterThan(0);
});

test('nothing failed in the background', () => {
  expect(errors).toEqual([]);
});
