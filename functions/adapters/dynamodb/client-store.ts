/**
 * Clients of the gateway. A client item (`client#<id>`) holds its name,
 * webhook secret and key state; a key item (`key#<sha256 of the key>`)
 * points at it, so the authorizer finds a client by its key's hash with one
 * GetItem. A key a rotation replaced carries `replaced_at` (the authorizer
 * accepts it for the overlap after) and `expires_at` (TTL, once the longest
 * overlap is over). Revoking a client deletes its keys.
 *
 * Rotation and revocation find a client's keys by reading the table (an
 * admin operation: the table holds a few items per client), then change
 * them in one transaction conditioned on the client's `key_version`, which
 * each of them increments: a rotation that happened between the read and
 * the write makes the transaction fail, and it is read again.
 */
import { randomUUID } from 'node:crypto';
import { GetCommand, ScanCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { conflict, storeUnavailable } from '#domain/errors';
import { MAX_KEY_OVERLAP_SECONDS, newClientKey, newWebhookSecret, sha256Hex } from '#domain/credentials';
import type { Client, ClientKey, ClientStore, NewClient } from '#domain/ports';
import { allPages, guarded, isConditionFailure } from './document-client';
import { cancellationReasons } from './transactions';

const CLIENT_PREFIX = 'client#';
const KEY_PREFIX = 'key#';
const clientPk = (clientId: string) => `${CLIENT_PREFIX}${clientId}`;
const keyPk = (apiKey: string) => `${KEY_PREFIX}${sha256Hex(apiKey)}`;
/** Reads of a client's keys before its transaction gives up (another rotation or revocation each time). */
const KEY_CHANGE_ATTEMPTS = 3;

function clientOf(item: Record<string, any>): Client {
  return {
    clientId: item.client_id ?? String(item.pk).slice(CLIENT_PREFIX.length),
    name: item.name,
    webhookSecret: item.webhook_secret,
    ...(item.previous_webhook_secret !== undefined && { previousWebhookSecret: item.previous_webhook_secret }),
    ...(item.webhook_secret_rotated_at !== undefined && { webhookSecretRotatedAt: item.webhook_secret_rotated_at }),
    createdAt: item.created_at,
    ...(item.key_rotated_at !== undefined && { keyRotatedAt: item.key_rotated_at }),
    ...(item.revoked_at !== undefined && { revokedAt: item.revoked_at }),
  };
}

function keyOf(item: Record<string, any>): ClientKey {
  return {
    clientId: item.client_id,
    createdAt: item.created_at,
    ...(typeof item.replaced_at === 'number' && { replacedAt: item.replaced_at }),
  };
}

export function createClientStore({ client, clientsTable }: { client: DynamoDBDocumentClient; clientsTable: string }): ClientStore {
  /** Every item of the table that passes the filter (an admin read). */
  const scan = (filter: string, values: Record<string, unknown>, names?: Record<string, string>) =>
    allPages<Record<string, any>>((start) =>
      client.send(
        new ScanCommand({ TableName: clientsTable, FilterExpression: filter, ExpressionAttributeNames: names, ExpressionAttributeValues: values, ExclusiveStartKey: start, ConsistentRead: true }),
      ),
    );

  /**
   * Changes a client's keys in one transaction built from its item and its
   * key items as read now; read again when another change came in between.
   * Undefined when the client does not exist.
   */
  const changeKeys = async <T>(
    clientId: string,
    build: (clientItem: Record<string, any>, keys: Record<string, any>[]) => { items: object[]; set: Record<string, unknown>; result: T },
  ): Promise<T | undefined> => {
    for (let attempt = 1; ; attempt += 1) {
      const { Item } = await client.send(new GetCommand({ TableName: clientsTable, Key: { pk: clientPk(clientId) }, ConsistentRead: true }));
      if (Item === undefined) return undefined;
      const keys = await scan('begins_with(pk, :key) AND client_id = :client', { ':key': KEY_PREFIX, ':client': clientId });
      const { items, set, result } = build(Item, keys);
      const version = typeof Item.key_version === 'number' ? Item.key_version : 0;
      const names = Object.fromEntries(Object.keys(set).map((name, i) => [`#s${i}`, name]));
      const values = Object.fromEntries(Object.values(set).map((value, i) => [`:s${i}`, value]));
      const sets = Object.keys(names).map((name, i) => `${name} = :s${i}`);
      try {
        await client.send(
          new TransactWriteCommand({
            TransactItems: [
              ...items,
              {
                Update: {
                  TableName: clientsTable,
                  Key: { pk: clientPk(clientId) },
                  UpdateExpression: `${sets.length > 0 ? `SET ${sets.join(', ')} ` : ''}ADD key_version :one`,
                  // Nothing changed its keys since they were read.
                  ConditionExpression: version === 0 ? 'attribute_exists(pk) AND attribute_not_exists(key_version)' : 'key_version = :version',
                  ...(sets.length > 0 && { ExpressionAttributeNames: names }),
                  ExpressionAttributeValues: { ':one': 1, ...values, ...(version !== 0 && { ':version': version }) },
                },
              },
            ],
          }),
        );
        return result;
      } catch (error) {
        const reasons = cancellationReasons(error);
        const changed = reasons.includes('ConditionalCheckFailed') || reasons.includes('TransactionConflict');
        if (!changed) throw error;
        if (attempt >= KEY_CHANGE_ATTEMPTS) throw Object.assign(storeUnavailable(), { cause: error });
      }
    }
  };

  return {
    create: (name, options = {}) =>
      guarded(async () => {
        const created: NewClient = {
          clientId: randomUUID(),
          name,
          apiKey: options.apiKey ?? newClientKey(),
          webhookSecret: options.webhookSecret ?? newWebhookSecret(),
          createdAt: options.at ?? Math.floor(Date.now() / 1000),
        };
        await client.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: {
                  TableName: clientsTable,
                  Item: { pk: clientPk(created.clientId), client_id: created.clientId, name, webhook_secret: created.webhookSecret, created_at: created.createdAt },
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              },
              {
                Put: {
                  TableName: clientsTable,
                  Item: { pk: keyPk(created.apiKey), client_id: created.clientId, created_at: created.createdAt },
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              },
            ],
          }),
        );
        return created;
      }),

    clientIdForKey: (apiKey) =>
      guarded(async () => {
        const { Item } = await client.send(new GetCommand({ TableName: clientsTable, Key: { pk: keyPk(apiKey) } }));
        return typeof Item?.client_id === 'string' ? Item.client_id : undefined;
      }),

    keyOf: (apiKey) =>
      guarded(async () => {
        // Strongly consistent: a key revoked or dropped is refused by the next authorizer run, not a replica's lag later.
        const { Item } = await client.send(new GetCommand({ TableName: clientsTable, Key: { pk: keyPk(apiKey) }, ConsistentRead: true }));
        return typeof Item?.client_id === 'string' ? keyOf(Item) : undefined;
      }),

    get: (clientId) =>
      guarded(async () => {
        const { Item } = await client.send(new GetCommand({ TableName: clientsTable, Key: { pk: clientPk(clientId) } }));
        return Item ? clientOf({ client_id: clientId, ...Item }) : undefined;
      }),

    rotateWebhookSecret: (clientId, options = {}) =>
      guarded(async () => {
        const webhookSecret = options.webhookSecret ?? newWebhookSecret();
        const rotatedAt = options.at ?? Math.floor(Date.now() / 1000);
        try {
          // One write: the current secret becomes the previous one, so both sign during the overlap.
          await client.send(
            new UpdateCommand({
              TableName: clientsTable,
              Key: { pk: clientPk(clientId) },
              UpdateExpression: 'SET previous_webhook_secret = webhook_secret, webhook_secret = :secret, webhook_secret_rotated_at = :at',
              ConditionExpression: 'attribute_exists(pk)',
              ExpressionAttributeValues: { ':secret': webhookSecret, ':at': rotatedAt },
            }),
          );
        } catch (error) {
          if (isConditionFailure(error)) return undefined;
          throw error;
        }
        return { clientId, webhookSecret, rotatedAt };
      }),

    findByName: (name) =>
      guarded(async () =>
        (await scan('begins_with(pk, :client) AND #name = :name', { ':client': CLIENT_PREFIX, ':name': name }, { '#name': 'name' })).map(clientOf),
      ),

    list: () =>
      guarded(async () => {
        const items = await scan('begins_with(pk, :client) OR begins_with(pk, :key)', { ':client': CLIENT_PREFIX, ':key': KEY_PREFIX });
        const keys = new Map<string, ClientKey[]>();
        for (const item of items.filter((candidate) => String(candidate.pk).startsWith(KEY_PREFIX))) {
          keys.set(item.client_id, [...(keys.get(item.client_id) ?? []), keyOf(item)]);
        }
        return items
          .filter((item) => String(item.pk).startsWith(CLIENT_PREFIX))
          .map((item) => {
            const found = clientOf(item);
            return { client: found, keys: (keys.get(found.clientId) ?? []).sort((a, b) => a.createdAt - b.createdAt) };
          })
          .sort((a, b) => a.client.createdAt - b.client.createdAt || a.client.name.localeCompare(b.client.name));
      }),

    rotateKey: (clientId, options) =>
      guarded(async () => {
        const apiKey = options.apiKey ?? newClientKey();
        const rotatedAt = options.at ?? Math.floor(Date.now() / 1000);
        return changeKeys(clientId, (clientItem, keys) => {
          if (clientItem.revoked_at !== undefined) throw conflict(`client ${clientId} was revoked: create a new client instead`);
          // Kept for the overlap: the keys that were current. Deleted at once: those already replaced (or all, without keepOld).
          const current = keys.filter((key) => key.replaced_at === undefined);
          const kept = options.keepOld ? current : [];
          const deleted = keys.filter((key) => !kept.includes(key));
          return {
            items: [
              { Put: { TableName: clientsTable, Item: { pk: keyPk(apiKey), client_id: clientId, created_at: rotatedAt }, ConditionExpression: 'attribute_not_exists(pk)' } },
              ...kept.map((key) => ({
                Update: {
                  TableName: clientsTable,
                  Key: { pk: key.pk },
                  UpdateExpression: 'SET replaced_at = :at, expires_at = :expires',
                  ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(replaced_at)',
                  ExpressionAttributeValues: { ':at': rotatedAt, ':expires': rotatedAt + MAX_KEY_OVERLAP_SECONDS },
                },
              })),
              ...deleted.map((key) => ({ Delete: { TableName: clientsTable, Key: { pk: key.pk } } })),
            ],
            set: { key_rotated_at: rotatedAt },
            result: { clientId, apiKey, rotatedAt, replaced: kept.length, deleted: deleted.length },
          };
        });
      }),

    revoke: (clientId, at) =>
      guarded(async () => {
        const revokedAt = at ?? Math.floor(Date.now() / 1000);
        return changeKeys(clientId, (clientItem, keys) => ({
          items: keys.map((key) => ({ Delete: { TableName: clientsTable, Key: { pk: key.pk } } })),
          set: clientItem.revoked_at === undefined ? { revoked_at: revokedAt } : {},
          result: {
            revokedAt: typeof clientItem.revoked_at === 'number' ? clientItem.revoked_at : revokedAt,
            keysDeleted: keys.length,
            already: clientItem.revoked_at !== undefined,
          },
        }));
      }),
  };
}
