/**
 * Tenants end to end, over HTTP against the local stack, administered with
 * `npm run client` as an operator runs it (no flag: it finds the running
 * stack through its state file):
 *
 * - rotate-key: the new key works at once, the old one through the overlap,
 *   then is refused within the authorizer cache's lifetime; --no-overlap and
 *   revoke: refused within that lifetime;
 * - limits: simultaneous submissions beyond the open-task limit are 429
 *   (42902) with Retry-After, beyond the tasks-per-day limit 429 (42903)
 *   with the seconds to midnight UTC; a refusal writes no task;
 * - usage: after a random run (refusals, upstream failures, lost answers
 *   that callbacks confirm, tasks that never finish), GET /luma/usage and the
 *   CLI's report equal a count made independently from the tasks table;
 * - listing: the pages cover the client's tasks once, never another's; the
 *   batch read answers another client's id as not found.
 *
 * Nothing printed here holds a key.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { localDynamoClient } from '../../lib/local/dynamodb-local';
import { LOCAL_REGION } from '../../lib/local/lambda-runtime';
import { startLocalStack, type LocalStack } from '../../lib/local/local-stack';
import { removeStackState, writeStackState } from '../../lib/local/state-file';
import type { UpstreamSimulator } from '../../lib/local/upstream-simulator';
import { outcomeCounter, utcDay, USAGE_COUNTERS } from '../../functions/domain/usage';
import { isTerminal, type TaskItem } from '../../functions/domain/task';
import { checkResponsesFrom } from '../support/api-responses';
import { testEndpoint } from '../support/dynamo';
import { runClientCli } from '../support/client-cli';

jest.setTimeout(120_000);

const CACHE_TTL_SECONDS = 2;
const OVERLAP_SECONDS = 4;
const PROBE_EVERY_MS = 200;

const stateDir = mkdtempSync(join(tmpdir(), 'luma-tenants-'));
const stateFile = join(stateDir, 'stack.json');
let stack: LocalStack;
let sim: UpstreamSimulator;
let doc: DynamoDBDocumentClient;

beforeAll(async () => {
  stack = await startLocalStack({
    env: {},
    port: 0,
    dynamoEndpoint: testEndpoint(),
    tablePrefix: `ten${randomBytes(4).toString('hex')}_`,
    authorizerCacheTtlSeconds: CACHE_TTL_SECONDS,
    clientKeyOverlapSeconds: OVERLAP_SECONDS,
    reconcileAfterSeconds: 1,
    taskDeadlineSeconds: 6,
    confirmDeadlineSeconds: 3,
    scheduleEveryMs: 300,
    simulator: { seed: 12, stepDelayMs: 100 },
    accessLog: false,
    errorLog: () => undefined,
  });
  checkResponsesFrom(stack.url);
  sim = stack.upstream!;
  // As npm start does: the CLI finds the running stack through this file.
  writeStackState(stateFile, { pid: process.pid, apiUrl: stack.url, region: LOCAL_REGION, dynamoEndpoint: stack.dynamoEndpoint, tables: stack.tableNames, startedAt: new Date().toISOString() });
  doc = DynamoDBDocumentClient.from(localDynamoClient(stack.dynamoEndpoint));
});
afterAll(async () => {
  removeStackState(stateFile);
  rmSync(stateDir, { recursive: true, force: true });
  doc?.destroy();
  await stack?.stop();
});
afterEach(() => sim.reset());

/** `npm run client -- ...args` against the running stack. */
const client = (...args: string[]) => runClientCli(args, { LOCAL_STATE_FILE: stateFile });

async function newClient(name: string): Promise<string> {
  const created = await client('create', name);
  expect(created.status).toBe(0);
  return created.key!;
}

