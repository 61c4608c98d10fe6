/**
 * Limits and usage against DynamoDB Local: a submission's admission in the
 * transaction that writes its task, the refusals that write nothing, the day
 * rolling over, a replayed key that never takes a second slot, and each
 * transition counted once. DynamoDB Local runs transactions one at a time,
 * so it never answers TransactionConflict: that fault is forced by wrapping
 * the client's send.
 */
import { randomUUID } from 'node:crypto';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createTaskStore } from '#adapters/dynamodb/task-store';
import { createUsageStore, LIMITS_KEY } from '#adapters/dynamodb/usage-store';
import { CONFLICT_ATTEMPTS } from '#adapters/dynamodb/transactions';
import { IdempotencyKeyTaken, LimitReached, type IdempotencyRecord, type TaskStore, type UsageStore } from '#domain/ports';
import { transitionEffect, utcDay } from '#domain/usage';
import { createTestTables, type TestTables } from '../support/dynamo';
import { taskItem } from '../support/tasks';

const NOW = Math.floor(Date.now() / 1000);
const TODAY = utcDay(NOW);
const ADMISSION = { retentionDays: 30 };

let tables: TestTables;
let store: TaskStore;
let usage: UsageStore;

const storesOn = (client: DynamoDBDocumentClient) => ({
  tasks: createTaskStore({ client, tasksTable: tables.names.tasks, idempotencyTable: tables.names.idempotency, usageTable: tables.names.usage }),
  usage: createUsageStore({ client, usageTable: tables.names.usage, retentionDays: () => 30 }),
});

beforeAll(async () => {
  tables = await createTestTables();
  ({ tasks: store, usage } = storesOn(tables.doc));
});
afterAll(() => tables.destroy());

