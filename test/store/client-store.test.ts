/**
 * Client keys against DynamoDB Local: a rotation keeps the old key for the
 * overlap (marked replaced, its record expiring 7 days after), a second one
 * deletes the key replaced before (a client has at most two keys), one
 * without overlap deletes the old key at once; a revocation deletes every
 * key; and a rotation racing a revocation never leaves a key behind (both
 * change the keys in one transaction checked against the client's key
 * version). The authorizer's verdict on each key follows.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { createClientStore } from '#adapters/dynamodb/client-store';
import { MAX_KEY_OVERLAP_SECONDS, sha256Hex } from '#domain/credentials';
import { isDomainError } from '#domain/errors';
import type { ClientStore } from '#domain/ports';
import { authorize } from '../../functions/authorizer/handler';
import { createTestTables, type TestTables } from '../support/dynamo';
import { GetCommand } from '@aws-sdk/lib-dynamodb';

let tables: TestTables;
let store: ClientStore;

beforeAll(async () => {
  tables = await createTestTables();
  store = createClientStore({ client: tables.doc, clientsTable: tables.names.clients });
});
afterAll(() => tables.destroy());

const T0 = 1_800_000_000;
const OVERLAP = 86_400;
const keysOf = async (clientId: string) => (await store.list()).find((entry) => entry.client.clientId === clientId)!.keys;
const event = (key: string): APIGatewayTokenAuthorizerEvent => ({ type: 'TOKEN', authorizationToken: `Bearer ${key}`, methodArn: 'arn:aws:execute-api:us-east-1:123456789012:abc/dev/GET/luma/generations' });
/** The authorizer's verdict on a key at a time: the client id, or 'refused'. */
const verdict = (key: string, now: number) =>
  authorize(store, event(key), { keyOverlapSeconds: OVERLAP, now: () => now }).then(
    (result) => result.principalId,
    () => 'refused',
  );

it('a rotation keeps the old key for the overlap; a second one deletes the key replaced before; at most two keys', async () => {
  const created = await store.create(`rotating-${randomUUID()}`, { at: T0 });
  const first = await store.rotateKey(created.clientId, { keepOld: true, at: T0 + 10 });
  expect(first).toMatchObject({ replaced: 1, deleted: 0, rotatedAt: T0 + 10 });
  expect((await keysOf(created.clientId)).map((key) => key.replacedAt)).toEqual([T0 + 10, undefined]);
  const oldRecord = await tables.doc.send(new GetCommand({ TableName: tables.names.clients, Key: { pk: `key#${sha256Hex(created.apiKey)}` } }));
  expect(oldRecord.Item).toMatchObject({ replaced_at: T0 + 10, expires_at: T0 + 10 + MAX_KEY_OVERLAP_SECONDS });

  expect(await verdict(first!.apiKey, T0 + 11)).toBe(created.clientId);
  expect(await verdict(created.apiKey, T0 + 10 + OVERLAP - 1)).toBe(created.clientId);
  expect(await verdict(created.apiKey, T0 + 10 + OVERLAP)).toBe('refused');

  const second = await store.rotateKey(created.clientId, { keepOld: true, at: T0 + 20 });
  expect(second).toMatchObject({ replaced: 1, deleted: 1 });
  const keys = await keysOf(created.clientId);
  expect(keys).toHaveLength(2);
  expect(await verdict(created.apiKey, T0 + 21)).toBe('refused');
  expect(await verdict(first!.apiKey, T0 + 21)).toBe(created.clientId);
  expect(await verdict(second!.apiKey, T0 + 21)).toBe(created.clientId);
});

it('a rotation without overlap deletes the old key at once', async () => {
  const created = await store.create(`leaked-${randomUUID()}`, { at: T0 });
  const rotated = await store.rotateKey(created.clientId, { keepOld: false, at: T0 + 5 });
  expect(rotated).toMatchObject({ replaced: 0, deleted: 1 });
  expect(await keysOf(created.clientId)).toHaveLength(1);
  expect(await verdict(created.apiKey, T0 + 6)).toBe('refused');
  expect(await verdict(rotated!.apiKey, T0 + 6)).toBe(created.clientId);
});

it('a revocation deletes every key, once; a revoked client gets no new key', async () => {
  const created = await store.create(`revoked-${randomUUID()}`, { at: T0 });
  const rotated = await store.rotateKey(created.clientId, { keepOld: true, at: T0 + 1 });
  expect(await store.revoke(created.clientId, T0 + 2)).toEqual({ revokedAt: T0 + 2, keysDeleted: 2, already: false });
  expect(await keysOf(created.clientId)).toEqual([]);
  for (const key of [created.apiKey, rotated!.apiKey]) expect(await verdict(key, T0 + 3)).toBe('refused');
  expect(await store.revoke(created.clientId, T0 + 9)).toEqual({ revokedAt: T0 + 2, keysDeleted: 0, already: true });
  const refused = await store.rotateKey(created.clientId, { keepOld: true, at: T0 + 10 }).catch((error: unknown) => error);
  expect(isDomainError(refused) && refused.kind).toBe('conflict');
  expect(await store.revoke(randomUUID())).toBeUndefined();
});

it('rotations racing a revocation never leave a key behind', async () => {
  for (let round = 0; round < 5; round += 1) {
    const created = await store.create(`racing-${randomUUID()}`, { at: T0 });
    const outcomes = await Promise.allSettled([
      store.rotateKey(created.clientId, { keepOld: true, at: T0 + 1 }),
      store.revoke(created.clientId, T0 + 1),
      store.rotateKey(created.clientId, { keepOld: false, at: T0 + 1 }),
    ]);
    expect(outcomes[1].status).toBe('fulfilled');
    expect(await keysOf(created.clientId)).toEqual([]);
    for (const outcome of outcomes) {
      if (outcome.status === 'fulfilled' && outcome.value && 'apiKey' in outcome.value) expect(await verdict(outcome.value.apiKey, T0 + 2)).toBe('refused');
    }
  }
});
