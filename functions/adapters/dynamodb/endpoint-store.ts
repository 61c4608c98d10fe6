/**
 * Clients' endpoints (EndpointStore, functions/domain/ports.ts) on
 * DynamoDB: one item per (client, hook URL), written only when its state
 * changes (created, failing, recovered, disabled, enabled), never per
 * delivery.
 */
import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { sha256Hex } from '#domain/credentials';
import type { Endpoint, EndpointStore } from '#domain/ports';
import { allPages, guarded, isConditionFailure } from './document-client';

export interface EndpointStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly endpointsTable: string;
}

/** A hook URL's endpoint id: stable, and the same for every task of the client that names the URL. */
export function endpointIdOf(url: string): string {
  return `ep_${sha256Hex(url).slice(0, 24)}`;
}

export function createEndpointStore({ client, endpointsTable }: EndpointStoreOptions): EndpointStore {
  const read = async (clientId: string, endpointId: string) => {
    const { Item } = await client.send(new GetCommand({ TableName: endpointsTable, Key: { client_id: clientId, endpoint_id: endpointId }, ConsistentRead: true }));
    return Item as Endpoint | undefined;
  };
  const updateIf = async (clientId: string, endpointId: string, expression: string, condition: string, values?: Record<string, unknown>) => {
    try {
      const { Attributes } = await client.send(
        new UpdateCommand({
          TableName: endpointsTable,
          Key: { client_id: clientId, endpoint_id: endpointId },
          UpdateExpression: expression,
          ConditionExpression: condition,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes as Endpoint;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  };

  return {
    get: (clientId, endpointId) => guarded(() => read(clientId, endpointId)),

    ensure: (clientId, url, at) =>
      guarded(async () => {
        const endpointId = endpointIdOf(url);
        const existing = await read(clientId, endpointId);
        if (existing) return existing;
        const created: Endpoint = { client_id: clientId, endpoint_id: endpointId, url, endpoint_state: 'enabled', created_at: at };
        try {
          await client.send(new PutCommand({ TableName: endpointsTable, Item: created, ConditionExpression: 'attribute_not_exists(endpoint_id)' }));
          return created;
        } catch (error) {
          // Another invocation created it in between.
          if (!isConditionFailure(error)) throw error;
          return (await read(clientId, endpointId))!;
        }
      }),

    list: (clientId) =>
      guarded(() =>
        allPages<Endpoint>((start) =>
          client.send(
            new QueryCommand({
              TableName: endpointsTable,
              KeyConditionExpression: 'client_id = :client',
              ExpressionAttributeValues: { ':client': clientId },
              ExclusiveStartKey: start,
            }),
          ),
        ),
      ),

    recordFailure: (clientId, endpointId, at) =>
      guarded(() => updateIf(clientId, endpointId, 'SET failing_since = if_not_exists(failing_since, :at)', 'attribute_exists(endpoint_id)', { ':at': at })),

    recordSuccess: async (clientId, endpointId) => {
      await guarded(() => updateIf(clientId, endpointId, 'REMOVE failing_since', 'attribute_exists(failing_since)'));
    },

    disable: (clientId, endpointId, reason, detail, at) =>
      guarded(
        async () =>
          (await updateIf(
            clientId,
            endpointId,
            'SET endpoint_state = :disabled, disabled_reason = :reason, disabled_detail = :detail, disabled_at = :at',
            'endpoint_state = :enabled',
            { ':disabled': 'disabled', ':enabled': 'enabled', ':reason': reason, ':detail': detail, ':at': at },
          )) !== undefined,
      ),

    enable: (clientId, endpointId) =>
      guarded(() =>
        updateIf(
          clientId,
          endpointId,
          'SET endpoint_state = :enabled REMOVE disabled_reason, disabled_detail, disabled_at, failing_since',
          'attribute_exists(endpoint_id)',
          { ':enabled': 'enabled' },
        ),
      ),
  };
}