const newClient = () => `client-${randomUUID()}`;
const submission = (owner: string, at = NOW) => taskItem({ owner_id: owner, created_at: at, updated_at: at, usage_counted: true });
const keyRecord = (owner: string, key: string, taskId: string): IdempotencyRecord => ({
  pk: `${owner}#${key}`,
  fingerprint: 'f'.repeat(64),
  task_id: taskId,
  created_at: NOW,
  expires_at: NOW + 86_400,
});
const itemOf = async (table: string, key: Record<string, unknown>) =>
  (await tables.doc.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item;

describe('admission', () => {
  it('takes a slot and counts the day, in the write of the task', async () => {
    const owner = newClient();
    const task = submission(owner);
    await store.create(task, undefined, ADMISSION);
    expect(await store.get(task.task_id)).toMatchObject({ task_id: task.task_id, usage_counted: true });
    expect(await usage.limits(owner)).toEqual({ openTasks: 1, day: TODAY, submittedToday: 1 });
    expect(await usage.days(owner, TODAY, TODAY)).toEqual([{ day: TODAY, submitted: 1, completed: 0, failed_upstream: 0, failed_deadline: 0, refused: 0 }]);
  });

  it('refuses beyond the open-task limit, writing nothing: no task, no key, no count', async () => {
    const owner = newClient();
    await usage.setLimits(owner, { maxOpenTasks: 2 }, NOW);
    for (let i = 0; i < 2; i += 1) await store.create(submission(owner), undefined, ADMISSION);
    const refused = submission(owner);
    const key = keyRecord(owner, 'k-refused', refused.task_id);
    const error = await store.create(refused, key, ADMISSION).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LimitReached);
    expect(error).toMatchObject({ limit: 'open_tasks', state: { maxOpenTasks: 2, openTasks: 2 } });
    expect(await store.get(refused.task_id)).toBeUndefined();
    expect(await store.getIdempotencyRecord(key.pk)).toBeUndefined();
    expect(await usage.limits(owner)).toMatchObject({ openTasks: 2, submittedToday: 2 });
    expect((await usage.days(owner, TODAY, TODAY))[0].submitted).toBe(2);
  });

  it('refuses beyond the tasks-per-day limit, and a limit of 0 refuses the first', async () => {
    const owner = newClient();
    await usage.setLimits(owner, { maxTasksPerDay: 1 }, NOW);
    await store.create(submission(owner), undefined, ADMISSION);
    await expect(store.create(submission(owner), undefined, ADMISSION)).rejects.toMatchObject({ limit: 'tasks_per_day' });
    const none = newClient();
    await usage.setLimits(none, { maxTasksPerDay: 0 }, NOW);
    await expect(store.create(submission(none), undefined, ADMISSION)).rejects.toMatchObject({ limit: 'tasks_per_day' });
    expect(await usage.limits(none)).toMatchObject({ openTasks: 0, submittedToday: 0 });
  });

  it("starts a new day's count at one when the day rolls over (the open tasks carry on)", async () => {
    const owner = newClient();
    await usage.setLimits(owner, { maxTasksPerDay: 2 }, NOW);
    const yesterday = NOW - 86_400;
    await store.create(submission(owner, yesterday), undefined, ADMISSION);
    await store.create(submission(owner, yesterday), undefined, ADMISSION);
    await expect(store.create(submission(owner, yesterday), undefined, ADMISSION)).rejects.toMatchObject({ limit: 'tasks_per_day' });
    await store.create(submission(owner), undefined, ADMISSION);
    expect(await usage.limits(owner)).toMatchObject({ openTasks: 3, day: TODAY, submittedToday: 1, maxTasksPerDay: 2 });
    expect((await usage.days(owner, utcDay(yesterday), TODAY)).map((day) => [day.day, day.submitted])).toEqual([
      [utcDay(yesterday), 2],
      [TODAY, 1],
    ]);
  });

  it('answers a replayed key with its record even when the limit is reached: a replay never takes a second slot', async () => {
    const owner = newClient();
    await usage.setLimits(owner, { maxOpenTasks: 1 }, NOW);
    const first = submission(owner);
    const key = keyRecord(owner, 'k-1', first.task_id);
    await store.create(first, key, ADMISSION);
    const again = submission(owner);
    const error = await store.create(again, { ...key, task_id: again.task_id }, ADMISSION).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdempotencyKeyTaken);
    expect((error as IdempotencyKeyTaken).record).toEqual(key);
    expect(await usage.limits(owner)).toMatchObject({ openTasks: 1, submittedToday: 1 });
    expect(await store.get(again.task_id)).toBeUndefined();
  });

  it('removes a limit with null, and keeps the counters', async () => {
    const owner = newClient();
    await usage.setLimits(owner, { maxOpenTasks: 1, maxTasksPerDay: 5 }, NOW);
    await store.create(submission(owner), undefined, ADMISSION);
    await expect(store.create(submission(owner), undefined, ADMISSION)).rejects.toBeInstanceOf(LimitReached);
    expect(await usage.setLimits(owner, { maxOpenTasks: null }, NOW)).toEqual({ maxTasksPerDay: 5, openTasks: 1, day: TODAY, submittedToday: 1 });
    await store.create(submission(owner), undefined, ADMISSION);
    expect(await usage.limits(owner)).toMatchObject({ openTasks: 2, submittedToday: 2 });
  });
});

