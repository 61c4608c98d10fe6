/** Baseline for the delivery worker: Query each shard of the due-message index; nothing else (the local bench finds nothing due). */
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { db, n, s } from './bare';

export async function handler() {
  let due = 0;
  for (let shard = 0; shard < 4; shard += 1) {
    const { Items = [] } = await db.send(
      new QueryCommand({
        TableName: process.env.MESSAGES_TABLE!,
        IndexName: 'due-messages',
        KeyConditionExpression: 'due_shard = :shard AND due_at_ms <= :now',
        ExpressionAttributeValues: { ':shard': s(String(shard)), ':now': n(Date.now()) },
        Limit: 100,
      }),
    );
    due += Items.length;
  }
  return { due };
}
