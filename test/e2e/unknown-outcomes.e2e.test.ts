/**
 * Unknown is not failed, end to end through the local stack: one case per
 * fault of the upstream (an answer lost after it accepted, a refusal in a
 * 200) and per crash of the submission between two of its steps. For each:
 * what the client was told, the task's final state, the upstream POSTs per
 * request (0 or 1), the generations created, and the notifications its hook
 * got. No task is lost, none is doubled.
 *
 * FAULT_MATRIX=1 prints the matrix.
 */
import { randomBytes } from 'node:crypto';
import { startLocalStack, type LocalStack } from '../../lib/local/local-stack';
import type { SimulatorPatch, UpstreamSimulator } from '../../lib/local/upstream-simulator';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { localDynamoClient } from '../../lib/local/dynamodb-local';
import { checkResponsesFrom } from '../support/api-responses';
import { tasksWithPrompt, testEndpoint } from '../support/dynamo';
import { startHookServer, type HookServer } from '../support/hook-server';

jest.setTimeout(60_000);

const PARENT = '4665a07c-7641-4809-a133-10786201bb56';
const UPSTREAM_TIMEOUT_MS = 800;
const CONFIRM_DEADLINE_SECONDS = 4;
/** Callbacks after the client's answer (the lost-answer cases), but before the confirmation deadline. */
const CALLBACKS_AFTER_ANSWER = { delayMs: 2000 };

let stack: LocalStack;
let sim: UpstreamSimulator;
let documents: DynamoDBDocumentClient | undefined;
const doc = () => (documents ??= DynamoDBDocumentClient.from(localDynamoClient(stack.dynamoEndpoint)));
let hook: HookServer;
const errors: string[] = [];

beforeAll(async () => {
  hook = await startHookServer();
  stack = await startLocalStack({
    env: {},
    port: 0,
    dynamoEndpoint: testEndpoint(),
    tablePrefix: `unk${randomBytes(4).toString('hex')}_`,
    upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS,
    confirmDeadlineSeconds: CONFIRM_DEADLINE_SECONDS,
    reconcileAfterSeconds: 1,
    taskDeadlineSeconds: 60,
    scheduleEveryMs: 300,
    simulator: { seed: 11, stepDelayMs: 300 },
    accessLog: false,
    errorLog: (line) => errors.push(line),
  });
  sim = stack.upstream!;
  checkResponsesFrom(stack.url);
});
afterAll(async () => {
  documents?.destroy();
  await stack?.stop();
  await hook?.close();
});

interface Answer {
  readonly status: number;
  readonly body: any;
}

