/** Baseline for extend and create: the same DynamoDB calls, secret read and upstream request, nothing else. */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { GetItemCommand, PutItemCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { db, n, reply, s, STATUS } from './bare';

const secrets = new SecretsManagerClient({});
let upstreamKey: Promise<string> | undefined;

export async function handler(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const env = process.env;
  const tasks = env.TASKS_TABLE!;
  const requestId = event.requestContext.requestId;
  const ownerId = String(event.requestContext.authorizer?.clientId);
  const body = JSON.parse(event.body ?? '{}') as Record<string, any>;
  const parentTaskId = event.pathParameters?.task_id?.toLowerCase();

  let parentUpstreamId: string | undefined;
  if (parentTaskId !== undefined) {
    const { Item } = await db.send(new GetItemCommand({ TableName: tasks, Key: { task_id: s(parentTaskId) }, ConsistentRead: true }));
    if (Item && Item.owner_id?.S !== ownerId) return reply(404, requestId, null);
    parentUpstreamId = Item ? Item.upstream_id?.S : parentTaskId;
  }

  const taskId = randomUUID();
  const secret = randomBytes(32).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const item: Record<string, AttributeValue> = {
    task_id: s(taskId),
    schema_version: n(1),
    kind: s(parentTaskId === undefined ? 'create' : 'extend'),
    owner_id: s(ownerId),
    task_status: s('submitting'),
    status_rank: n(0),
    prompt: s(String(body.user_prompt)),
    callback_token_hash: s(createHash('sha256').update(secret).digest('hex')),
    created_at: n(now),
    updated_at: n(now),
    deadline_at: n(now + Number(env.TASK_DEADLINE_SECONDS ?? 7200)),
    open_shard: s(String(parseInt(taskId.slice(0, 8), 16) % 4)),
    check_after: n(now + Number(env.RECONCILE_AFTER_SECONDS ?? 300)),
    expires_at: n(now + Number(env.TASK_RETENTION_DAYS ?? 90) * 86400),
  };
  if (parentTaskId !== undefined) item.parent_task_id = s(parentTaskId);
  if (parentUpstreamId !== undefined) item.parent_upstream_id = s(parentUpstreamId);
  if (typeof body.expand_prompt === 'boolean') item.expand_prompt = { BOOL: body.expand_prompt };
  for (const field of ['image_url', 'image_end_url', 'notify_hook']) if (typeof body[field] === 'string') item[field] = s(body[field]);
  await db.send(new PutItemCommand({ TableName: tasks, Item: item, ConditionExpression: 'attribute_not_exists(task_id)' }));

  upstreamKey ??= secrets.send(new GetSecretValueCommand({ SecretId: env.UPSTREAM_SECRET_ID })).then((out) => out.SecretString!.trim());
  const path = parentUpstreamId === undefined ? '/luma/generations' : `/luma/generations/${encodeURIComponent(parentUpstreamId)}/extend`;
  const response = await fetch(`${env.UPSTREAM_BASE_URL}${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${await upstreamKey}`, Accept: 'application/json', 'Content-Type': 'application/json' },
    body: JSON.stringify({
      user_prompt: body.user_prompt,
      expand_prompt: body.expand_prompt,
      image_url: body.image_url,
      image_end_url: body.image_end_url,
      notify_hook: `${env.CALLBACK_BASE_URL}/luma/callbacks/${taskId}.${secret}`,
    }),
    signal: AbortSignal.timeout(Number(env.UPSTREAM_TIMEOUT_MS ?? 10_000)),
  });
  const answer = JSON.parse(await response.text()) as Record<string, any>;
  if (!response.ok) return reply(502, requestId, null);
  const generation = answer.data ?? answer;
  const upstreamId = String(generation.task_id ?? generation.id);
  const rawState = String(generation.task_status ?? generation.state);
  const [status, rank] = STATUS[rawState] ?? ['pending', 1];

  let view = { task_id: taskId, task_status: status, parent_task_id: parentTaskId ?? null, created_at: now, updated_at: now };
  try {
    const { Attributes } = await db.send(
      new UpdateItemCommand({
        TableName: tasks,
        Key: { task_id: s(taskId) },
        UpdateExpression: 'SET task_status = :s, status_rank = :r, updated_at = :t, upstream_id = :u, upstream_state = :st',
        ConditionExpression: 'attribute_exists(task_id) AND status_rank < :r',
        ExpressionAttributeValues: { ':s': s(status), ':r': n(rank), ':t': n(Math.floor(Date.now() / 1000)), ':u': s(upstreamId), ':st': s(rawState) },
        ReturnValues: 'ALL_NEW',
      }),
    );
    view = { ...view, task_status: Attributes!.task_status.S!, updated_at: Number(Attributes!.updated_at.N) };
  } catch (error) {
    if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
  }
  return reply(200, requestId, view);
}
