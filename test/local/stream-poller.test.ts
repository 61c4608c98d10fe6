/**
 * The stream poller against DynamoDB Local's real stream, and the every()
 * scheduler.
 */
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { statusChangePatterns } from '#domain/task-events';
import { every } from '../../lib/local/scheduler';
import { startStreamPoller, type StreamPoller } from '../../lib/local/stream-poller';
import { createTestTables, type TestTables } from '../support/dynamo';

let tables: TestTables;
const pollers: StreamPoller[] = [];

beforeAll(async () => {
  tables = await createTestTables();
});
afterAll(async () => {
  await Promise.all(pollers.map((p) => p.stop()));
  tables.destroy();
});

async function waitFor<T>(read: () => T | undefined, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const put = (taskId: string, status: string, extra: Record<string, unknown> = {}) =>
  tables.doc.send(new PutCommand({ TableName: tables.names.tasks, Item: { task_id: taskId, task_status: status, ...extra } }));
const setStatus = (taskId: string, status: string) =>
  tables.doc.send(
    new UpdateCommand({
      TableName: tables.names.tasks,
      Key: { task_id: taskId },
      UpdateExpression: 'SET task_status = :s',
      ExpressionAttributeValues: { ':s': status },
    }),
  );

test('records arrive in the Lambda DynamoDBStreamEvent shape, only what happens after start', async () => {
  await put('before-start', 'pending');
  const received: DynamoDBRecord[] = [];
  const poller = await startStreamPoller({ endpoint: tables.endpoint, tableName: tables.names.tasks, onRecords: (records) => void received.push(...records), intervalMs: 50 });
  pollers.push(poller);
  expect(poller.streamArn).toMatch(/^arn:aws:dynamodb:.+:table\/.+\/stream\//);

  await put('t1', 'pending', { data: new Uint8Array([1, 2, 3]) });
  await setStatus('t1', 'processing');
  await waitFor(() => (received.length >= 2 ? true : undefined));

  expect(received.map((r) => r.eventName)).toEqual(['INSERT', 'MODIFY']);
  const [insert, modify] = received;
  expect(insert).toMatchObject({
    eventSource: 'aws:dynamodb',
    eventVersion: '1.1',
    eventSourceARN: poller.streamArn,
    dynamodb: {
      Keys: { task_id: { S: 't1' } },
      NewImage: { task_id: { S: 't1' }, task_status: { S: 'pending' }, data: { B: 'AQID' } },
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  });
  expect(insert.dynamodb?.OldImage).toBeUndefined();
  expect(typeof insert.dynamodb?.ApproximateCreationDateTime).toBe('number');
  expect(typeof insert.dynamodb?.SequenceNumber).toBe('string');
  expect(modify.dynamodb).toMatchObject({ OldImage: { task_status: { S: 'pending' } }, NewImage: { task_status: { S: 'processing' } } });
  expect(received.some((r) => r.dynamodb?.Keys?.task_id?.S === 'before-start')).toBe(false);
  await poller.stop();
});

test('an empty shard loses nothing when other tables wrote first (DynamoDB Local trims such iterators)', async () => {
  const fresh = await createTestTables();
  try {
    // Other tables advance DynamoDB Local's sequence numbers while the tasks shard is empty.
    for (let i = 0; i < 3; i += 1) await fresh.doc.send(new PutCommand({ TableName: fresh.names.clients, Item: { pk: `c${i}` } }));
    const received: string[] = [];
    const poller = await startStreamPoller({
      endpoint: fresh.endpoint,
      tableName: fresh.names.tasks,
      intervalMs: 30,
      onRecords: (records) => void received.push(...records.map((r) => r.dynamodb!.Keys!.task_id.S!)),
    });
    pollers.push(poller);
    for (let i = 0; i < 10; i += 1) {
      await fresh.doc.send(new PutCommand({ TableName: fresh.names.tasks, Item: { task_id: `n${i}` } }));
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    await waitFor(() => (received.length >= 10 ? true : undefined));
    expect(received).toEqual(Array.from({ length: 10 }, (_, i) => `n${i}`));
    await poller.stop();
  } finally {
    fresh.destroy();
  }
});

test("filter patterns: only the domain's status changes with a hook pass", async () => {
  const received: DynamoDBRecord[] = [];
  const poller = await startStreamPoller({
    endpoint: tables.endpoint,
    tableName: tables.names.tasks,
    onRecords: (records) => void received.push(...records),
    intervalMs: 50,
    filterPatterns: statusChangePatterns({ withNotifyHook: true }),
  });
  pollers.push(poller);
  await put('f1', 'pending', { notify_hook: 'https://example.com/h' });
  await put('f2', 'pending');
  await setStatus('f2', 'processing'); // no hook: filtered out
  await setStatus('f1', 'processing'); // passes
  await tables.doc.send(new UpdateCommand({ TableName: tables.names.tasks, Key: { task_id: 'f1' }, UpdateExpression: 'SET note_count = :o', ExpressionAttributeValues: { ':o': 1 } }));
  await setStatus('f1', 'completed'); // passes
  await waitFor(() => (received.length >= 2 && poller.filteredOut >= 4 ? true : undefined));
  expect(received.map((r) => [r.dynamodb?.Keys?.task_id?.S, r.dynamodb?.NewImage?.task_status?.S])).toEqual([
    ['f1', 'processing'],
    ['f1', 'completed'],
  ]);
  await poller.stop();
});

test('a failing batch is retried; batchItemFailures retry from the earliest failed record; then given up', async () => {
  const calls: string[][] = [];
  let failuresLeft = 2;
  const errors: string[] = [];
  const poller = await startStreamPoller({
    endpoint: tables.endpoint,
    tableName: tables.names.tasks,
    intervalMs: 50,
    retryDelayMs: 20,
    maxRetries: 2,
    onError: (message) => errors.push(message),
    onRecords: async (records) => {
      calls.push(records.map((r) => r.dynamodb!.Keys!.task_id.S!));
      if (records.some((r) => r.dynamodb?.Keys?.task_id?.S === 'r-throw') && failuresLeft-- > 0) throw new Error('handler crashed');
      const poison = records.find((r) => r.dynamodb?.Keys?.task_id?.S === 'r-poison');
      return poison ? { batchItemFailures: [{ itemIdentifier: poison.dynamodb!.SequenceNumber! }] } : { batchItemFailures: [] };
    },
  });
  pollers.push(poller);

  await put('r-throw', 'pending');
  await waitFor(() => (poller.delivered >= 1 ? true : undefined));
  expect(calls).toEqual([['r-throw'], ['r-throw'], ['r-throw']]);
  expect(errors.filter((e) => e.includes('handler crashed'))).toHaveLength(2);

  calls.length = 0;
  await put('r-poison', 'pending');
  await waitFor(() => (poller.givenUp >= 1 ? true : undefined));
  expect(calls).toEqual([['r-poison'], ['r-poison'], ['r-poison']]);
  expect(errors.some((e) => e.startsWith('gave up on 1 record(s) after 2 retries'))).toBe(true);

  await put('r-after', 'pending');
  await waitFor(() => (calls.some((c) => c.includes('r-after')) ? true : undefined));
  await poller.stop();
});

test('every(): runs repeatedly without overlapping, survives a failing run, stop() waits for the run in progress', async () => {
  let active = 0;
  let overlapped = false;
  let runs = 0;
  const errors: unknown[] = [];
  const schedule = every(
    20,
    async () => {
      active += 1;
      overlapped ||= active > 1;
      runs += 1;
      await new Promise((resolve) => setTimeout(resolve, 30));
      active -= 1;
      if (runs === 2) throw new Error('one bad run');
    },
    { immediately: true, onError: (error) => errors.push(error) },
  );
  await waitFor(() => (runs >= 4 ? true : undefined));
  await schedule.stop();
  const after = runs;
  await new Promise((resolve) => setTimeout(resolve, 80));
  expect(runs).toBe(after);
  expect(active).toBe(0);
  expect(overlapped).toBe(false);
  expect(errors).toHaveLength(1);
  expect(schedule.failures).toBe(1);
});
