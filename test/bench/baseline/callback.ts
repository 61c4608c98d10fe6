/** Baseline for callback: GetItem the task, check the token's hash, one conditional UpdateItem; nothing else. */
import { createHash, timingSafeEqual } from 'node:crypto';
import { GetItemCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { db, n, reply, s, STATUS } from './bare';

export async function handler(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const tasks = process.env.TASKS_TABLE!;
  const requestId = event.requestContext.requestId;
  const [taskId, secret] = (event.pathParameters?.token ?? '').split('.');
  if (!taskId || !secret) return reply(404, requestId, null);
  const { Item } = await db.send(new GetItemCommand({ TableName: tasks, Key: { task_id: s(taskId) }, ConsistentRead: true }));
  const expected = Buffer.from(Item?.callback_token_hash?.S ?? '', 'hex');
  const actual = createHash('sha256').update(secret).digest();
  if (!Item || expected.length !== actual.length || !timingSafeEqual(expected, actual)) return reply(404, requestId, null);

  const body = JSON.parse(event.body ?? '{}') as Record<string, any>;
  const generation = body.data ?? body;
  const upstreamId = String(generation.task_id ?? generation.id);
  const rawState = String(generation.task_status ?? generation.state);
  const known = STATUS[rawState];
  if (!known) return reply(200, requestId, { task_id: taskId, task_status: Item.task_status.S, applied: false });
  const [status, rank] = known;
  const values: Record<string, AttributeValue> = { ':s': s(status), ':r': n(rank), ':t': n(Math.floor(Date.now() / 1000)), ':u': s(upstreamId), ':st': s(rawState) };
  let set = 'SET task_status = :s, status_rank = :r, updated_at = :t, upstream_id = :u, upstream_state = :st';
  const urls: [string, unknown][] = [
    ['video_url', generation.video?.url],
    ['video_raw_url', generation.video_raw?.url],
    ['thumbnail_url', generation.thumbnail?.url],
    ['last_frame_url', generation.last_frame?.url],
    ['failure_reason', status === 'failed' ? (generation.failure_reason ?? 'failed') : undefined],
  ];
  for (const [field, value] of urls) {
    if (typeof value !== 'string') continue;
    values[`:${field}`] = s(value);
    set += `, ${field} = :${field}`;
  }
  if (rank === 3) set += ' REMOVE open_shard, check_after';
  try {
    const { Attributes } = await db.send(
      new UpdateItemCommand({
        TableName: tasks,
        Key: { task_id: s(taskId) },
        UpdateExpression: set,
        ConditionExpression: 'attribute_exists(task_id) AND status_rank < :r AND (attribute_not_exists(upstream_id) OR upstream_id = :u)',
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return reply(200, requestId, { task_id: taskId, task_status: Attributes!.task_status.S, applied: true });
  } catch (error) {
    if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    return reply(200, requestId, { task_id: taskId, task_status: Item.task_status.S, applied: false });
  }
}
