/**
 * The listing (GET /luma/generations) and the batch read (POST /luma/tasks)
 * over the owner index and BatchGetItem of DynamoDB Local: following the
 * cursors covers every task of the caller exactly once, newest first, and
 * never another client's, whatever the page size and filters (a property
 * over random task sets); cursors refused when made for another client or
 * other filters, or tampered with; a batch answers unknown ids and other
 * clients' alike.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { createTaskStore } from '#adapters/dynamodb/task-store';
import { isDomainError } from '#domain/errors';
import { STATUS_RANK, TASK_STATUSES, type TaskItem, type TaskStatus } from '#domain/task';
import { batchGetTasks, listTasks, MAX_EXAMINED_PER_PAGE, type ListQuery, type TaskPage } from '#domain/task-listing';
import { useTaskStoreTables } from '../support/dynamo';
import { taskItem } from '../support/tasks';

jest.setTimeout(120_000);

const db = useTaskStoreTables();

const put = (tasks: readonly TaskItem[]) => Promise.all(tasks.map((task) => db.store.create(task)));
const ownedTask = (owner: string, createdAt: number, status: TaskStatus) =>
  taskItem({ owner_id: owner, created_at: createdAt, updated_at: createdAt, task_status: status, status_rank: STATUS_RANK[status] });

/** Every page of a listing, following next_cursor to the end. */
async function allPages(owner: string, query: Omit<ListQuery, 'cursor'>): Promise<TaskPage[]> {
  const pages: TaskPage[] = [];
  let cursor: string | undefined;
  do {
    const page = await listTasks({ tasks: db.store }, owner, { ...query, cursor });
    pages.push(page);
    cursor = page.next_cursor ?? undefined;
    if (pages.length > 500) throw new Error('the listing does not end');
  } while (cursor !== undefined);
  return pages;
}

const statusArb = fc.constantFrom(...TASK_STATUSES);

describe('listing', () => {
  it('pages cover every task of the caller once, newest first, never another client\'s, whatever the limit and filters', async () => {
    await fc.assert(
      fc.asyncProperty(
        // Two clients' tasks, with creation times that collide often (the index orders ties by task id).
        fc.array(fc.record({ mine: fc.boolean(), at: fc.integer({ min: 1000, max: 1040 }), status: statusArb }), { maxLength: 60 }),
        fc.integer({ min: 1, max: 100 }),
        fc.option(statusArb, { nil: undefined }),
        fc.option(fc.integer({ min: 995, max: 1045 }), { nil: undefined }),
        async (specs, limit, status, createdAfter) => {
          const me = `client-${randomUUID()}`;
          const other = `client-${randomUUID()}`;
          const tasks = specs.map((spec) => ownedTask(spec.mine ? me : other, spec.at, spec.status));
          await put(tasks);
          const pages = await allPages(me, { limit, status, createdAfter });
          const listed = pages.flatMap((page) => page.tasks);
          const expected = tasks.filter(
            (task) => task.owner_id === me && (status === undefined || task.task_status === status) && (createdAfter === undefined || task.created_at > createdAfter),
          );
          // Each once, and exactly the caller's matching tasks.
          expect(listed.map((task) => task.task_id).sort()).toEqual(expected.map((task) => task.task_id).sort());
          expect(new Set(listed.map((task) => task.task_id)).size).toBe(listed.length);
          // Newest first, across pages.
          for (let i = 1; i < listed.length; i += 1) expect(listed[i - 1].created_at).toBeGreaterThanOrEqual(listed[i].created_at);
          for (const page of pages) expect(page.tasks.length).toBeLessThanOrEqual(limit);
          // Without a filter every page but the last is full.
          if (status === undefined) for (const page of pages.slice(0, -1)) expect(page.tasks).toHaveLength(limit);
        },
      ),
      { numRuns: 40, seed: 20261201 },
    );
  });

  it('with a status filter, a page looks at no more than its bound of tasks: it may be short, even empty, and still lead on', async () => {
    const me = `client-${randomUUID()}`;
    const failed = ownedTask(me, 100, 'failed');
    const completed = Array.from({ length: MAX_EXAMINED_PER_PAGE + 20 }, (_, i) => ownedTask(me, 200 + i, 'completed'));
    await put([failed, ...completed]);
    const first = await listTasks({ tasks: db.store }, me, { status: 'failed', limit: 10 });
    expect(first.tasks).toEqual([]);
    expect(first.next_cursor).not.toBeNull();
    const second = await listTasks({ tasks: db.store }, me, { status: 'failed', limit: 10, cursor: first.next_cursor! });
    expect(second.tasks.map((task) => task.task_id)).toEqual([failed.task_id]);
    expect(second.next_cursor).toBeNull();
  });

  it("refuses a cursor made for another client's listing, for other filters, or tampered with (400)", async () => {
    const me = `client-${randomUUID()}`;
    const other = `client-${randomUUID()}`;
    await put([...Array.from({ length: 3 }, (_, i) => ownedTask(me, 10 + i, 'pending')), ...Array.from({ length: 3 }, (_, i) => ownedTask(other, 10 + i, 'pending'))]);
    const theirs = await listTasks({ tasks: db.store }, other, { limit: 1 });
    const mine = await listTasks({ tasks: db.store }, me, { limit: 1 });
    const refusal = (owner: string, query: ListQuery) =>
      listTasks({ tasks: db.store }, owner, query).then(
        () => undefined,
        (error: unknown) => (isDomainError(error) ? { kind: error.kind, message: error.message } : error),
      );
    expect(await refusal(me, { limit: 1, cursor: theirs.next_cursor! })).toEqual({ kind: 'invalid', message: "cursor belongs to another client's listing" });
    expect(await refusal(me, { limit: 1, status: 'pending', cursor: mine.next_cursor! })).toMatchObject({ kind: 'invalid', message: expect.stringContaining('other filters') });
    expect(await refusal(me, { limit: 1, createdAfter: 5, cursor: mine.next_cursor! })).toMatchObject({ kind: 'invalid' });
    // Rewritten to name the caller but point into nothing of theirs: still only the caller's partition, and refused when malformed.
    const decoded = JSON.parse(Buffer.from(mine.next_cursor!, 'base64url').toString('utf8'));
    const forged = Buffer.from(JSON.stringify([decoded[0], other, decoded[2], decoded[3], null, null]), 'utf8').toString('base64url');
    expect(await refusal(me, { limit: 1, cursor: forged })).toMatchObject({ kind: 'invalid', message: "cursor belongs to another client's listing" });
    for (const junk of ['abc', Buffer.from('[1,"x"]').toString('base64url'), Buffer.from(JSON.stringify([1, me, 1.5, 'x', null, null])).toString('base64url')]) {
      expect(await refusal(me, { limit: 1, cursor: junk })).toMatchObject({ kind: 'invalid', message: expect.stringContaining('cursor is not a cursor this API gave') });
    }
  });
});

