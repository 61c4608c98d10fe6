/** Baseline for the reconciler: Query each shard of the open-task index; look up and update each due task; nothing else. */
import { DynamoDBClient, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

const db = new DynamoDBClient({});
const secrets = new SecretsManagerClient({});
let upstreamKey: Promise<string> | undefined;
const RANK: Record<string, number> = { pending: 1, processing: 2, completed: 3, failed: 3 };

export async function handler() {
  const env = process.env;
  const now = Math.floor(Date.now() / 1000);
  let examined = 0;
  for (let shard = 0; shard < 4; shard += 1) {
    const { Items = [] } = await db.send(
      new QueryCommand({
        TableName: env.TASKS_TABLE!,
        IndexName: 'open-tasks',
        KeyConditionExpression: 'open_shard = :shard AND check_after <= :now',
        ExpressionAttributeValues: { ':shard': { S: String(shard) }, ':now': { N: String(now) } },
        Limit: 100,
      }),
    );
    for (const task of Items) {
      examined += 1;
      const upstreamId = task.upstream_id?.S;
      if (!upstreamId) continue;
      upstreamKey ??= secrets.send(new GetSecretValueCommand({ SecretId: env.UPSTREAM_SECRET_ID })).then((out) => out.SecretString!.trim());
      const response = await fetch(`${env.UPSTREAM_BASE_URL}/luma/generations/${upstreamId}`, { headers: { Authorization: `Bearer ${await upstreamKey}` } });
      const generation = JSON.parse(await response.text()) as Record<string, any>;
      const state = String(generation.state ?? generation.data?.task_status);
      const rank = RANK[state];
      if (rank === undefined) continue;
      await db
        .send(
          new UpdateItemCommand({
            TableName: env.TASKS_TABLE!,
            Key: { task_id: task.task_id },
            UpdateExpression: 'SET task_status = :s, status_rank = :r, updated_at = :t',
            ConditionExpression: 'status_rank < :r',
            ExpressionAttributeValues: { ':s': { S: state }, ':r': { N: String(rank) }, ':t': { N: String(now) } },
          }),
        )
        .catch(() => undefined);
    }
  }
  return { examined };
}
