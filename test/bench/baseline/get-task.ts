/** Baseline for get-task: one GetItem and an ownership check; nothing else. */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ownTask } from './bare';

export async function handler(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const requestId = event.requestContext.requestId;
  const owned = await ownTask(event);
  if (owned === undefined) {
    return { statusCode: 404, body: JSON.stringify({ code: 40400, message: 'not found', request_id: requestId, data: null }) };
  }
  const { taskId, item: Item } = owned;
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