describe('batch read', () => {
  it("answers the caller's tasks in the order asked, each once; unknown ids and another client's alike, as not_found", async () => {
    const me = `client-${randomUUID()}`;
    const other = `client-${randomUUID()}`;
    const mine = [ownedTask(me, 1, 'pending'), ownedTask(me, 2, 'completed')];
    const theirs = ownedTask(other, 3, 'pending');
    await put([...mine, theirs]);
    const unknown = randomUUID();
    const result = await batchGetTasks({ tasks: db.store }, me, [mine[1].task_id, theirs.task_id, unknown, mine[0].task_id.toUpperCase(), mine[1].task_id]);
    expect(result.tasks.map((task) => task.task_id)).toEqual([mine[1].task_id, mine[0].task_id]);
    expect(result.not_found).toEqual([theirs.task_id, unknown]);
    // The other client's id and the unknown one are answered the same way: nothing tells them apart.
    expect(await batchGetTasks({ tasks: db.store }, me, [theirs.task_id])).toEqual(await batchGetTasks({ tasks: db.store }, me, [unknown]).then((r) => ({ ...r, not_found: [theirs.task_id] })));
  });

  it('reads 100 ids in one call', async () => {
    const me = `client-${randomUUID()}`;
    const tasks = Array.from({ length: 100 }, (_, i) => ownedTask(me, i, 'processing'));
    await put(tasks);
    const result = await batchGetTasks({ tasks: db.store }, me, tasks.map((task) => task.task_id));
    expect(result.tasks).toHaveLength(100);
    expect(result.not_found).toEqual([]);
  });

  it('reads again the keys DynamoDB leaves unprocessed, and answers 503 when time runs out (forced: DynamoDB Local never leaves any)', async () => {
    const me = `client-${randomUUID()}`;
    const tasks = Array.from({ length: 4 }, (_, i) => ownedTask(me, i, 'pending'));
    await put(tasks);
    let calls = 0;
    const throttling = (unprocessedCalls: number) =>
      new Proxy(db.tables.doc, {
        get(target, property, receiver) {
          if (property !== 'send') return Reflect.get(target, property, receiver);
          return async (command: any) => {
            const out: any = await target.send(command);
            if (command.constructor.name !== 'BatchGetCommand') return out;
            calls += 1;
            if (calls > unprocessedCalls) return out;
            // Answer the first key only; the rest come back unprocessed, as a throttled BatchGetItem does.
            const table = Object.keys(command.input.RequestItems)[0];
            const keys = command.input.RequestItems[table].Keys;
            const first = (out.Responses?.[table] ?? []).filter((item: any) => item.task_id === keys[0].task_id);
            return { ...out, Responses: { [table]: first }, UnprocessedKeys: keys.length > 1 ? { [table]: { Keys: keys.slice(1) } } : undefined };
          };
        },
      }) as typeof db.tables.doc;
    const storeOn = (client: typeof db.tables.doc) => createTaskStore({ client, tasksTable: db.tables.names.tasks, idempotencyTable: db.tables.names.idempotency });
    const ids = tasks.map((task) => task.task_id);
    const result = await batchGetTasks({ tasks: storeOn(throttling(2)) }, me, ids);
    expect(result.tasks.map((task) => task.task_id)).toEqual(ids);
    expect(calls).toBe(3);
    calls = 0;
    const error = await batchGetTasks({ tasks: storeOn(throttling(100)), remainingMs: () => 300 }, me, ids).catch((e: unknown) => e);
    expect(isDomainError(error) && error.kind).toBe('unavailable');
  });
});
