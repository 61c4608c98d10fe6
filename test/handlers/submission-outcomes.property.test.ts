/**
 * Property: over random interleavings of submission outcomes (accepted,
 * refused, accepted but the answer lost, lost before it arrived), retries
 * with the same Idempotency-Key (one after another or at once), and the
 * upstream's callbacks (some lost, duplicated, reordered, late), against
 * DynamoDB Local with the real task store, callback and reconciler:
 *
 * - never two upstream generations for one key, and never a second
 *   submission for a key unless the one before it was refused;
 * - never a generation the upstream completed lost, whenever the gateway
 *   can know of it (a callback arrives, or its id is known to the reconciler);
 * - every task ends (completed or failed), and a generation belongs to one task.
 *
 * The upstream is an in-process fake: its outcomes are the random input.
 */
import { randomUUID } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import * as fc from 'fast-check';
import { parseUpstreamGeneration } from '#adapters/upstream/response';
import { applyCallback } from '#domain/apply-callback';
import { UpstreamError } from '#domain/errors';
import { silentLog, type UpstreamClient, type UpstreamSubmission } from '#domain/ports';
import { reconcileOpenTasks } from '#domain/reconcile';
import { submitGeneration, type SubmitDeps } from '#domain/submit-generation';
import { useTaskStoreTables } from '../support/dynamo';

jest.setTimeout(120_000);

type Outcome = 'accept' | 'refuse' | 'unknown-after-create' | 'unknown-before-create';
type UpstreamState = 'pending' | 'processing' | 'completed' | 'failed';

interface Callback {
  readonly state: UpstreamState;
  readonly delayMs: number;
  readonly lost: boolean;
  /** Arrives only after the confirmation deadline (a revival). */
  readonly late: boolean;
}

interface KeyScenario {
  /** The upstream's outcome for each submission it receives for this key, in order (then: accepted). */
  readonly outcomes: readonly Outcome[];
  /** Client requests with the key; `together`: the retries go out at once. */
  readonly requests: number;
  readonly together: boolean;
  readonly finalState: 'completed' | 'failed';
  readonly callbacks: readonly Callback[];
  readonly duplicate: boolean;
}

const callback = (state: UpstreamState) =>
  fc.record({ state: fc.constant(state), delayMs: fc.integer({ min: 0, max: 30 }), lost: fc.boolean(), late: fc.boolean() });

const keyScenario: fc.Arbitrary<KeyScenario> = fc
  .record({
    outcomes: fc.array(fc.constantFrom<Outcome>('accept', 'refuse', 'unknown-after-create', 'unknown-before-create'), { minLength: 1, maxLength: 3 }),
    requests: fc.integer({ min: 1, max: 3 }),
    together: fc.boolean(),
    finalState: fc.constantFrom<'completed' | 'failed'>('completed', 'failed'),
    pending: callback('pending'),
    processing: callback('processing'),
    final: callback('completed'),
    reorder: fc.boolean(),
    duplicate: fc.boolean(),
  })
  .map(({ pending, processing, final, reorder, finalState, ...rest }) => {
    const ordered = [pending, processing, { ...final, state: finalState }];
    return { ...rest, finalState, callbacks: reorder ? ordered.reverse() : ordered };
  });

interface Generation {
  readonly id: string;
  readonly key: string;
  readonly notifyHook: string;
  state: UpstreamState;
  readonly finalState: 'completed' | 'failed';
}

/** The upstream: outcomes scripted per key (the prompt carries the key), generations it created. */
function fakeUpstream(scenarios: ReadonlyMap<string, KeyScenario>) {
  const generations: Generation[] = [];
  const calls = new Map<string, Outcome[]>();
  const client: UpstreamClient = {
    submit: async (_parent, submission: UpstreamSubmission) => {
      const key = submission.user_prompt;
      const made = calls.get(key) ?? [];
      const outcome = scenarios.get(key)!.outcomes[made.length] ?? 'accept';
      made.push(outcome);
      calls.set(key, made);
      await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 15)));
      const create = () => {
        const generation: Generation = { id: randomUUID(), key, notifyHook: submission.notify_hook, state: 'pending', finalState: scenarios.get(key)!.finalState };
        generations.push(generation);
        return generation;
      };
      if (outcome === 'refuse') throw new UpstreamError('upstream-rejected', 'the upstream rejected the request: no', 'refused', 400);
      if (outcome === 'unknown-before-create') throw new UpstreamError('upstream-timeout', 'the upstream did not answer within 1 s', 'unknown');
      const generation = create();
      if (outcome === 'unknown-after-create') throw new UpstreamError('upstream-failed', 'the upstream answered HTTP 500', 'unknown', 500);
      return { id: generation.id, rawState: 'pending', status: 'pending' };
    },
    getGeneration: async (id) => {
      const generation = generations.find((g) => g.id === id);
      if (!generation) throw new UpstreamError('not-found', 'the upstream does not know that generation', 'refused', 404);
      return reported(generation);
    },
  };
  return { client, generations, calls };
}

function body(generation: Generation, state: UpstreamState) {
  return { id: generation.id, state, ...(state === 'completed' && { video: { url: `https://cdn.example.com/${generation.id}.mp4` } }), ...(state === 'failed' && { failure_reason: 'nsfw' }) };
}

