/**
 * What the bare baselines share: one raw DynamoDB client, the status table,
 * attribute-value shorthands, the envelope, and the owner check. Plain SDK
 * and JSON only, so each baseline stays "the I/O and nothing else".
 */
import { DynamoDBClient, GetItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';

export const db = new DynamoDBClient({});

/** Upstream spelling → [status, rank]. */
export const STATUS: Record<string, [string, number]> = {
  pending: ['pending', 1], queued: ['pending', 1], submitted: ['pending', 1],
  processing: ['processing', 2], dreaming: ['processing', 2], in_progress: ['processing', 2],
  completed: ['completed', 3], succeed: ['completed', 3], failed: ['failed', 3],
};

export const s = (value: string): AttributeValue => ({ S: value });
export const n = (value: number): AttributeValue => ({ N: String(value) });

export function reply(statusCode: number, requestId: string, data: unknown): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'Content-Type': 'application/json; charset=utf-8' },
    body: JSON.stringify({ code: statusCode === 200 ? 0 : statusCode * 100, message: statusCode === 200 ? 'success' : 'failed', request_id: requestId, data }),
  };
}

/** The caller's own task by the path's task_id (one consistent GetItem), or undefined. */
export async function ownTask(event: APIGatewayProxyEvent): Promise<{ taskId: string; item: Record<string, AttributeValue> } | undefined> {
  const taskId = (event.pathParameters?.task_id ?? '').toLowerCase();
  const { Item } = await db.send(new GetItemCommand({ TableName: process.env.TASKS_TABLE!, Key: { task_id: { S: taskId } }, ConsistentRead: true }));
  if (!Item || Item.owner_id?.S !== event.requestContext.authorizer?.clientId) return undefined;
  return { taskId, item: Item };
}
