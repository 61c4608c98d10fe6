/** Baseline for resend-notification: GetItem the task, Query its messages, UpdateItem the latest, GetItem the client, POST it signed, PutItem the attempt, UpdateItem the outcome. */
import { createHmac } from 'node:crypto';
import { GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { db, n, ownTask, reply, s } from './bare';

export async function handler(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const env = process.env;
  const requestId = event.requestContext.requestId;
  const owned = await ownTask(event);
  if (owned === undefined) return reply(404, requestId, null);
  const { Items = [] } = await db.send(
    new QueryCommand({ TableName: env.MESSAGES_TABLE!, KeyConditionExpression: 'task_id = :t', ExpressionAttributeValues: { ':t': s(owned.taskId) }, ConsistentRead: true }),
  );
  const latest = Items.at(-1);
  if (!latest) return reply(404, requestId, null);
  const key = { task_id: latest.task_id, message_seq: latest.message_seq };
  const now = Date.now();
  await db.send(new UpdateItemCommand({ TableName: env.MESSAGES_TABLE!, Key: key, UpdateExpression: 'SET message_state = :p, claims = claims + :one', ExpressionAttributeValues: { ':p': s('pending'), ':one': n(1) } }));
  const { Item: client } = await db.send(new GetItemCommand({ TableName: env.CLIENTS_TABLE!, Key: { pk: s(`client#${owned.item.owner_id?.S}`) } }));
  const secret = client?.webhook_secret?.S ?? 'whsec_';
  const id = latest.webhook_id!.S!;
  const body = latest.payload!.S!;
  const timestamp = Math.floor(now / 1000);
  const signature = createHmac('sha256', Buffer.from(secret.slice(6), 'base64')).update(`${id}.${timestamp}.${body}`).digest('base64');
  const response = await fetch(latest.hook_url!.S!, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': `v1,${signature}` },
    body,
    redirect: 'manual',
    signal: AbortSignal.timeout(2000),
  });
  await response.arrayBuffer();
  await db.send(
    new PutItemCommand({
      TableName: env.DELIVERIES_TABLE!,
      Item: { task_id: s(owned.taskId), attempt_id: s(`${String(now).padStart(14, '0')}#${id}#2`), webhook_id: s(id), outcome: s(response.ok ? 'delivered' : 'failed'), expires_at: n(timestamp + 90 * 86400) },
    }),
  );
  await db.send(new UpdateItemCommand({ TableName: env.MESSAGES_TABLE!, Key: key, UpdateExpression: 'SET message_state = :d', ExpressionAttributeValues: { ':d': s(response.ok ? 'delivered' : 'pending') } }));
  return reply(200, requestId, { webhook_id: id, state: response.ok ? 'delivered' : 'pending' });
}