describe('transaction conflicts (forced: DynamoDB Local never answers one)', () => {
  /** A client whose first `conflicts` transactions are cancelled as DynamoDB cancels one that met another on an item. */
  function conflicting(conflicts: number, itemCount: (input: any) => number) {
    let left = conflicts;
    let transactions = 0;
    const client = new Proxy(tables.doc, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return async (command: any) => {
          if (command.constructor.name === 'TransactWriteCommand') {
            transactions += 1;
            if (left > 0) {
              left -= 1;
              const count = itemCount(command.input);
              throw Object.assign(new Error('Transaction cancelled'), {
                name: 'TransactionCanceledException',
                CancellationReasons: Array.from({ length: count }, (_, i) => ({ Code: i === count - 1 ? 'TransactionConflict' : 'None' })),
              });
            }
          }
          return target.send(command);
        };
      },
    }) as DynamoDBDocumentClient;
    return { client, transactions: () => transactions };
  }
  const items = (input: any) => input.TransactItems.length;

  it('a submission cancelled by conflicts on its limits item is tried again, and counts once', async () => {
    const owner = newClient();
    // Not the client's first submission of the day (that one takes a second transaction: the day rolls over).
    await store.create(submission(owner), undefined, ADMISSION);
    const { client, transactions } = conflicting(CONFLICT_ATTEMPTS - 1, items);
    await storesOn(client).tasks.create(submission(owner), undefined, ADMISSION);
    expect(transactions()).toBe(CONFLICT_ATTEMPTS);
    expect(await usage.limits(owner)).toMatchObject({ openTasks: 2, submittedToday: 2 });
  });

  it("a client's first submission of a day takes two transactions (the first finds the day over), and no read", async () => {
    const owner = newClient();
    const { client, transactions } = conflicting(0, items);
    await storesOn(client).tasks.create(submission(owner), undefined, ADMISSION);
    expect(transactions()).toBe(2);
    await storesOn(client).tasks.create(submission(owner), undefined, ADMISSION);
    expect(transactions()).toBe(3);
  });

  it('gives up after its attempts with a 503 that writes nothing', async () => {
    const owner = newClient();
    const { client } = conflicting(CONFLICT_ATTEMPTS, items);
    const task = submission(owner);
    await expect(storesOn(client).tasks.create(task, undefined, ADMISSION)).rejects.toMatchObject({ kind: 'unavailable' });
    expect(await store.get(task.task_id)).toBeUndefined();
    expect(await itemOf(tables.names.usage, { client_id: owner, usage_key: LIMITS_KEY })).toBeUndefined();
  });

  it('a count cancelled by a conflict is tried again, and counts once', async () => {
    const owner = newClient();
    const before = submission(owner);
    const after = { ...before, task_status: 'completed' as const, status_rank: 3, updated_at: NOW + 1 };
    const { client, transactions } = conflicting(2, items);
    expect(await storesOn(client).usage.count(transitionEffect(before, after)!, NOW)).toBe(true);
    expect(transactions()).toBe(3);
    expect((await usage.days(owner, TODAY, TODAY))[0]).toMatchObject({ completed: 1 });
  });
});

describe('counting transitions', () => {
  it('counts a transition once, however often it comes, and frees the slot once', async () => {
    const owner = newClient();
    const task = submission(owner);
    await store.create(task, undefined, ADMISSION);
    const done = { ...task, task_status: 'completed' as const, status_rank: 3, updated_at: NOW + 5 };
    const effect = transitionEffect(task, done)!;
    expect(await usage.count(effect, NOW)).toBe(true);
    expect(await usage.count(effect, NOW)).toBe(false);
    expect(await usage.count(effect, NOW)).toBe(false);
    expect(await usage.limits(owner)).toMatchObject({ openTasks: 0 });
    expect((await usage.days(owner, TODAY, TODAY))[0]).toMatchObject({ submitted: 1, completed: 1 });
  });

  it('a revival takes the failure back on its day and the slot again; its end counts on its own day', async () => {
    const owner = newClient();
    const day1 = NOW - 2 * 86_400;
    const day3 = NOW;
    const task = submission(owner, day1);
    await store.create(task, undefined, ADMISSION);
    const failed = { ...task, task_status: 'failed' as const, status_rank: 3, failure_code: 'unconfirmed' as const, updated_at: day1 + 900 };
    const revived = { ...failed, task_status: 'processing' as const, status_rank: 2, failure_code: undefined, revived_at: day3 - 60, updated_at: day3 - 60 };
    const completed = { ...revived, task_status: 'completed' as const, status_rank: 3, updated_at: day3 };
    for (const [from, to] of [[task, failed], [failed, revived], [revived, completed]] as const) expect(await usage.count(transitionEffect(from, to)!, NOW)).toBe(true);
    expect(await usage.limits(owner)).toMatchObject({ openTasks: 0 });
    const days = await usage.days(owner, utcDay(day1), utcDay(day3));
    expect(days.find((d) => d.day === utcDay(day1))).toMatchObject({ submitted: 1, failed_deadline: 0, completed: 0 });
    expect(days.find((d) => d.day === utcDay(day3))).toMatchObject({ submitted: 0, completed: 1 });
  });

  it('lists only the days asked for, never the limits item or the markers', async () => {
    const owner = newClient();
    await usage.setLimits(owner, { maxOpenTasks: 3 }, NOW);
    const task = submission(owner);
    await store.create(task, undefined, ADMISSION);
    await usage.count(transitionEffect(task, { ...task, task_status: 'failed', status_rank: 3, failure_code: 'refused', updated_at: NOW })!, NOW);
    expect(await usage.days(owner, '2000-01-01', '2000-12-31')).toEqual([]);
    expect(await usage.days(owner, '2000-01-01', '2999-12-31')).toEqual([{ day: TODAY, submitted: 1, completed: 0, failed_upstream: 0, failed_deadline: 0, refused: 1 }]);
  });
});

