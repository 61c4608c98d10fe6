/**
 * Clients of the gateway. A client item (`client#<id>`) holds its name and
 * webhook secret; a key item (`key#<sha256 of the key>`) points at it, so the
 * authorizer finds a client by its key's hash with one GetItem.
 */
import { randomUUID } from 'node:crypto';
import { GetCommand, ScanCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { newClientKey, newWebhookSecret, sha256Hex } from '#domain/credentials';
import type { Client, ClientStore, NewClient } from '#domain/ports';
import { guarded, isConditionFailure } from './document-client';

const CLIENT_PREFIX = 'client#';
const clientPk = (clientId: string) => `${CLIENT_PREFIX}${clientId}`;
const keyPk = (apiKey: string) => `key#${sha256Hex(apiKey)}`;

function clientOf(item: Record<string, any>): Client {
  return {
    clientId: item.client_id ?? String(item.pk).slice(CLIENT_PREFIX.length),
    name: item.name,
    webhookSecret: item.webhook_secret,
    ...(item.previous_webhook_secret !== undefined && { previousWebhookSecret: item.previous_webhook_secret }),
    ...(item.webhook_secret_rotated_at !== undefined && { webhookSecretRotatedAt: item.webhook_secret_rotated_at }),
    createdAt: item.created_at,
  };
}

export function createClientStore({ client, clientsTable }: { client: DynamoDBDocumentClient; clientsTable: string }): ClientStore {
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
      guarded(async () => {
        const found: Client[] = [];
        let start: Record<string, unknown> | undefined;
        do {
          const page = await client.send(
            new ScanCommand({
              TableName: clientsTable,
              FilterExpression: 'begins_with(pk, :client) AND #name = :name',
              ExpressionAttributeNames: { '#name': 'name' },
              ExpressionAttributeValues: { ':client': CLIENT_PREFIX, ':name': name },
              ExclusiveStartKey: start,
            }),
          );
          found.push(...(page.Items ?? []).map(clientOf));
          start = page.LastEvaluatedKey;
        } while (start);
        return found;
      }),
  };
}