const headers = (key: string) => ({ Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' });
const listStatus = async (key: string) => (await fetch(`${stack.url}/luma/generations?limit=1`, { headers: headers(key) })).status;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Probes a key until it is refused: each probe's start, end and status. */
async function probeUntilRefused(key: string, withinMs: number) {
  const probes: { start: number; end: number; status: number }[] = [];
  const until = Date.now() + withinMs;
  while (Date.now() < until) {
    const start = Date.now();
    const status = await listStatus(key);
    probes.push({ start, end: Date.now(), status });
    if (status === 401) return probes;
    await sleep(PROBE_EVERY_MS);
  }
  throw new Error(`the key was still accepted ${withinMs} ms later`);
}

describe('keys', () => {
  it('rotate-key: the new key works at once, the old one through the overlap, then is refused within the cache lifetime', async () => {
    const oldKey = await newClient('tenant-rotate');
    expect(await listStatus(oldKey)).toBe(200);
    const started = Date.now();
    const rotated = await client('rotate-key', 'tenant-rotate');
    const done = Date.now();
    expect(rotated.status).toBe(0);
    expect(rotated.stdout).toContain('it is shown only this once');
    const newKey = rotated.key!;
    expect(newKey).not.toBe(oldKey);
    expect(await listStatus(newKey)).toBe(200);

    const probes = await probeUntilRefused(oldKey, (OVERLAP_SECONDS + CACHE_TTL_SECONDS + 3) * 1000);
    // Accepted through the overlap: rotated at or after `started` (whole seconds), so until then at least.
    const overlapEnds = Math.floor(started / 1000) * 1000 + OVERLAP_SECONDS * 1000;
    for (const probe of probes.filter((p) => p.end < overlapEnds)) expect(probe.status).toBe(200);
    expect(probes.filter((p) => p.end < overlapEnds).length).toBeGreaterThan(0);
    // Refused at most the cache's lifetime after the overlap (and a probe's interval).
    const refusedAt = probes.at(-1)!.start;
    expect(refusedAt - done).toBeLessThanOrEqual((OVERLAP_SECONDS + CACHE_TTL_SECONDS) * 1000 + PROBE_EVERY_MS + 500);
    expect(await listStatus(newKey)).toBe(200);

    // A leaked key: dropped at once, refused within the cache lifetime.
    const again = await client('rotate-key', 'tenant-rotate', '--no-overlap');
    const droppedAt = Date.now();
    expect(again.status).toBe(0);
    const dropped = await probeUntilRefused(newKey, (CACHE_TTL_SECONDS + 3) * 1000);
    expect(dropped.at(-1)!.start - droppedAt).toBeLessThanOrEqual(CACHE_TTL_SECONDS * 1000 + PROBE_EVERY_MS + 500);
    expect(await listStatus(again.key!)).toBe(200);
  });

  it('revoke: every key refused within the cache lifetime; list shows it revoked; a revoked client gets no new key', async () => {
    const key = await newClient('tenant-revoke');
    expect(await listStatus(key)).toBe(200); // its verdict is cached now
    const revoked = await client('revoke', 'tenant-revoke');
    const revokedAt = Date.now();
    expect(revoked.status).toBe(0);
    expect(revoked.stdout).toMatch(/revoked in the local stack \(DynamoDB [^)]*\): 1 key\(s\) deleted/);
    const probes = await probeUntilRefused(key, (CACHE_TTL_SECONDS + 3) * 1000);
    expect(probes.at(-1)!.start - revokedAt).toBeLessThanOrEqual(CACHE_TTL_SECONDS * 1000 + PROBE_EVERY_MS + 500);
    const response = await fetch(`${stack.url}/luma/generations`, { headers: headers(key) });
    expect(response.status).toBe(401);
    expect(((await response.json()) as any).code).toBe(40100);

    const listed = await client('list');
    expect(listed.status).toBe(0);
    expect(listed.stdout).toMatch(/tenant-revoke {2}\([0-9a-f-]{36}\)\n\s+created \S+; revoked \S+\n\s+0 current keys/);
    const rotate = await client('rotate-key', 'tenant-revoke');
    expect(rotate.status).not.toBe(0);
    expect(rotate.key).toBeUndefined();
    expect(rotate.stderr).toContain('was revoked');
  });
});

describe('limits', () => {
  it('simultaneous submissions beyond the open-task limit are 429 42902 with Retry-After and leave no task; beyond the day, 42903 until midnight UTC', async () => {
    const key = await newClient('tenant-limits');
    const set = await client('limits', 'tenant-limits', '--open-tasks', '3', '--tasks-per-day', '5');
    expect(set.status).toBe(0);
    expect(set.stdout).toMatch(/open tasks\s+3\s+\(0 open now\)/);
    sim.setFaults({ outcome: 'never' });
    const prompt = `limits ${randomUUID()}`;
    const submit = () => fetch(`${stack.url}/luma/generations`, { method: 'POST', headers: headers(key), body: JSON.stringify({ user_prompt: prompt }) });
    const answers = await Promise.all(Array.from({ length: 10 }, submit));
    const bodies = await Promise.all(answers.map(async (answer) => ({ status: answer.status, retryAfter: answer.headers.get('retry-after'), body: (await answer.json()) as any })));
    expect(bodies.filter((b) => b.status === 200)).toHaveLength(3);
    const refused = bodies.filter((b) => b.status !== 200);
    expect(refused).toHaveLength(7);
    for (const b of refused) {
      expect(b).toMatchObject({ status: 429, retryAfter: '30', body: { code: 42902, data: null } });
      expect(b.body.message).toContain('limit reached: open tasks (3 at once, 3 open)');
    }
    const stored = (await scanTasks()).filter((task) => task.prompt === prompt);
    expect(stored).toHaveLength(3);

    // The open-task limit off: the day's limit (5) holds; its refusal frees at the next midnight UTC.
    expect((await client('limits', 'tenant-limits', '--open-tasks', 'none')).status).toBe(0);
    const more = [];
    for (let i = 0; i < 3; i += 1) more.push(await submit());
    expect(more.map((answer) => answer.status)).toEqual([200, 200, 429]);
    const dayRefusal = more[2];
    const body = (await dayRefusal.json()) as any;
    expect(body.code).toBe(42903);
    const untilMidnight = (Math.floor(Date.now() / 86_400_000) + 1) * 86_400 - Math.floor(Date.now() / 1000);
    expect(Math.abs(Number(dayRefusal.headers.get('retry-after')) - untilMidnight)).toBeLessThanOrEqual(2);
    expect(body.message).toContain('tasks per day (5 a UTC day, 5 submitted today)');

    const usage = (await (await fetch(`${stack.url}/luma/usage`, { headers: headers(key) })).json()) as any;
    expect(usage.data.limits).toMatchObject({ max_open_tasks: null, max_tasks_per_day: 5, submitted_today: 5 });
    expect(usage.data.totals.submitted).toBe(5);
  });
});

async function scanTasks(): Promise<TaskItem[]> {
  const items: TaskItem[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(new ScanCommand({ TableName: stack.tableNames.tasks, ConsistentRead: true, ExclusiveStartKey: start }));
    items.push(...((page.Items ?? []) as TaskItem[]));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, withinMs: number): Promise<T> {
  const until = Date.now() + withinMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > until) return value;
    await sleep(250);
  }
}

