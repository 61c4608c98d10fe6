/**
 * Open-task slots and usage counts under the stream's worst: every status
 * change of random task lifecycles (revivals of `unconfirmed` failures
 * included) delivered to the usage reaction duplicated, reordered, in
 * random batches, with counts failing at random and their records replayed
 * (as Lambda replays a batch's failed records). Against DynamoDB Local: the
 * submissions take their slots through the task store's admission, the
 * reaction counts through the usage store.
 *
 * Whatever the order and repetition: each task that ended frees its slot
 * exactly once (the open-task count equals the tasks still open), and each
 * day's counts equal a count made independently from the tasks' last
 * states.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { createTaskStore } from '#adapters/dynamodb/task-store';
import { createUsageStore } from '#adapters/dynamodb/usage-store';
import type { UsageStore } from '#domain/ports';
import { STATUS_RANK, isTerminal, type FailureCode, type TaskItem, type TaskStatus } from '#domain/task';
import type { TaskChange } from '#domain/task-changes';
import { emptyDay, outcomeCounter, utcDay, type UsageCounter } from '#domain/usage';
import { usageReaction } from '#domain/usage-reaction';
import { createTestTables, type TestTables } from '../support/dynamo';
import { taskItem } from '../support/tasks';

jest.setTimeout(180_000);

let tables: TestTables;
beforeAll(async () => {
  tables = await createTestTables();
});
afterAll(() => tables.destroy());

const NOW = Math.floor(Date.now() / 1000);
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined } as any;

type Step = { readonly status: TaskStatus; readonly failure?: FailureCode; readonly revive?: true };

/** Lifecycles a task can have, as status sequences after `submitting` (a revival moves a failed `unconfirmed` task on). */
const LIFECYCLES: readonly (readonly Step[])[] = [
  [],
  [{ status: 'pending' }],
  [{ status: 'pending' }, { status: 'processing' }],
  [{ status: 'pending' }, { status: 'processing' }, { status: 'completed' }],
  [{ status: 'completed' }],
  [{ status: 'pending' }, { status: 'failed', failure: 'upstream_failed' }],
  [{ status: 'processing' }, { status: 'failed', failure: 'deadline' }],
  [{ status: 'failed', failure: 'refused' }],
  [{ status: 'pending' }, { status: 'failed', failure: 'unknown_to_upstream' }],
  [{ status: 'failed', failure: 'unconfirmed' }],
  [{ status: 'failed', failure: 'unconfirmed' }, { status: 'processing', revive: true }],
  [{ status: 'failed', failure: 'unconfirmed' }, { status: 'processing', revive: true }, { status: 'completed' }],
  [{ status: 'failed', failure: 'unconfirmed' }, { status: 'completed', revive: true }],
  [{ status: 'failed', failure: 'unconfirmed' }, { status: 'processing', revive: true }, { status: 'failed', failure: 'deadline' }],
];

/** A task's items along its lifecycle, each step `gaps[i]` seconds after the one before (the days they fall on vary). */
function lifecycle(owner: string, steps: readonly Step[], createdAt: number, gaps: readonly number[]): TaskItem[] {
  const first = taskItem({ owner_id: owner, created_at: createdAt, updated_at: createdAt, usage_counted: true });
  const items = [first];
  let at = createdAt;
  steps.forEach((step, i) => {
    at += gaps[i % gaps.length];
    const before = items.at(-1)!;
    const { failure_code: _code, failure_reason: _reason, ...rest } = before;
    items.push({
      ...rest,
      task_status: step.status,
      status_rank: STATUS_RANK[step.status],
      updated_at: at,
      ...(step.failure !== undefined && { failure_code: step.failure, failure_reason: 'failed' }),
      ...(step.revive && { revived_at: at }),
    });
  });
  return items;
}

/** What the counts must be, made from the tasks alone: submitted on the day of creation, the last state on the day it was reached. */
function expectedCounts(tasks: readonly TaskItem[][]) {
  const days = new Map<string, Record<UsageCounter, number>>();
  const add = (day: string, counter: UsageCounter) => {
    const counts = days.get(day) ?? { ...emptyDay(day) };
    counts[counter] += 1;
    days.set(day, counts);
  };
  let open = 0;
  for (const items of tasks) {
    add(utcDay(items[0].created_at), 'submitted');
    const last = items.at(-1)!;
    const counter = outcomeCounter(last);
    if (counter === undefined) open += 1;
    else add(utcDay(last.updated_at), counter);
  }
  return { open, days };
}

