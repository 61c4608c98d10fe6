/**
 * The floor of every function: the same I/O as the real handler, done with
 * the cheapest means there are, and nothing else (no middy, zod, logger,
 * document client, validation, SSRF check or retry). What `npm run bench`
 * divides each figure by.
 *
 * - HTTP out (the upstream, a client's hook) on node:http/node:https with a
 *   keep-alive agent, as the real adapters;
 * - the raw DynamoDB and Secrets Manager clients with the functions' own
 *   timeouts (AWS_CLIENT_CONFIG), built at the first call: the real handlers
 *   build theirs there too (functions/wiring.ts), so import compares with
 *   import and first call with first call.
 *
 * One module: the bench bundles one entry per function (`export { x as
 * handler } from './floor'`) with the stack's esbuild options, and tree
 * shaking leaves each floor only the clients it calls. Not a product: never
 * deploy it.
 */
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { BatchGetItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, QueryCommand, TransactWriteItemsCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type {
  APIGatewayAuthorizerResult,
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2,
  APIGatewayProxyResult,
  APIGatewayTokenAuthorizerEvent,
  DynamoDBStreamEvent,
} from 'aws-lambda';
import { AWS_CLIENT_CONFIG } from '../../functions/adapters/aws-client-config';

type Item = Record<string, AttributeValue>;

function lazy<T>(build: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= build());
}

const dynamo = /* @__PURE__ */ lazy(() => new DynamoDBClient(AWS_CLIENT_CONFIG));
const secrets = /* @__PURE__ */ lazy(() => new SecretsManagerClient(AWS_CLIENT_CONFIG));
const agents = /* @__PURE__ */ lazy(() => ({ http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) }));
let upstreamKey: Promise<string> | undefined;
const key = () => (upstreamKey ??= secrets().send(new GetSecretValueCommand({ SecretId: process.env.UPSTREAM_SECRET_ID })).then((out) => out.SecretString!.trim()));

const s = (value: string): AttributeValue => ({ S: value });
const n = (value: number): AttributeValue => ({ N: String(value) });
const text = (item: Item | undefined, field: string) => item?.[field]?.S ?? null;
const nowSeconds = () => Math.floor(Date.now() / 1000);
const env = (name: string) => process.env[name]!;

/** Upstream spelling -> [status, rank]. */
const STATUS: Record<string, [string, number]> = {
  pending: ['pending', 1], queued: ['pending', 1], submitted: ['pending', 1],
  processing: ['processing', 2], dreaming: ['processing', 2], in_progress: ['processing', 2],
  completed: ['completed', 3], failed: ['failed', 3],
};

/** One HTTP exchange, answer read whole. */
function exchange(url: string, method: 'GET' | 'POST', headers: Record<string, string>, body?: string): Promise<{ status: number; text: string }> {
  const target = new URL(url);
  const https = target.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)(
      target,
      { method, agent: https ? agents().https : agents().http, timeout: 10_000, headers: body === undefined ? headers : { ...headers, 'Content-Length': String(Buffer.byteLength(body)) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

function reply(statusCode: number, requestId: string, data: unknown): APIGatewayProxyResult {
  return { statusCode, headers: { 'Content-Type': 'application/json; charset=utf-8' }, body: JSON.stringify({ code: statusCode === 200 ? 0 : statusCode * 100, message: statusCode === 200 ? 'success' : 'failed', request_id: requestId, data }) };
}

/** The caller's own task (one consistent GetItem), or undefined. */
async function ownTask(event: APIGatewayProxyEvent): Promise<{ taskId: string; item: Item } | undefined> {
  const taskId = (event.pathParameters?.task_id ?? '').toLowerCase();
  const { Item } = await dynamo().send(new GetItemCommand({ TableName: env('TASKS_TABLE'), Key: { task_id: s(taskId) }, ConsistentRead: true }));
  return Item && Item.owner_id?.S === event.requestContext.authorizer?.clientId ? { taskId, item: Item } : undefined;
}

const view = (taskId: string, item: Item) => ({
  task_id: taskId,
  task_status: text(item, 'task_status'),
  parent_task_id: text(item, 'parent_task_id'),
  prompt: text(item, 'prompt'),
  video_url: text(item, 'video_url'),
  thumbnail_url: text(item, 'thumbnail_url'),
  last_frame_url: text(item, 'last_frame_url'),
  failure_reason: text(item, 'failure_reason'),
  created_at: Number(item.created_at?.N),
  updated_at: Number(item.updated_at?.N),
});

/** authorizer: hash the Bearer key, one GetItem. */
export async function authorizer(event: APIGatewayTokenAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  const apiKey = /^\s*Bearer\s+(\S{16,512})\s*$/i.exec(event.authorizationToken ?? '')?.[1];
  if (!apiKey) throw new Error('Unauthorized');
  const pk = `key#${createHash('sha256').update(apiKey).digest('hex')}`;
  const { Item } = await dynamo().send(new GetItemCommand({ TableName: env('CLIENTS_TABLE'), Key: { pk: s(pk) } }));
  const clientId = Item?.client_id?.S;
  if (!clientId) throw new Error('Unauthorized');
  const [apiArn, stage] = event.methodArn.split('/');
  return {
    principalId: clientId,
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: `${apiArn}/${stage}/*/*` }] },
    context: { clientId },
  };
}