async function extend(prompt: string, idempotencyKey: string): Promise<Answer> {
  const response = await fetch(`${stack.url}/luma/generations/${PARENT}/extend`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${stack.clientKey}`, 'Content-Type': 'application/json', 'Idempotency-Key': idempotencyKey },
    body: JSON.stringify({ user_prompt: prompt, notify_hook: hook.url }),
  });
  return { status: response.status, body: await response.json() };
}

async function getTask(taskId: string): Promise<any> {
  const response = await fetch(`${stack.url}/luma/generations/${taskId}`, { headers: { Authorization: `Bearer ${stack.clientKey}` } });
  return ((await response.json()) as { data: any }).data;
}

interface Case {
  readonly name: string;
  /** Faults of the upstream for the first request; the retry meets a healthy one. */
  readonly faults?: SimulatorPatch;
  readonly crashAfter?: 'task-written' | 'upstream-answered';
  readonly expected: {
    readonly first: number;
    readonly retry: number;
    readonly final: 'completed' | 'failed';
    readonly failureCode?: string;
    /** Upstream POSTs of the first request, then of the retry. */
    readonly posts: readonly [number, number];
    readonly generations: number;
    /**
     * The statuses the hook is told of, in order, each once. A callback may
     * be overtaken by the reconciler's look-up (which sees the upstream's
     * state, not its late callbacks): `progress` accepts any in-order subset
     * of pending, processing, completed that ends with completed.
     */
    readonly notifications: readonly string[] | 'progress' | 'failed, then progress';
  };
}

const PROGRESS = ['pending', 'processing', 'completed'];

const cases: readonly Case[] = [
  { name: 'no fault', expected: { first: 200, retry: 200, final: 'completed', posts: [1, 0], generations: 1, notifications: PROGRESS } },
  {
    name: 'accepted, then hangs',
    faults: { afterAccept: 'hang', callbacks: CALLBACKS_AFTER_ANSWER },
    expected: { first: 202, retry: 202, final: 'completed', posts: [1, 0], generations: 1, notifications: 'progress' },
  },
  {
    name: 'accepted, then resets',
    faults: { afterAccept: 'reset', callbacks: CALLBACKS_AFTER_ANSWER },
    expected: { first: 202, retry: 202, final: 'completed', posts: [1, 0], generations: 1, notifications: 'progress' },
  },
  {
    name: 'accepted, then 5xx',
    faults: { afterAccept: '5xx', afterAcceptStatus: 500, callbacks: CALLBACKS_AFTER_ANSWER },
    expected: { first: 202, retry: 202, final: 'completed', posts: [1, 0], generations: 1, notifications: 'progress' },
  },
  {
    name: 'refused in a 200 envelope (balance)',
    faults: { errorEnvelope: { code: 1001, message: 'insufficient balance' } },
    // The refusal frees the key: the retry is a new task, and it completes.
    expected: { first: 402, retry: 200, final: 'completed', posts: [1, 1], generations: 1, notifications: ['failed', ...PROGRESS] },
  },
  {
    name: 'crash after the task write',
    crashAfter: 'task-written',
    // Nothing reached the upstream: the retry waits for the attempt in flight, then answers 409 "in progress";
    // the task fails as unconfirmed at its confirmation deadline.
    expected: { first: 502, retry: 409, final: 'failed', failureCode: 'unconfirmed', posts: [0, 0], generations: 0, notifications: ['failed'] },
  },
  {
    name: "crash after the upstream's answer",
    crashAfter: 'upstream-answered',
    expected: { first: 502, retry: 200, final: 'completed', posts: [1, 0], generations: 1, notifications: PROGRESS },
  },
  {
    name: 'answer lost, callbacks late: failed as unconfirmed, then revived',
    faults: { afterAccept: 'hang', callbacks: { delayMs: 6000 } },
    expected: {
      first: 202,
      retry: 202,
      final: 'completed',
      posts: [1, 0],
      generations: 1,
      notifications: 'failed, then progress',
    },
  },
  {
    // The one way a generation can be missed: its answer and every callback lost. The task does not stay open forever.
    name: 'answer lost, every callback lost',
    faults: { afterAccept: 'hang', callbacks: { dropRate: 1 } },
    expected: { first: 202, retry: 202, final: 'failed', failureCode: 'unconfirmed', posts: [1, 0], generations: 1, notifications: ['failed'] },
  },
];

/** The notifications a case expects; for `progress`, the received ones when they are an in-order subset ending completed. */
function expectedNotifications(kase: Case, received: readonly string[]): readonly string[] {
  const wanted = kase.expected.notifications;
  if (Array.isArray(wanted)) return wanted;
  const prefix = wanted === 'failed, then progress' ? ['failed'] : [];
  const rest = received.slice(prefix.length);
  const inOrder = rest.every((status, i) => i === 0 || PROGRESS.indexOf(status) > PROGRESS.indexOf(rest[i - 1]));
  const valid = inOrder && rest.at(-1) === 'completed' && rest.every((status) => PROGRESS.includes(status));
  return valid && received.slice(0, prefix.length).join() === prefix.join() ? received : [...prefix, ...PROGRESS];
}

interface Row {
  readonly name: string;
  readonly first: number;
  readonly retry: number;
  readonly final: string;
  readonly failureCode: string | null;
  readonly posts: readonly [number, number];
  readonly generations: number;
  readonly notifications: readonly string[];
  readonly taskIds: readonly string[];
}

const rows: Row[] = [];

test('every fault and crash: the client is told, the task ends by evidence, one generation at most per key', async () => {
  const started: { kase: Case; prompt: string; first: Answer; retry: Answer; posts: [number, number] }[] = [];
  // One case at a time up to its retry (faults and crash traps are the stack's, not the request's).
  for (const kase of cases) {
    const prompt = `fault matrix: ${kase.name} ${randomBytes(3).toString('hex')}`;
    const key = `matrix-${randomBytes(6).toString('hex')}`;
    sim.setFaults({ afterAccept: 'none', errorEnvelope: null, callbacks: { delayMs: 0, dropRate: 0 }, ...kase.faults });
    if (kase.crashAfter) stack.crashNextSubmission(kase.crashAfter);
    const postsBefore = sim.submissions().length;
    const first = await extend(prompt, key);
    const postsFirst = sim.submissions().length - postsBefore;
    sim.setFaults({ afterAccept: 'none', errorEnvelope: null, callbacks: { delayMs: 0, dropRate: 0 } });
    const retry = await extend(prompt, key);
    started.push({ kase, prompt, first, retry, posts: [postsFirst, sim.submissions().length - postsBefore - postsFirst] });
  }

  // Then every task runs to its end, side by side.
  for (const { kase, prompt, first, retry, posts } of started) {
    // Every task the two requests left (a refusal's answer carries no task id: the table does).
    const taskIds = (await tasksWithPrompt(doc(), stack.tableNames.tasks, prompt)).sort((a, b) => a.created_at - b.created_at).map((t) => t.task_id as string);
    // The task the retry answered with; a 409 answers none, and then the key's one task is it.
    const last = (retry.body.data?.task_id as string | undefined) ?? taskIds[0];
    expect(taskIds).toContain(last);
    const deadline = Date.now() + 25_000;
    let task = await getTask(last);
    const finalNotification = () => hook.received.some((n) => JSON.parse(n.body).task_id === last && JSON.parse(n.body).task_status === kase.expected.final);
    while (!((task.task_status === 'completed' || task.task_status === 'failed') && finalNotification()) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      task = await getTask(last);
    }
    rows.push({
      name: kase.name,
      first: first.status,
      retry: retry.status,
      final: task.task_status,
      failureCode: task.failure_code,
      posts,
      generations: sim.createdGenerations().filter((g) => g.prompt === prompt).length,
      notifications: hook.received
        .map((n) => JSON.parse(n.body))
        .filter((n) => taskIds.includes(n.task_id))
        .map((n) => n.task_status),
      taskIds,
    });
  }

  if (process.env.FAULT_MATRIX) {
    console.log(
      ['| fault | first answer | retry (same key) | final | upstream POSTs (first, retry) | generations | notifications |', '|---|---|---|---|---|---|---|']
        .concat(rows.map((r) => `| ${r.name} | ${r.first} | ${r.retry} | ${r.final}${r.failureCode ? ` (${r.failureCode})` : ''} | ${r.posts.join(', ')} | ${r.generations} | ${r.notifications.join(' → ')} |`))
        .join('\n'),
    );
  }

  for (const [index, kase] of cases.entries()) {
    const row = rows[index];
    expect({ name: row.name, first: row.first, retry: row.retry, final: row.final, posts: row.posts, generations: row.generations }).toEqual({
      name: kase.name,
      first: kase.expected.first,
      retry: kase.expected.retry,
      final: kase.expected.final,
      posts: kase.expected.posts,
      generations: kase.expected.generations,
    });
    expect({ name: row.name, notifications: row.notifications }).toEqual({ name: kase.name, notifications: expectedNotifications(kase, row.notifications) });
    if (kase.expected.failureCode) expect(row.failureCode).toBe(kase.expected.failureCode);
    // Retries with the key of a kept task return that task.
    if (kase.expected.posts[1] === 0) expect(row.taskIds).toHaveLength(1);
  }
  for (const { kase, first } of started.filter(({ first }) => first.status === 202)) {
    expect({ kase: kase.name, body: first.body }).toMatchObject({
      kase: kase.name,
      body: { code: 0, message: expect.stringMatching(/outcome is being confirmed/), data: { task_status: 'submitting' } },
    });
  }
  // Nothing lost (every request left a task that ended), nothing doubled (at most one generation per key).
  expect(rows.every((row) => row.final === 'completed' || row.final === 'failed')).toBe(true);
  expect(rows.every((row) => row.generations <= 1)).toBe(true);
  // The crashes were the only function failures.
  expect(errors.filter((line) => !/killed \(crashed after/.test(line))).toEqual([]);
});