function reported(generation: Generation) {
  const report = parseUpstreamGeneration(body(generation, generation.state));
  if (!report.ok) throw new Error(report.problem);
  return report.generation;
}

const db = useTaskStoreTables();

const CONFIRM_SECONDS = 900;
const DEADLINE_SECONDS = 7200;

test('never two generations for one key, never a completed generation lost, every task ends', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(keyScenario, { minLength: 1, maxLength: 4 }), async (scenarioList) => {
      const scenarios = new Map(scenarioList.map((scenario) => [`key-${randomUUID()}`, scenario]));
      const upstream = fakeUpstream(scenarios);
      let clock = Math.floor(Date.now() / 1000);
      const deps: SubmitDeps = {
        tasks: db.store,
        upstream: upstream.client,
        callbackBaseUrl: 'https://gateway.example.com/prod',
        lifecycle: { reconcileAfterSeconds: 60, deadlineSeconds: DEADLINE_SECONDS, confirmDeadlineSeconds: CONFIRM_SECONDS, retentionDays: 90 },
        submitWindowSeconds: 28,
        inFlightWaitMs: 400,
        now: () => clock,
        log: silentLog,
      };
      const callbackDeps = { tasks: db.store, now: () => clock, log: silentLog };
      const taskIds = new Set<string>();

      // The callbacks of each generation the upstream creates: some lost, some only after the confirmation deadline.
      const late: (() => Promise<void>)[] = [];
      const deliveries: Promise<void>[] = [];
      const deliver = async (generation: Generation, event: Callback) => {
        if (event.lost) return;
        const token = generation.notifyHook.split('/').pop()!;
        const send = () => applyCallback(callbackDeps, token, parseUpstreamGeneration(body(generation, event.state))).then(() => undefined, () => undefined);
        await send();
        if (scenarios.get(generation.key)!.duplicate) await send();
      };
      const seen = new Set<string>();
      const followGenerations = async () => {
        for (const generation of upstream.generations) {
          if (seen.has(generation.id)) continue;
          seen.add(generation.id);
          const events = scenarios.get(generation.key)!.callbacks;
          deliveries.push(
            (async () => {
              for (const event of events) {
                await new Promise((resolve) => setTimeout(resolve, event.delayMs));
                generation.state = event.state;
                if (event.late) late.push(() => deliver(generation, event));
                else await deliver(generation, event);
              }
              // The upstream reaches its final state whatever its callbacks did.
              generation.state = generation.finalState;
            })(),
          );
        }
      };

      // Clients: each key's requests, one after another or at once; all keys side by side.
      await Promise.all(
        [...scenarios].map(async ([key, scenario]) => {
          const request = () =>
            submitGeneration(deps, { ownerId: 'client-p', request: { user_prompt: key }, idempotencyKey: key }).then(
              (result) => void taskIds.add(result.task.task_id),
              () => undefined,
            );
          if (scenario.together) await Promise.all(Array.from({ length: scenario.requests }, request));
          else for (let i = 0; i < scenario.requests; i += 1) await request();
          await followGenerations();
        }),
      );
      await followGenerations();
      await Promise.all(deliveries);

      // Time passes: the reconciler, late callbacks (revivals), the reconciler past every deadline.
      const reconcile = () =>
        reconcileOpenTasks({ tasks: db.store, upstream: upstream.client, now: () => clock, log: silentLog, recheckAfterSeconds: 60, confirmDeadlineSeconds: CONFIRM_SECONDS, maxTasksPerRun: 1000, concurrency: 4 });
      clock += CONFIRM_SECONDS + 1;
      await reconcile();
      for (const send of late) await send();
      clock += DEADLINE_SECONDS;
      await reconcile();

      // Every task of this run, from the table (refusals give the client no task id).
      const owned = ((await db.tables.doc.send(new ScanCommand({ TableName: db.tables.names.tasks, ConsistentRead: true }))).Items ?? []).filter((item) => scenarios.has(item.prompt));
      for (const id of taskIds) expect(owned.some((task) => task.task_id === id)).toBe(true);

      for (const [key, scenario] of scenarios) {
        const made = upstream.calls.get(key) ?? [];
        const generations = upstream.generations.filter((g) => g.key === key);
        // At most one generation per key; a second submission only after a refusal.
        expect(generations.length).toBeLessThanOrEqual(1);
        made.forEach((_outcome, index) => {
          if (index > 0) expect(made[index - 1]).toBe('refuse');
        });
        for (const generation of generations) {
          const tasks = owned.filter((task) => generation.notifyHook.includes(`/${task.task_id}.`));
          expect(tasks).toHaveLength(1);
          const [task] = tasks;
          const heardOf = scenario.callbacks.some((event) => !event.lost) || task.upstream_id === generation.id;
          if (heardOf && generation.finalState === 'completed') expect({ key, status: task.task_status }).toEqual({ key, status: 'completed' });
          if (heardOf && generation.finalState === 'failed') expect({ key, status: task.task_status }).toEqual({ key, status: 'failed' });
        }
      }
      for (const task of owned) expect(['completed', 'failed']).toContain(task.task_status);
    }),
    { numRuns: 30 },
  );
});