/** extend and create: GetItem parent (extend), the task with its client's slot and day count in one transaction, the key (cached), POST upstream, UpdateItem. */
export async function submit(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const tasks = env('TASKS_TABLE');
  const requestId = event.requestContext.requestId;
  const ownerId = String(event.requestContext.authorizer?.clientId);
  const body = JSON.parse(event.body ?? '{}') as Record<string, any>;
  const parentTaskId = event.pathParameters?.task_id?.toLowerCase();
  let parentUpstreamId: string | undefined;
  if (parentTaskId !== undefined) {
    const { Item } = await dynamo().send(new GetItemCommand({ TableName: tasks, Key: { task_id: s(parentTaskId) }, ConsistentRead: true }));
    if (Item && Item.owner_id?.S !== ownerId) return reply(404, requestId, null);
    parentUpstreamId = Item ? Item.upstream_id?.S : parentTaskId;
  }
  const taskId = randomUUID();
  const secret = randomBytes(32).toString('base64url');
  const now = nowSeconds();
  const item: Item = {
    task_id: s(taskId), schema_version: n(1), kind: s(parentTaskId === undefined ? 'create' : 'extend'), owner_id: s(ownerId),
    task_status: s('submitting'), status_rank: n(0), prompt: s(String(body.user_prompt)),
    callback_token_hash: s(createHash('sha256').update(secret).digest('hex')), created_at: n(now), updated_at: n(now),
    deadline_at: n(now + 7200), open_shard: s(String(parseInt(taskId.slice(0, 8), 16) % 4)), check_after: n(now + 300), expires_at: n(now + 90 * 86400),
  };
  if (parentTaskId !== undefined) item.parent_task_id = s(parentTaskId);
  if (parentUpstreamId !== undefined) item.parent_upstream_id = s(parentUpstreamId);
  if (typeof body.expand_prompt === 'boolean') item.expand_prompt = { BOOL: body.expand_prompt };
  for (const field of ['image_url', 'image_end_url', 'notify_hook']) if (typeof body[field] === 'string') item[field] = s(body[field]);
  // Issue 12: the task, its client's open-task slot and the day's count in one transaction (no limit checked: a floor).
  const usage = env('USAGE_TABLE');
  const day = new Date(now * 1000).toISOString().slice(0, 10);
  await dynamo().send(
    new TransactWriteItemsCommand({
      TransactItems: [
        { Put: { TableName: tasks, Item: item, ConditionExpression: 'attribute_not_exists(task_id)' } },
        { Update: { TableName: usage, Key: { client_id: s(ownerId), usage_key: s('limits') }, UpdateExpression: 'SET usage_day = :d ADD open_tasks :one, submitted_today :one', ExpressionAttributeValues: { ':d': s(day), ':one': n(1) } } },
        { Update: { TableName: usage, Key: { client_id: s(ownerId), usage_key: s(`day#${day}`) }, UpdateExpression: 'ADD submitted :one', ExpressionAttributeValues: { ':one': n(1) } } },
      ],
    }),
  );

  const path = parentUpstreamId === undefined ? '/luma/generations' : `/luma/generations/${encodeURIComponent(parentUpstreamId)}/extend`;
  const submission = { user_prompt: body.user_prompt, expand_prompt: body.expand_prompt, image_url: body.image_url, image_end_url: body.image_end_url, notify_hook: `${env('CALLBACK_BASE_URL')}/luma/callbacks/${taskId}.${secret}` };
  const answer = await exchange(`${env('UPSTREAM_BASE_URL')}${path}`, 'POST', { Authorization: `Bearer ${await key()}`, Accept: 'application/json', 'Content-Type': 'application/json' }, JSON.stringify(submission));
  if (answer.status < 200 || answer.status >= 300) return reply(502, requestId, null);
  const parsed = JSON.parse(answer.text) as Record<string, any>;
  const generation = parsed.data ?? parsed;
  const rawState = String(generation.task_status ?? generation.state);
  const [status, rank] = STATUS[rawState] ?? ['pending', 1];
  const { Attributes } = await dynamo().send(
    new UpdateItemCommand({
      TableName: tasks,
      Key: { task_id: s(taskId) },
      UpdateExpression: 'SET task_status = :s, status_rank = :r, updated_at = :t, upstream_id = :u, upstream_state = :st',
      ConditionExpression: 'attribute_exists(task_id) AND status_rank < :r',
      ExpressionAttributeValues: { ':s': s(status), ':r': n(rank), ':t': n(nowSeconds()), ':u': s(String(generation.task_id ?? generation.id)), ':st': s(rawState) },
      ReturnValues: 'ALL_NEW',
    }),
  );
  return reply(200, requestId, view(taskId, Attributes!));
}

