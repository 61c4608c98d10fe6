/** Tasks written straight into the table (not timed), for the phases that need a task in a given state. */
import { randomUUID } from 'node:crypto';
import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { newCallbackToken } from '../../functions/domain/credentials';
import { OPEN_TASK_SHARDS } from '../../functions/tables';
import { STATUS_RANK, type TaskItem, type TaskStatus } from '../../functions/domain/task';

export interface BenchTask {
  readonly item: TaskItem;
  /** The callback token the upstream would have been given. */
  readonly token: string;
}

/** A task as extend leaves it once the upstream accepted it (or still submitting). */
export function benchTask(ownerId: string, options: { status?: TaskStatus; upstreamId?: string; notifyHook?: string; prompt?: string } = {}): BenchTask {
  const taskId = randomUUID();
  const callback = newCallbackToken(taskId);
  const now = Math.floor(Date.now() / 1000);
  const status = options.status ?? 'pending';
  const item: TaskItem = {
    task_id: taskId,
    schema_version: 1,
    kind: 'extend',
    owner_id: ownerId,
    task_status: status,
    status_rank: STATUS_RANK[status],
    parent_task_id: '4665a07c-7641-4809-a133-10786201bb56',
    parent_upstream_id: '4665a07c-7641-4809-a133-10786201bb56',
    prompt: options.prompt ?? 'a cat walks into the frame from the left and sits down',
    notify_hook: options.notifyHook,
    callback_token_hash: callback.hash,
    created_at: now,
    updated_at: now,
    deadline_at: now + 7200,
    open_shard: String(parseInt(taskId.slice(0, 8), 16) % OPEN_TASK_SHARDS),
    // Not due for the reconciler during the bench.
    check_after: now + 3600,
    expires_at: now + 90 * 86400,
    ...(status !== 'submitting' && { upstream_id: options.upstreamId ?? randomUUID(), upstream_state: 'pending' }),
  } as TaskItem;
  return { item, token: callback.token };
}

export async function putTasks(doc: DynamoDBDocumentClient, table: string, items: readonly object[]): Promise<void> {
  for (let i = 0; i < items.length; i += 25) {
    let request: Record<string, any> | undefined = { [table]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) };
    for (let attempt = 0; request && Object.keys(request).length > 0 && attempt < 20; attempt += 1) {
      const output: { UnprocessedItems?: Record<string, any> } = await doc.send(new BatchWriteCommand({ RequestItems: request }));
      request = output.UnprocessedItems;
    }
  }
}

export async function getTasks(doc: DynamoDBDocumentClient, table: string, taskIds: readonly string[]): Promise<Map<string, Record<string, any>>> {
  const found = new Map<string, Record<string, any>>();
  for (let i = 0; i < taskIds.length; i += 100) {
    let keys: Record<string, any>[] | undefined = taskIds.slice(i, i + 100).map((task_id) => ({ task_id }));
    for (let attempt = 0; keys && keys.length > 0 && attempt < 20; attempt += 1) {
      const { Responses, UnprocessedKeys } = await doc.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: keys, ConsistentRead: true } } }));
      for (const item of Responses?.[table] ?? []) found.set(item.task_id as string, item);
      keys = UnprocessedKeys?.[table]?.Keys as Record<string, any>[] | undefined;
    }
  }
  return found;
}
