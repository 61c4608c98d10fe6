/**
 * Property: any sequence of callbacks, delivered concurrently in any order
 * and with duplicates, ends in the state of the highest-ranked update, and
 * no write ever lowers the rank (checked on the table's stream, the record of
 * every write that happened).
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { parseUpstreamGeneration } from '#adapters/upstream/response';
import { applyCallback } from '#domain/apply-callback';
import { newCallbackToken } from '#domain/credentials';
import { silentLog, type TaskStore } from '#domain/ports';
import { STATUS_RANK, type TaskStatus } from '#domain/task';
import { createTaskStore } from '#adapters/dynamodb/task-store';
import { createTestTables, type TestTables } from '../support/dynamo';
import { fixture } from '../support/fixtures';
import { readWholeStream } from '../support/stream';
import { taskItem } from '../support/tasks';

const UPSTREAM_ID = '749d328e-4fd0-43a8-8c89-32394d60da69';
const BODIES: Record<Exclude<TaskStatus, 'submitting'>, Record<string, unknown>> = {
  pending: fixture('submit-raw-pending.json'),
  processing: fixture('generation-processing.json'),
  completed: fixture('generation-completed.json'),
  failed: fixture('generation-failed.json'),
};

let tables: TestTables;
let store: TaskStore;
const taskIds: string[] = [];

beforeAll(async () => {
  tables = await createTestTables();
  store = createTaskStore({ client: tables.doc, tasksTable: tables.names.tasks, idempotencyTable: tables.names.idempotency });
});
afterAll(() => tables.destroy());

const callbackStatus = fc.constantFrom<Exclude<TaskStatus, 'submitting'>>('pending', 'processing', 'completed', 'failed');

it('ends at the highest rank sent, whatever the order, duplicates and concurrency', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(callbackStatus, { minLength: 1, maxLength: 8 }), fc.boolean(), async (statuses, recordedUpstreamId) => {
      const taskId = randomUUID();
      taskIds.push(taskId);
      const { token, hash } = newCallbackToken(taskId);
      await store.create(taskItem({ task_id: taskId, callback_token_hash: hash, ...(recordedUpstreamId && { upstream_id: UPSTREAM_ID }) }));
      let clock = 0;
      const deps = { tasks: store, now: () => ++clock, log: silentLog };

      const outcomes = await Promise.all(statuses.map((status) => applyCallback(deps, token, parseUpstreamGeneration(BODIES[status]))));

      const final = await store.get(taskId);
      const highest = Math.max(...statuses.map((s) => STATUS_RANK[s]));
      expect(final?.status_rank).toBe(highest);
      // Exactly one callback per distinct rank reached can have been applied, and only rising ones.
      const applied = outcomes.filter((o) => o.applied).length;
      expect(applied).toBeGreaterThanOrEqual(1);
      expect(applied).toBeLessThanOrEqual(new Set(statuses.map((s) => STATUS_RANK[s])).size);
      // When only one terminal status was sent, it is the one that stands.
      const terminals = new Set(statuses.filter((s) => STATUS_RANK[s] === 3));
      if (terminals.size === 1) expect(final?.task_status).toBe([...terminals][0]);
      if (final?.task_status === 'completed') expect(final.video_url).toBeDefined();
    }),
    { numRuns: 60, seed: 20261124 },
  );

  // Every write that ever happened to these tasks only raised the rank.
  const records = await readWholeStream(tables.endpoint, tables.names.tasks);
  const ours = new Set(taskIds);
  const modifies = records.filter((r) => r.eventName === 'MODIFY' && ours.has(r.dynamodb?.Keys?.task_id?.S ?? ''));
  expect(modifies.length).toBeGreaterThan(0);
  for (const record of modifies) {
    const before = Number(record.dynamodb?.OldImage?.status_rank?.N);
    const after = Number(record.dynamodb?.NewImage?.status_rank?.N);
    expect(after).toBeGreaterThan(before);
  }
}, 120_000);
