/**
 * Clients of the gateway. A client item (`client#<id>`) holds its name and
 * webhook secret; a key item (`key#<sha256 of the key>`) points at it, so the
 * authorizer finds a client by its key's hash with one GetItem.
 */
import { randomUUID } from 'node:crypto';
import { GetCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { newClientKey, newWebhookSecret, sha256Hex } from '#domain/credentials';
import type { ClientStore, NewClient } from '#domain/ports';
import { guarded } from './document-client';

const clientPk = (clientId: string) => `client#${clientId}`;
const keyPk = (apiKey: string) => `key#${sha256Hex(apiKey)}`;

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
        if (!Item) return undefined;
        return { clientId, name: Item.name, webhookSecret: Item.webhook_secret, createdAt: Item.created_at };
      }),
  };
}