describe('usage and listing after a random run', () => {
  it('GET /luma/usage and the CLI report equal a count made from the tasks table; the listing covers every task once and no other client\'s', async () => {
    const key = await newClient('tenant-usage');
    const prompt = `usage ${randomUUID()}`;
    const submit = () => fetch(`${stack.url}/luma/generations`, { method: 'POST', headers: headers(key), body: JSON.stringify({ user_prompt: prompt }) });
    // Phases of random faults, each a burst of simultaneous submissions.
    const phases = [
      { outcome: 'completed' as const, errorRate: 0.3, errorStatus: 400 }, // completed, and refused by the upstream
      { outcome: 'failed' as const }, // failed by the upstream
      { outcome: 'completed' as const, afterAccept: '5xx' as const, afterAcceptRate: 0.5 }, // answers lost, confirmed by callbacks
      { outcome: 'never' as const }, // failed by the gateway at the deadline
    ];
    const ids: string[] = [];
    for (const faults of phases) {
      sim.setFaults(faults);
      const answers = await Promise.all(Array.from({ length: 2 + Math.floor(Math.random() * 5) }, submit));
      for (const answer of answers) {
        const body = (await answer.json()) as any;
        if (body.data?.task_id) ids.push(body.data.task_id);
        expect([200, 202, 400]).toContain(answer.status);
      }
      sim.setFaults({ errorRate: 0, afterAccept: 'none', afterAcceptRate: 0 });
    }
    // Refusals answer 400 and still leave their task, failed as refused; read them from the table by prompt.
    const mine = () => scanTasks().then((tasks) => tasks.filter((task) => task.prompt === prompt));
    const ended = await eventually(mine, (tasks) => tasks.length > 0 && tasks.every((task) => isTerminal(task.task_status)), 40_000);
    expect(ended.every((task) => isTerminal(task.task_status))).toBe(true);
    for (const id of ids) expect(ended.map((task) => task.task_id)).toContain(id);

    // The independent count: each task's submission day and its final state's day, from the table.
    const expected = new Map<string, Record<string, number>>();
    const add = (day: string, counter: string) => {
      const counts = expected.get(day) ?? Object.fromEntries(USAGE_COUNTERS.map((c) => [c, 0]));
      counts[counter] += 1;
      expected.set(day, counts);
    };
    for (const task of ended) {
      add(utcDay(task.created_at), 'submitted');
      add(utcDay(task.updated_at), outcomeCounter(task)!);
    }
    const totals = Object.fromEntries(USAGE_COUNTERS.map((c) => [c, [...expected.values()].reduce((sum, day) => sum + day[c], 0)]));
    expect(totals.submitted).toBe(ended.length);
    console.log(`usage after a random run of ${ended.length} tasks: ${JSON.stringify(totals)}`);

    // The stream's reaction counts each final state shortly after it.
    const readUsage = async () => ((await (await fetch(`${stack.url}/luma/usage`, { headers: headers(key) })).json()) as any).data;
    const usage = await eventually(readUsage, (u) => u.totals.completed + u.totals.failed_upstream + u.totals.failed_deadline + u.totals.refused === ended.length, 20_000);
    expect(usage.totals).toEqual({ ...totals, billable: totals.completed });
    expect(Object.fromEntries(usage.days.map(({ day, billable, ...counts }: any) => [day, counts]))).toEqual(Object.fromEntries(expected));
    expect(usage.limits).toMatchObject({ open_tasks: 0 });
    expect(usage.billing).toContain('Only completed tasks are billable');

    const report = await client('usage', 'tenant-usage');
    expect(report.status).toBe(0);
    const totalRow = /\n\s+total\s+([\d\s]+)\n?$/.exec(report.stdout)![1].trim().split(/\s+/).map(Number);
    expect(totalRow).toEqual([totals.submitted, totals.completed, totals.failed_upstream, totals.failed_deadline, totals.refused, totals.completed]);

    // Listing: pages of 4 cover the client's tasks once, newest first; the stack's own client has tasks too (never listed).
    await fetch(`${stack.url}/luma/generations`, { method: 'POST', headers: headers(stack.clientKey), body: JSON.stringify({ user_prompt: 'another client' }) });
    const listed: any[] = [];
    let cursor: string | null = null;
    do {
      const page = (await (await fetch(`${stack.url}/luma/generations?limit=4${cursor ? `&cursor=${cursor}` : ''}`, { headers: headers(key) })).json()) as any;
      listed.push(...page.data.tasks);
      cursor = page.data.next_cursor;
    } while (cursor);
    expect(listed.map((task) => task.task_id).sort()).toEqual(ended.map((task) => task.task_id).sort());
    const theirs = (await scanTasks()).find((task) => task.prompt === 'another client')!;
    const batch = (await (await fetch(`${stack.url}/luma/tasks`, { method: 'POST', headers: headers(key), body: JSON.stringify({ ids: [ended[0].task_id, theirs.task_id] }) })).json()) as any;
    expect(batch.data.tasks.map((task: any) => task.task_id)).toEqual([ended[0].task_id]);
    expect(batch.data.not_found).toEqual([theirs.task_id]);
    const refused = await fetch(`${stack.url}/luma/generations?cursor=${Buffer.from('[1,"x"]').toString('base64url')}`, { headers: headers(key) });
    expect(refused.status).toBe(400);
  });
});
