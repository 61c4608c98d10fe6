/** Baseline for recover-notifications: Query the caller's undelivered messages since a time, UpdateItem each; nothing else. */
import { QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { db, n, reply, s } from './bare';

export async function handler(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const requestId = event.requestContext.requestId;
  const since = Number((JSON.parse(event.body ?? '{}') as { since?: number }).since ?? 0);
  const { Items = [] } = await db.send(
    new QueryCommand({
      TableName: process.env.MESSAGES_TABLE!,
      IndexName: 'undelivered-messages',
      KeyConditionExpression: 'undelivered_owner = :o AND created_at >= :since',
      ExpressionAttributeValues: { ':o': s(String(event.requestContext.authorizer?.clientId)), ':since': n(since) },
      Limit: 100,
    }),
  );
  for (const item of Items) {
    await db.send(
      new UpdateItemCommand({
        TableName: process.env.MESSAGES_TABLE!,
        Key: { task_id: item.task_id, message_seq: item.message_seq },
        UpdateExpression: 'SET message_state = :p REMOVE undelivered_owner',
        ExpressionAttributeValues: { ':p': s('pending') },
      }),
    );
  }
  return reply(200, requestId, { since, recovered: Items.length, more: false });
}
