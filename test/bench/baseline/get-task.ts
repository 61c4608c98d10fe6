/** Baseline for get-task: one GetItem and an ownership check; nothing else. */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';

const db = new DynamoDBClient({});

export async function handler(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const requestId = event.requestContext.requestId;
  const taskId = (event.pathParameters?.task_id ?? '').toLowerCase();
  const { Item } = await db.send(new GetItemCommand({ TableName: process.env.TASKS_TABLE!, Key: { task_id: { S: taskId } }, ConsistentRead: true }));
  if (!Item || Item.owner_id?.S !== event.requestContext.authorizer?.clientId) {
    return { statusCode: 404, body: JSON.stringify({ code: 40400, message: 'not found', request_id: requestId, data: null }) };
  }
  const text = (field: string) => Item[field]?.S ?? null;
  const data = {
    task_id: taskId,
    task_status: text('task_status'),
    parent_task_id: text('parent_task_id'),
    prompt: text('prompt'),
    video_url: text('video_url'),
    thumbnail_url: text('thumbnail_url'),
    last_frame_url: text('last_frame_url'),
    failure_reason: text('failure_reason'),
    created_at: Number(Item.created_at?.N),
    updated_at: Number(Item.updated_at?.N),
  };
  return { statusCode: 200, headers: { 'Content-Type': 'application/json; charset=utf-8' }, body: JSON.stringify({ code: 0, message: 'success', request_id: requestId, data }) };
}