/** get-task: one GetItem, the owner check. */
export async function getTask(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const owned = await ownTask(event);
  return owned ? reply(200, event.requestContext.requestId, view(owned.taskId, owned.item)) : reply(404, event.requestContext.requestId, null);
}

/** list-deliveries: GetItem the task, Query its attempts. */
export async function listDeliveries(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const owned = await ownTask(event);
  if (!owned) return reply(404, event.requestContext.requestId, null);
  const { Items = [] } = await dynamo().send(
    new QueryCommand({ TableName: env('DELIVERIES_TABLE'), KeyConditionExpression: 'task_id = :t', ExpressionAttributeValues: { ':t': s(owned.taskId) }, ScanIndexForward: false, Limit: 100 }),
  );
  const deliveries = Items.reverse().map((d) => ({ webhook_id: text(d, 'webhook_id'), task_status: text(d, 'task_status'), attempt: Number(d.attempt?.N), outcome: text(d, 'outcome'), http_status: Number(d.http_status?.N) }));
  return reply(200, event.requestContext.requestId, { task_id: owned.taskId, deliveries });
}

/** callback, as its function URL sends it: GetItem the task, check the token's hash, one conditional UpdateItem. */
export async function callback(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyResult> {
  const requestId = event.requestContext.requestId;
  const [taskId, secret] = (/^\/luma\/callbacks\/([^/]+)$/.exec(event.rawPath)?.[1] ?? '').split('.');
  if (!taskId || !secret) return reply(404, requestId, null);
  const tasks = env('TASKS_TABLE');
  const { Item } = await dynamo().send(new GetItemCommand({ TableName: tasks, Key: { task_id: s(taskId) }, ConsistentRead: true }));
  const expected = Buffer.from(Item?.callback_token_hash?.S ?? '', 'hex');
  const actual = createHash('sha256').update(secret).digest();
  if (!Item || expected.length !== actual.length || !timingSafeEqual(expected, actual)) return reply(404, requestId, null);
  const body = JSON.parse(event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? '{}')) as Record<string, any>;
  const generation = body.data ?? body;
  const rawState = String(generation.task_status ?? generation.state);
  const known = STATUS[rawState];
  if (!known) return reply(200, requestId, { task_id: taskId, task_status: text(Item, 'task_status'), applied: false });
  const [status, rank] = known;
  const values: Item = { ':s': s(status), ':r': n(rank), ':t': n(nowSeconds()), ':u': s(String(generation.task_id ?? generation.id)), ':st': s(rawState) };
  let set = 'SET task_status = :s, status_rank = :r, updated_at = :t, upstream_id = :u, upstream_state = :st';
  for (const [field, value] of [['video_url', generation.video?.url], ['thumbnail_url', generation.thumbnail?.url], ['last_frame_url', generation.last_frame?.url]] as const) {
    if (typeof value !== 'string') continue;
    values[`:${field}`] = s(value);
    set += `, ${field} = :${field}`;
  }
  if (rank === 3) set += ' REMOVE open_shard, check_after';
  try {
    const { Attributes } = await dynamo().send(
      new UpdateItemCommand({
        TableName: tasks,
        Key: { task_id: s(taskId) },
        UpdateExpression: set,
        ConditionExpression: 'attribute_exists(task_id) AND status_rank < :r AND (attribute_not_exists(upstream_id) OR upstream_id = :u)',
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return reply(200, requestId, { task_id: taskId, task_status: text(Attributes, 'task_status'), applied: true });
  } catch (error) {
    if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    return reply(200, requestId, { task_id: taskId, task_status: text(Item, 'task_status'), applied: false });
  }
}

/** POSTs a signed notification to a hook; its HTTP status (0 when it did not answer). */
async function postSigned(hook: string, secret: string, id: string, body: string): Promise<number> {
  const timestamp = nowSeconds();
  const signature = createHmac('sha256', Buffer.from(secret.slice(6), 'base64')).update(`${id}.${timestamp}.${body}`).digest('base64');
  const headers = { 'Content-Type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': `v1,${signature}` };
  return exchange(hook, 'POST', headers, body).then((answer) => answer.status, () => 0);
}

/** The attempt record and the message's settling write, after one attempt. */
async function recordAttempt(key: Item, taskId: string, id: string, status: number, started: number): Promise<void> {
  const delivered = status >= 200 && status < 300;
  await dynamo().send(
    new PutItemCommand({
      TableName: env('DELIVERIES_TABLE'),
      Item: { task_id: s(taskId), attempt_id: s(`${String(started).padStart(14, '0')}#${id}#1`), webhook_id: s(id), outcome: s(delivered ? 'delivered' : 'failed'), http_status: n(status), expires_at: n(nowSeconds() + 90 * 86400) },
    }),
  );
  await dynamo().send(
    new UpdateItemCommand({ TableName: env('MESSAGES_TABLE'), Key: key, UpdateExpression: 'SET message_state = :m', ExpressionAttributeValues: { ':m': s(delivered ? 'delivered' : 'pending') } }),
  );
}

/** task-changes: per status change with a hook, PutItem the message (conditional), GetItem the client's secret, POST the signed view, record the attempt, settle the message. */
export async function taskChanges(event: DynamoDBStreamEvent) {
  await Promise.all(
    event.Records.map(async (record) => {
      const after = record.dynamodb?.NewImage as Item | undefined;
      const before = record.dynamodb?.OldImage as Item | undefined;
      if (record.eventName !== 'MODIFY' || !after || !before || text(after, 'task_status') === text(before, 'task_status')) return;
      const hook = text(after, 'notify_hook');
      if (!hook) return;
      const taskId = text(after, 'task_id')!;
      const status = text(after, 'task_status')!;
      const body = JSON.stringify(view(taskId, after));
      const id = `msg_${taskId.replace(/-/g, '')}_${status}`;
      const key = { task_id: s(taskId), message_seq: s(`${after.status_rank?.N ?? 0}#${status}`) };
      const written = await dynamo()
        .send(new PutItemCommand({ TableName: env('MESSAGES_TABLE'), Item: { ...key, webhook_id: s(id), payload: s(body), hook_url: s(hook), message_state: s('pending') }, ConditionExpression: 'attribute_not_exists(task_id)' }))
        .then(() => true, () => false);
      if (!written) return;
      const { Item } = await dynamo().send(new GetItemCommand({ TableName: env('CLIENTS_TABLE'), Key: { pk: s(`client#${text(after, 'owner_id')}`) } }));
      const secret = Item?.webhook_secret?.S;
      if (!secret) return;
      const started = Date.now();
      await recordAttempt(key, taskId, id, await postSigned(hook, secret, id, body), started);
    }),
  );
  return { batchItemFailures: [] };
}

/** Queries each shard of a sparse due index (the bench finds nothing due). */
async function dueInShards(tableEnv: string, indexName: string, limit: number) {
  let due = 0;
  for (let shard = 0; shard < 4; shard += 1) {
    const { Items = [] } = await dynamo().send(
      new QueryCommand({
        TableName: env(tableEnv),
        IndexName: indexName,
        KeyConditionExpression: 'due_shard = :shard AND due_at_ms <= :now',
        ExpressionAttributeValues: { ':shard': s(String(shard)), ':now': n(Date.now()) },
        Limit: limit,
      }),
    );
    due += Items.length;
  }
  return { due };
}

/** delivery worker: Query each shard of the due-message index. */
export const deliveryWorker = () => dueInShards('MESSAGES_TABLE', 'due-messages', 100);

/** asset worker's sweep: Query each shard of the due asset-job index. */
export const assetWorker = () => dueInShards('ASSET_JOBS_TABLE', 'due-asset-jobs', 50);

/** resend-notification: the caller's task, its latest message, the client's secret, POST it signed, record and settle. */
export async function resendNotification(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const requestId = event.requestContext.requestId;
  const owned = await ownTask(event);
  if (owned === undefined) return reply(404, requestId, null);
  const { Items = [] } = await dynamo().send(
    new QueryCommand({ TableName: env('MESSAGES_TABLE'), KeyConditionExpression: 'task_id = :t', ExpressionAttributeValues: { ':t': s(owned.taskId) }, ConsistentRead: true }),
  );
  const latest = Items.at(-1);
  if (!latest) return reply(404, requestId, null);
  const { Item: client } = await dynamo().send(new GetItemCommand({ TableName: env('CLIENTS_TABLE'), Key: { pk: s(`client#${owned.item.owner_id?.S}`) } }));
  const id = latest.webhook_id!.S!;
  const started = Date.now();
  const status = await postSigned(latest.hook_url!.S!, client?.webhook_secret?.S ?? 'whsec_', id, latest.payload!.S!);
  await recordAttempt({ task_id: latest.task_id, message_seq: latest.message_seq }, owned.taskId, id, status, started);
  return reply(200, requestId, { webhook_id: id, delivered: status >= 200 && status < 300 });
}

/** recover-notifications: Query the caller's undelivered messages since a time, UpdateItem each. */
export async function recoverNotifications(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const since = Number((JSON.parse(event.body ?? '{}') as { since?: number }).since ?? 0);
  const { Items = [] } = await dynamo().send(
    new QueryCommand({
      TableName: env('MESSAGES_TABLE'),
      IndexName: 'undelivered-messages',
      KeyConditionExpression: 'undelivered_owner = :o AND created_at >= :since',
      ExpressionAttributeValues: { ':o': s(String(event.requestContext.authorizer?.clientId)), ':since': n(since) },
      Limit: 100,
    }),
  );
  for (const item of Items) {
    await dynamo().send(
      new UpdateItemCommand({
        TableName: env('MESSAGES_TABLE'),
        Key: { task_id: item.task_id, message_seq: item.message_seq },
        UpdateExpression: 'SET message_state = :p REMOVE undelivered_owner',
        ExpressionAttributeValues: { ':p': s('pending') },
      }),
    );
  }
  return reply(200, event.requestContext.requestId, { since, recovered: Items.length, more: false });
}

/** list-endpoints: Query the caller's endpoints. */
export async function listEndpoints(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const { Items = [] } = await dynamo().send(
    new QueryCommand({ TableName: env('ENDPOINTS_TABLE'), KeyConditionExpression: 'client_id = :c', ExpressionAttributeValues: { ':c': s(String(event.requestContext.authorizer?.clientId)) } }),
  );
  return reply(200, event.requestContext.requestId, { endpoints: Items.map((item) => ({ endpoint_id: text(item, 'endpoint_id'), url: text(item, 'url'), state: text(item, 'endpoint_state') })) });
}

/** enable-endpoint: one conditional UpdateItem of the caller's endpoint. */
export async function enableEndpoint(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const requestId = event.requestContext.requestId;
  try {
    const { Attributes } = await dynamo().send(
      new UpdateItemCommand({
        TableName: env('ENDPOINTS_TABLE'),
        Key: { client_id: s(String(event.requestContext.authorizer?.clientId)), endpoint_id: s(String(event.pathParameters?.endpoint_id)) },
        UpdateExpression: 'SET endpoint_state = :e REMOVE disabled_reason, disabled_at, failing_since',
        ConditionExpression: 'attribute_exists(endpoint_id)',
        ExpressionAttributeValues: { ':e': s('enabled') },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return reply(200, requestId, { endpoint_id: text(Attributes, 'endpoint_id'), state: text(Attributes, 'endpoint_state') });
  } catch {
    return reply(404, requestId, null);
  }
}

/** The caller's tasks among some ids: one BatchGetItem (unprocessed keys not read again). */
async function ownTasks(ids: readonly string[], ownerId: string) {
  if (ids.length === 0) return [];
  const tasks = env('TASKS_TABLE');
  const { Responses = {} } = await dynamo().send(new BatchGetItemCommand({ RequestItems: { [tasks]: { Keys: ids.map((id) => ({ task_id: s(id) })), ConsistentRead: true } } }));
  return (Responses[tasks] ?? []).filter((item) => item.owner_id?.S === ownerId).map((item) => view(text(item, 'task_id')!, item));
}

/** list-tasks: one Query of the owner index, one BatchGetItem of the page's tasks. */
export async function listTasks(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const ownerId = String(event.requestContext.authorizer?.clientId);
  const { Items = [] } = await dynamo().send(
    new QueryCommand({ TableName: env('TASKS_TABLE'), IndexName: 'owner-tasks', KeyConditionExpression: 'owner_id = :o', ExpressionAttributeValues: { ':o': s(ownerId) }, ScanIndexForward: false, Limit: 20 }),
  );
  const tasks = await ownTasks(Items.map((item) => text(item, 'task_id')!), ownerId);
  return reply(200, event.requestContext.requestId, { tasks: tasks.sort((a, b) => b.created_at - a.created_at), next_cursor: null });
}

/** batch-get-tasks: one BatchGetItem of the ids asked for. */
export async function batchGetTasks(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const ids = [...new Set((JSON.parse(event.body ?? '{}').ids as string[]).map((id) => id.toLowerCase()))];
  const tasks = await ownTasks(ids, String(event.requestContext.authorizer?.clientId));
  return reply(200, event.requestContext.requestId, { tasks, not_found: ids.filter((id) => !tasks.some((task) => task.task_id === id)) });
}

/** get-usage: GetItem of the limits, Query of the days, side by side. */
export async function getUsage(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const clientId = s(String(event.requestContext.authorizer?.clientId));
  const [{ Item }, { Items = [] }] = await Promise.all([
    dynamo().send(new GetItemCommand({ TableName: env('USAGE_TABLE'), Key: { client_id: clientId, usage_key: s('limits') }, ConsistentRead: true })),
    dynamo().send(
      new QueryCommand({ TableName: env('USAGE_TABLE'), KeyConditionExpression: 'client_id = :c AND begins_with(usage_key, :d)', ExpressionAttributeValues: { ':c': clientId, ':d': s('day#') } }),
    ),
  ]);
  return reply(200, event.requestContext.requestId, { days: Items.map((item) => ({ day: text(item, 'usage_key'), submitted: Number(item.submitted?.N ?? 0) })), open_tasks: Number(Item?.open_tasks?.N ?? 0) });
}

/** reconciler: Query each shard of the open-task index; GET the upstream and UpdateItem each due task. */
export async function reconciler() {
  const now = nowSeconds();
  let examined = 0;
  for (let shard = 0; shard < 4; shard += 1) {
    const { Items = [] } = await dynamo().send(
      new QueryCommand({
        TableName: env('TASKS_TABLE'),
        IndexName: 'open-tasks',
        KeyConditionExpression: 'open_shard = :shard AND check_after <= :now',
        ExpressionAttributeValues: { ':shard': s(String(shard)), ':now': n(now) },
        Limit: 100,
      }),
    );
    for (const task of Items) {
      examined += 1;
      const upstreamId = task.upstream_id?.S;
      if (!upstreamId) continue;
      const answer = await exchange(`${env('UPSTREAM_BASE_URL')}/luma/generations/${upstreamId}`, 'GET', { Authorization: `Bearer ${await key()}`, Accept: 'application/json' });
      const generation = JSON.parse(answer.text) as Record<string, any>;
      const known = STATUS[String(generation.state ?? generation.data?.task_status)];
      if (!known) continue;
      await dynamo()
        .send(
          new UpdateItemCommand({
            TableName: env('TASKS_TABLE'),
            Key: { task_id: task.task_id },
            UpdateExpression: 'SET task_status = :s, status_rank = :r, updated_at = :t',
            ConditionExpression: 'status_rank < :r',
            ExpressionAttributeValues: { ':s': s(known[0]), ':r': n(known[1]), ':t': n(now) },
          }),
        )
        .catch(() => undefined);
    }
  }
  return { examined };
}
