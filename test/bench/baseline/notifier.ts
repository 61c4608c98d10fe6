/** Baseline for the notifier: per status change, GetItem the client's secret, POST the signed view, PutItem the attempt; nothing else. */
import { createHmac } from 'node:crypto';
import { DynamoDBClient, GetItemCommand, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';

const db = new DynamoDBClient({});

type Image = Record<string, AttributeValue>;
const text = (image: Image, field: string) => image[field]?.S ?? null;

export async function handler(event: DynamoDBStreamEvent) {
  const env = process.env;
  await Promise.all(
    event.Records.map(async (record) => {
      const after = record.dynamodb?.NewImage as Image | undefined;
      const before = record.dynamodb?.OldImage as Image | undefined;
      if (record.eventName !== 'MODIFY' || !after || !before || text(after, 'task_status') === text(before, 'task_status')) return;
      const hook = text(after, 'notify_hook');
      if (!hook) return;
      const { Item } = await db.send(new GetItemCommand({ TableName: env.CLIENTS_TABLE!, Key: { pk: { S: `client#${text(after, 'owner_id')}` } } }));
      const secret = Item?.webhook_secret?.S;
      if (!secret) return;
      const taskId = text(after, 'task_id')!;
      const status = text(after, 'task_status')!;
      const body = JSON.stringify({
        task_id: taskId,
        task_status: status,
        parent_task_id: text(after, 'parent_task_id'),
        prompt: text(after, 'prompt'),
        video_url: text(after, 'video_url'),
        thumbnail_url: text(after, 'thumbnail_url'),
        last_frame_url: text(after, 'last_frame_url'),
        failure_reason: text(after, 'failure_reason'),
        created_at: Number(after.created_at?.N),
        updated_at: Number(after.updated_at?.N),
      });
      const id = `msg_${taskId.replace(/-/g, '')}_${status}`;
      const started = Date.now();
      const timestamp = Math.floor(started / 1000);
      const signature = createHmac('sha256', Buffer.from(secret.slice(6), 'base64')).update(`${id}.${timestamp}.${body}`).digest('base64');
      const response = await fetch(hook, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': `v1,${signature}` },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(5000),
      });
      await response.arrayBuffer();
      await db.send(
        new PutItemCommand({
          TableName: env.DELIVERIES_TABLE!,
          Item: {
            task_id: { S: taskId },
            attempt_id: { S: `${String(started).padStart(14, '0')}#${id}#1` },
            webhook_id: { S: id },
            task_status: { S: status },
            attempt: { N: '1' },
            attempted_at: { N: String(timestamp) },
            outcome: { S: response.ok ? 'delivered' : 'failed' },
            http_status: { N: String(response.status) },
            duration_ms: { N: String(Date.now() - started) },
            expires_at: { N: String(timestamp + 90 * 86400) },
          },
        }),
      );
    }),
  );
  return { batchItemFailures: [] };
}
