/**
 * A request field is declared once, in the request schema: the upstream
 * submission carries it and the Idempotency-Key fingerprint covers it
 * without another line of code. Proved with a field the schema does not
 * have today, added the way a developer would add it.
 */
import { randomUUID } from 'node:crypto';
import * as fc from 'fast-check';
import * as z from 'zod/mini';
import { createTaskStore } from '#adapters/dynamodb/task-store';
import { staticSecret } from '#adapters/secret-cache';
import { createUpstreamClient } from '#adapters/upstream/http-client';
import { generationRequestSchema, requestFingerprint, type GenerationRequest } from '#domain/generation-request';
import { silentLog } from '#domain/ports';
import { submitGeneration, type SubmitDeps } from '#domain/submit-generation';
import { validate } from '#http/validation';
import { asClientSees } from '../support/client-view';
import { createTestTables, type TestTables } from '../support/dynamo';
import { fixture } from '../support/fixtures';
import { startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream';

const PARENT = '4665a07c-7641-4809-a133-10786201bb56';
const policy = { allowLoopbackHttp: false };

/** Today's schema plus a field it does not have: only the schema changes. */
const extendedSchema = z.extend(generationRequestSchema(policy), { aspect_ratio: z.optional(z.enum(['16:9', '9:16', '1:1'])) });

function parse(body: unknown): GenerationRequest {
  const result = validate(extendedSchema, body);
  if (!result.ok) throw new Error(result.message);
  return result.data as GenerationRequest;
}

let tables: TestTables;
let upstream: ScriptedUpstream;
let deps: SubmitDeps;

beforeAll(async () => {
  tables = await createTestTables();
  upstream = await startScriptedUpstream();
  upstream.fallback = { status: 200, body: fixture('submit-raw-pending.json') };
  deps = {
    tasks: createTaskStore({ client: tables.doc, tasksTable: tables.names.tasks, idempotencyTable: tables.names.idempotency }),
    upstream: createUpstreamClient({ baseUrl: upstream.url, apiKey: staticSecret('up-key'), timeoutMs: 2000 }),
    callbackBaseUrl: 'https://gateway.example.com/prod',
    lifecycle: { reconcileAfterSeconds: 120, deadlineSeconds: 7200, confirmDeadlineSeconds: 900, retentionDays: 90 },
    submitWindowSeconds: 28,
    inFlightWaitMs: 3000,
    now: () => Math.floor(Date.now() / 1000),
    log: silentLog,
  };
});
afterAll(async () => {
  await upstream.close();
  tables.destroy();
});
beforeEach(() => {
  upstream.received.length = 0;
});

it('a field added to the schema is sent upstream as given, beside the gateway callback URL', async () => {
  await submitGeneration(deps, { ownerId: 'client-a', parentTaskId: PARENT, request: parse({ user_prompt: 'a cat', aspect_ratio: '9:16' }) });
  expect(upstream.received).toHaveLength(1);
  expect(upstream.received[0].body).toEqual({
    user_prompt: 'a cat',
    aspect_ratio: '9:16',
    notify_hook: expect.stringMatching(/^https:\/\/gateway\.example\.com\/prod\/luma\/callbacks\//),
  });
});

it('a field added to the schema is part of the Idempotency-Key fingerprint: another value is 409, the same value replays', async () => {
  const key = randomUUID();
  const first = await submitGeneration(deps, { ownerId: 'client-a', parentTaskId: PARENT, request: parse({ user_prompt: 'a cat', aspect_ratio: '9:16' }), idempotencyKey: key });
  await expect(
    asClientSees(submitGeneration(deps, { ownerId: 'client-a', parentTaskId: PARENT, request: parse({ user_prompt: 'a cat', aspect_ratio: '1:1' }), idempotencyKey: key })),
  ).rejects.toMatchObject({ status: 409, code: 40901 });
  const replay = await submitGeneration(deps, { ownerId: 'client-a', parentTaskId: PARENT, request: parse({ user_prompt: 'a cat', aspect_ratio: '9:16' }), idempotencyKey: key });
  expect(replay.task.task_id).toBe(first.task.task_id);
  expect(upstream.received).toHaveLength(1);
});

describe('the fingerprint', () => {
  const shapeKeys = Object.keys(extendedSchema.def.shape) as (keyof GenerationRequest | 'aspect_ratio')[];
  const values: Record<string, fc.Arbitrary<unknown>> = {
    user_prompt: fc.string({ minLength: 1, maxLength: 40 }),
    expand_prompt: fc.boolean(),
    image_url: fc.webUrl(),
    image_end_url: fc.webUrl(),
    notify_hook: fc.webUrl(),
    aspect_ratio: fc.constantFrom('16:9', '9:16', '1:1'),
  };

  it('has a value generator for every field of the schema', () => {
    expect(shapeKeys.sort()).toEqual(Object.keys(values).sort());
  });

  it('changes when any one field changes, and not with the order fields arrive in', () => {
    const request = fc.record(values, { requiredKeys: ['user_prompt'] }) as fc.Arbitrary<Record<string, unknown>>;
    fc.assert(
      fc.property(request, fc.constantFrom(...shapeKeys), fc.anything(), (base, field, other) => {
        fc.pre(other !== undefined && JSON.stringify(other) !== JSON.stringify(base[field]));
        const reordered = Object.fromEntries(Object.entries(base).reverse());
        expect(requestFingerprint(PARENT, reordered as GenerationRequest)).toBe(requestFingerprint(PARENT, base as GenerationRequest));
        expect(requestFingerprint(PARENT, { ...base, [field]: other } as GenerationRequest)).not.toBe(requestFingerprint(PARENT, base as GenerationRequest));
        expect(requestFingerprint(undefined, base as GenerationRequest)).not.toBe(requestFingerprint(PARENT, base as GenerationRequest));
      }),
      { numRuns: 300 },
    );
  });
});
