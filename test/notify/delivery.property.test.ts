/**
 * Property, against DynamoDB Local and a real hook on loopback, over random
 * hook outcomes (2xx, 5xx, Retry-After, hanging, 410), replayed stream
 * batches and failed state writes after a delivery: the stream consumer and
 * the delivery worker, run until nothing is due, leave
 *
 * - every message in a final state: delivered, exhausted or skipped;
 * - no webhook-id answered 2xx twice (a delivered message is never sent again);
 * - every task's requests in order: never an attempt of a later status
 *   while an earlier one of the task was still pending;
 * - one message per status change, none lost.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { createClientStore } from '#adapters/dynamodb/client-store';
import { createDeliveryStore } from '#adapters/dynamodb/delivery-store';
import { createEndpointStore } from '#adapters/dynamodb/endpoint-store';
import { createMessageStore } from '#adapters/dynamodb/message-store';
import { deliverToHook } from '#adapters/hook-delivery';
import { deliverDueMessages } from '#domain/deliver-due';
import { messageSeq, type MessageItem } from '#domain/message';
import type { AttemptDeps } from '#domain/message-attempt';
import { silentLog, type MessageStore } from '#domain/ports';
import { STATUS_RANK, type TaskItem } from '#domain/task';
import { modifyRecord } from '../bench/events';
import { notifyStatusChanges } from '../support/notify-records';
import { createTestTables } from '../support/dynamo';
import { startHookServer, type HookAnswer, type HookServer } from '../support/hook-server';
import { taskItem } from '../support/tasks';

jest.setTimeout(180_000);

let hook: HookServer;
beforeAll(async () => {
  hook = await startHookServer();
});
afterAll(() => hook.close());

const answer: fc.Arbitrary<HookAnswer> = fc.oneof(
  { arbitrary: fc.constant(200), weight: 5 },
  { arbitrary: fc.constant(204), weight: 1 },
  { arbitrary: fc.constantFrom(500, 502, 429), weight: 4 },
  { arbitrary: fc.constant({ status: 503, headers: { 'Retry-After': '3' } }), weight: 1 },
  { arbitrary: fc.constant<HookAnswer>('hang'), weight: 1 },
  { arbitrary: fc.constant(410), weight: 1 },
);

const STATUSES = ['pending', 'processing', 'completed'] as const;

it('every message ends delivered, exhausted or skipped; none is delivered twice; each task in order', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(answer, { maxLength: 40 }),
      fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
      fc.double({ min: 0, max: 0.5, noNaN: true }),
      fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      async (answers, replays, settleFailRate, seed) => {
        const tables = await createTestTables();
        try {
          let random = seed;
          const next = () => ((random = (random * 48271) % 2147483647) / 2147483647);
          let clock = Date.now();
          const real = createMessageStore({ client: tables.doc, messagesTable: tables.names.messages });
          // A delivered message's state write fails now and then; its attempt record is written first.
          const messages: MessageStore = {
            ...real,
            settle: async (item, claim, settlement) => {
              if (settlement.kind === 'delivered' && next() < settleFailRate) throw new Error('DynamoDB is unavailable');
              return real.settle(item, claim, settlement);
            },
          };
          const clientStore = createClientStore({ client: tables.doc, clientsTable: tables.names.clients });
          const clients = await Promise.all([clientStore.create('a'), clientStore.create('b')]);
          const base: AttemptDeps = {
            messages,
            deliveries: createDeliveryStore({ client: tables.doc, deliveriesTable: tables.names.deliveries }),
            endpoints: createEndpointStore({ client: tables.doc, endpointsTable: tables.names.endpoints }),
            deliver: deliverToHook,
            policy: { allowLoopbackHttp: true },
            log: silentLog,
            nowMs: () => clock,
            random: next,
            schedule: [0, 1, 2, 4],
            disableAfterSeconds: 3600,
            secretOverlapSeconds: 0,
            retentionDays: 30,
          };
          hook.received.length = 0;
          hook.answers = [...answers];
          hook.defaultAnswer = 200;

          // Two clients, an endpoint each, two tasks each, three status changes each.
          const tasks: TaskItem[] = clients.flatMap((client) => {
            const url = `${hook.url}/${randomUUID()}`;
            return [0, 1].map(() => taskItem({ owner_id: client.clientId, notify_hook: url }));
          });
          const records = STATUSES.flatMap((status, i) =>
            tasks.map((task) => {
              const before = { ...task, task_status: i === 0 ? 'submitting' : STATUSES[i - 1], status_rank: i };
              return modifyRecord(before, { ...task, task_status: status, status_rank: STATUS_RANK[status] });
            }),
          );
          // In batches of 2, some delivered twice (a retried batch).
          const consumer = { ...base, clients: clientStore, firstAttemptTimeoutMs: 150 };
          for (let b = 0; b < records.length; b += 2) {
            const batch = records.slice(b, b + 2);
            expect(await notifyStatusChanges(consumer, batch)).toEqual({ batchItemFailures: [] });
            if (replays[b / 2]) expect(await notifyStatusChanges(consumer, batch)).toEqual({ batchItemFailures: [] });
          }

          // The worker, run until nothing is pending, the clock moved to the next due time.
          const worker = { ...base, clients: clientStore, attemptTimeoutMs: 150, maxMessagesPerRun: 100, concurrency: 4, perEndpointConcurrency: 2 };
          const all = async () => (await Promise.all(tasks.map((task) => real.ofTask(task.task_id)))).flat();
          let current: MessageItem[] = await all();
          for (let run = 0; run < 60 && current.some((m) => m.message_state === 'pending'); run += 1) {
            clock = Math.max(clock + 1, Math.min(...current.filter((m) => m.message_state === 'pending').map((m) => m.due_at_ms!)));
            await deliverDueMessages(worker);
            current = await all();
          }

          expect(current).toHaveLength(tasks.length * STATUSES.length);
          expect(current.filter((m) => !['delivered', 'exhausted', 'skipped'].includes(m.message_state))).toEqual([]);
          const accepted = hook.received.filter((n) => n.status !== undefined && n.status >= 200 && n.status < 300);
          const acceptedIds = accepted.map((n) => n.headers['webhook-id']);
          expect(acceptedIds.length).toBe(new Set(acceptedIds).size);
          for (const message of current.filter((m) => m.message_state === 'delivered')) expect(acceptedIds).toContain(message.webhook_id);
          for (const task of tasks) {
            const seqs = hook.received
              .map((n) => JSON.parse(n.body) as { task_id: string; task_status: (typeof STATUSES)[number] })
              .filter((body) => body.task_id === task.task_id)
              .map((body) => messageSeq(body.task_status, false));
            expect(seqs).toEqual([...seqs].sort());
          }
        } finally {
          tables.destroy();
        }
      },
    ),
    { numRuns: 10, seed: 20261209 },
  );
});