describe('under concurrency (simultaneous requests on DynamoDB Local)', () => {
  it('many simultaneous submissions never exceed the open-task limit: exactly the limit are accepted, the others refused and written nowhere', async () => {
    const owner = newClient();
    await usage.setLimits(owner, { maxOpenTasks: 7 }, NOW);
    const tasks = Array.from({ length: 40 }, () => submission(owner));
    const outcomes = await Promise.all(tasks.map((task) => store.create(task, keyRecord(owner, `k-${task.task_id}`, task.task_id), ADMISSION).then(() => 'accepted', (e: unknown) => e)));
    const accepted = tasks.filter((_, i) => outcomes[i] === 'accepted');
    expect(accepted).toHaveLength(7);
    for (const outcome of outcomes.filter((o) => o !== 'accepted')) expect(outcome).toMatchObject({ limit: 'open_tasks' });
    expect(await usage.limits(owner)).toMatchObject({ openTasks: 7, submittedToday: 7 });
    const stored = await Promise.all(tasks.map((task) => store.get(task.task_id)));
    expect(stored.filter((task) => task !== undefined).map((task) => task!.task_id).sort()).toEqual(accepted.map((task) => task.task_id).sort());
  });

  it("many simultaneous first submissions of a day never exceed the tasks-per-day limit (the day's roll-over taken once)", async () => {
    const owner = newClient();
    await usage.setLimits(owner, { maxTasksPerDay: 5 }, NOW - 86_400);
    const outcomes = await Promise.all(Array.from({ length: 30 }, () => store.create(submission(owner), undefined, ADMISSION).then(() => 'accepted', (e: unknown) => e)));
    expect(outcomes.filter((o) => o === 'accepted')).toHaveLength(5);
    for (const outcome of outcomes.filter((o) => o !== 'accepted')) expect(outcome).toMatchObject({ limit: 'tasks_per_day' });
    expect(await usage.limits(owner)).toMatchObject({ day: TODAY, submittedToday: 5, openTasks: 5 });
  });

  it('submissions and endings side by side: the open-task count never exceeds the limit in any sample, and every ending frees its slot once', async () => {
    const owner = newClient();
    const max = 4;
    await usage.setLimits(owner, { maxOpenTasks: max }, NOW);
    const samples: number[] = [];
    let running = true;
    const sampler = (async () => {
      while (running) {
        samples.push((await usage.limits(owner)).openTasks);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    let accepted = 0;
    let refused = 0;
    // 6 submitters, each submitting and ending its tasks in turn, 8 tries each: they compete for the 4 slots.
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        for (let i = 0; i < 8; i += 1) {
          const task = submission(owner);
          try {
            await store.create(task, undefined, ADMISSION);
          } catch (error) {
            expect(error).toMatchObject({ limit: 'open_tasks' });
            refused += 1;
            continue;
          }
          accepted += 1;
          const done = { ...task, task_status: 'completed' as const, status_rank: 3, updated_at: NOW };
          // The stream may bring an ending twice: it frees one slot.
          await Promise.all([usage.count(transitionEffect(task, done)!, NOW), usage.count(transitionEffect(task, done)!, NOW)]);
        }
      }),
    );
    running = false;
    await sampler;
    expect(accepted + refused).toBe(48);
    expect(accepted).toBeGreaterThanOrEqual(max);
    expect(samples.length).toBeGreaterThan(0);
    expect(Math.max(...samples)).toBeLessThanOrEqual(max);
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
    expect(await usage.limits(owner)).toMatchObject({ openTasks: 0, submittedToday: accepted });
    expect((await usage.days(owner, TODAY, TODAY))[0]).toMatchObject({ submitted: accepted, completed: accepted });
  });
});
