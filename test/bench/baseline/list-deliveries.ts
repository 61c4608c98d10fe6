/** Baseline for list-deliveries: GetItem the task, Query its attempts; nothing else. */
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { db, ownTask } from './bare';

export async function handler(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const requestId = event.requestContext.requestId;
  const owned = await ownTask(event);
  if (owned === undefined) {
    return { statusCode: 404, body: JSON.stringify({ code: 40400, message: 'not found', request_id: requestId, data: null }) };
  }
  const { taskId } = owned;
  const { Items = [] } = await db.send(
    new QueryCommand({
      TableName: process.env.DELIVERIES_TABLE!,
      KeyConditionExpression: 'task_id = :task',
      ExpressionAttributeValues: { ':task': { S: taskId } },
      ScanIndexForward: false,
      Limit: 100,
    }),
  );
  const deliveries = Items.reverse().map((item) => ({
    webhook_id: item.webhook_id?.S,
    task_status: item.task_status?.S,
    attempt: Number(item.attempt?.N),
    attempted_at: Number(item.attempted_at?.N),
    outcome: item.outcome?.S,
    http_status: item.http_status ? Number(item.http_status.N) : undefined,
    duration_ms: Number(item.duration_ms?.N),
  }));
  return { statusCode: 200, body: JSON.stringify({ code: 0, message: 'success', request_id: requestId, data: { task_id: taskId, deliveries } }) };
}