/** A usage store whose counts fail at random (before writing anything), as a throttled or unreachable DynamoDB does. */
function flaky(store: UsageStore, failures: () => boolean): UsageStore {
  return {
    ...store,
    count: async (effect, at) => {
      if (failures()) throw new Error('forced: DynamoDB unavailable');
      return store.count(effect, at);
    },
  };
}

it('frees each slot exactly once and counts each transition once, under duplicated, reordered, failing and replayed deliveries', async () => {
  const taskStore = createTaskStore({ client: tables.doc, tasksTable: tables.names.tasks, idempotencyTable: tables.names.idempotency, usageTable: tables.names.usage });
  const usage = createUsageStore({ client: tables.doc, usageTable: tables.names.usage, retentionDays: () => 30 });

  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          lifecycle: fc.integer({ min: 0, max: LIFECYCLES.length - 1 }),
          // Created within the last 3 days; steps up to a day and a half apart.
          age: fc.integer({ min: 0, max: 3 * 86_400 }),
          gaps: fc.array(fc.integer({ min: 1, max: 130_000 }), { minLength: 1, maxLength: 3 }),
        }),
        { minLength: 1, maxLength: 12 },
      ),
      // Per change: how often the stream delivers it (1 to 3), and a sort key that shuffles them all.
      fc.infiniteStream(fc.record({ copies: fc.integer({ min: 1, max: 3 }), order: fc.double({ min: 0, max: 1, noNaN: true }) })),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 0, max: 30 }),
      fc.integer(),
      async (specs, deliveries, batchSize, failurePercent, seed) => {
        const owner = `client-${randomUUID()}`;
        const tasks = specs.map((spec) => lifecycle(owner, LIFECYCLES[spec.lifecycle], NOW - 4 * 86_400 + spec.age, spec.gaps));
        // Each submission takes its slot and counts itself, as a submitter does.
        for (const items of tasks) await taskStore.create(items[0], undefined, { retentionDays: 30 });

        const changes: TaskChange[] = tasks.flatMap((items) => items.slice(1).map((after, i) => ({ sequence: randomUUID(), before: items[i], after })));
        const delivered = changes.flatMap((change) => {
          const { copies, order } = deliveries.next().value;
          return Array.from({ length: copies }, (_, copy) => ({ change, order: order + copy * 0.37 }));
        });
        delivered.sort((a, b) => a.order - b.order);
        let queue = delivered.map((entry) => entry.change);

        let state = seed;
        const random = () => ((state = (state * 1103515245 + 12345) & 0x7fffffff) % 100) < failurePercent;
        const reaction = usageReaction({ usage: flaky(usage, random), now: () => NOW, log: silent });
        for (let round = 0; queue.length > 0; round += 1) {
          if (round > 200) throw new Error('the replays never end');
          const replay: TaskChange[] = [];
          for (let i = 0; i < queue.length; i += batchSize) {
            const batch = queue.slice(i, i + batchSize).filter((change) => reaction.wants(change));
            const failed = await reaction.react(batch, { remainingMs: () => 60_000 });
            // Lambda replays a failed record (and, in a real shard, those after it: here, the failed ones are enough).
            replay.push(...batch.filter((change) => failed.has(change.sequence)));
          }
          queue = replay;
        }

        const expected = expectedCounts(tasks);
        const limits = await usage.limits(owner);
        expect(limits.openTasks).toBe(expected.open);
        expect(limits.openTasks).toBe(tasks.filter((items) => !isTerminal(items.at(-1)!.task_status)).length);
        const counted = await usage.days(owner, '2000-01-01', '2999-12-31');
        const nonZero = counted.filter((day) => Object.entries(day).some(([name, value]) => name !== 'day' && value !== 0));
        expect(Object.fromEntries(nonZero.map((day) => [day.day, day]))).toEqual(Object.fromEntries(expected.days));
      },
    ),
    { numRuns: 50, seed: 20261201 },
  );
});
