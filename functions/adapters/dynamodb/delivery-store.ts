/**
 * Delivery attempts (DeliveryStore, functions/domain/ports.ts) on DynamoDB,
 * for GET /luma/generations/{task_id}/deliveries.
 */
import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DeliveryStore, DeliveryView } from '#domain/ports';
import { guarded } from './document-client';

export function createDeliveryStore({ client, deliveriesTable }: { client: DynamoDBDocumentClient; deliveriesTable: string }): DeliveryStore {
  return {
    record: (attempt) => guarded(async () => void (await client.send(new PutCommand({ TableName: deliveriesTable, Item: attempt })))),
    get: (taskId, attemptId) =>
      guarded(async () => {
        const { Item } = await client.send(new GetCommand({ TableName: deliveriesTable, Key: { task_id: taskId, attempt_id: attemptId }, ConsistentRead: true }));
        if (!Item) return undefined;
        const { attempt_id: _id, expires_at: _ttl, ...view } = Item;
        return view as DeliveryView;
      }),
    list: (taskId, limit) =>
      guarded(async () => {
        const { Items = [] } = await client.send(
          new QueryCommand({
            TableName: deliveriesTable,
            KeyConditionExpression: 'task_id = :task',
            ExpressionAttributeValues: { ':task': taskId },
            ScanIndexForward: false,
            Limit: limit,
          }),
        );
        return Items.reverse().map(({ attempt_id: _id, expires_at: _ttl, ...view }) => view as DeliveryView);
      }),
  };
}
