/**
 * The task store (TaskStore, functions/domain/ports.ts) on DynamoDB: every
 * task write is a single conditional request, so state only moves forward
 * even when updates race (no read-then-write).
 */
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { IdempotencyKeyTaken, type AdvanceResult, type IdempotencyRecord, type OpenTask, type TaskStore } from '#domain/ports';
import { STATUS_RANK, TERMINAL_RANK, type TaskItem, type TaskUpdate } from '#domain/task';
import { OPEN_TASKS_INDEX } from '../../tables';
import { guarded, isConditionFailure } from './document-client';

export interface TaskStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tasksTable: string;
  readonly idempotencyTable: string;
}

const FIELD_OF_UPDATE = {
  upstreamState: 'upstream_state',
  videoUrl: 'video_url',
  videoRawUrl: 'video_raw_url',
  thumbnailUrl: 'thumbnail_url',
  lastFrameUrl: 'last_frame_url',
  failureReason: 'failure_reason',
} as const satisfies Partial<Record<keyof TaskUpdate, keyof TaskItem>>;

/** Builds the one UpdateItem that moves a task forward; exported for the tests of its shape. */
export function advanceExpression(update: TaskUpdate) {
  const rank = STATUS_RANK[update.status];
  const names: Record<string, string> = { '#status': 'task_status', '#rank': 'status_rank', '#updated': 'updated_at', '#id': 'task_id' };
  const values: Record<string, unknown> = { ':status': update.status, ':rank': rank, ':at': update.at };
  const set = ['#status = :status', '#rank = :rank', '#updated = :at'];
  const remove: string[] = [];
  let condition = 'attribute_exists(#id) AND #rank < :rank';

  for (const [key, attribute] of Object.entries(FIELD_OF_UPDATE) as [keyof typeof FIELD_OF_UPDATE, string][]) {
    const value = update[key];
    if (value === undefined) continue;
    names[`#${attribute}`] = attribute;
    values[`:${attribute}`] = value;
    set.push(`#${attribute} = :${attribute}`);
  }
  if (update.upstreamId !== undefined) {
    // A callback carries the upstream id; it must be this task's (or the first one seen).
    names['#upstream'] = 'upstream_id';
    values[':upstream'] = update.upstreamId;
    set.push('#upstream = :upstream');
    condition += ' AND (attribute_not_exists(#upstream) OR #upstream = :upstream)';
  }
  if (update.onlyFrom !== undefined) {
    values[':from'] = update.onlyFrom;
    condition += ' AND #status = :from';
  }
  if (update.checkAfter !== undefined && rank !== TERMINAL_RANK) {
    names['#check'] = 'check_after';
    values[':check'] = update.checkAfter;
    set.push('#check = :check');
  }
  if (rank === TERMINAL_RANK) {
    names['#shard'] = 'open_shard';
    names['#check'] = 'check_after';
    remove.push('#shard', '#check');
  }
  const expression = `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`;
  return { UpdateExpression: expression, ConditionExpression: condition, ExpressionAttributeNames: names, ExpressionAttributeValues: values };
}

async function ignoringConditionFailure(operation: () => Promise<unknown>): Promise<boolean> {
  try {
    await operation();
    return true;
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    return false;
  }
}

export function createTaskStore({ client, tasksTable, idempotencyTable }: TaskStoreOptions): TaskStore {
  /** One conditional UpdateItem on a task; false when its condition did not hold. */
  const updateIf = (taskId: string, update: string, condition: string, values: Record<string, unknown>) =>
    guarded(() =>
      ignoringConditionFailure(() =>
        client.send(
          new UpdateCommand({
            TableName: tasksTable,
            Key: { task_id: taskId },
            UpdateExpression: update,
            ConditionExpression: condition,
            ExpressionAttributeValues: values,
          }),
        ),
      ),
    );

  return {
    get: (taskId) =>
      guarded(async () => {
        const { Item } = await client.send(new GetCommand({ TableName: tasksTable, Key: { task_id: taskId }, ConsistentRead: true }));
        return Item as TaskItem | undefined;
      }),

    create: (task, idempotency) =>
      guarded(async () => {
        const putTask = { TableName: tasksTable, Item: task, ConditionExpression: 'attribute_not_exists(task_id)' };
        if (idempotency === undefined) {
          await client.send(new PutCommand(putTask));
          return;
        }
        try {
          await client.send(
            new TransactWriteCommand({
              TransactItems: [
                { Put: putTask },
                {
                  Put: {
                    TableName: idempotencyTable,
                    Item: idempotency,
                    // An expired record may still be there until TTL removes it.
                    ConditionExpression: 'attribute_not_exists(pk) OR expires_at < :now',
                    ExpressionAttributeValues: { ':now': idempotency.created_at },
                  },
                },
              ],
            }),
          );
        } catch (error) {
          const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons;
          if (reasons?.[1]?.Code === 'ConditionalCheckFailed') {
            const { Item } = await client.send(new GetCommand({ TableName: idempotencyTable, Key: { pk: idempotency.pk }, ConsistentRead: true }));
            throw new IdempotencyKeyTaken(Item as IdempotencyRecord | undefined);
          }
          throw error;
        }
      }),

    getIdempotencyRecord: (pk) =>
      guarded(async () => {
        const { Item } = await client.send(new GetCommand({ TableName: idempotencyTable, Key: { pk }, ConsistentRead: true }));
        return Item as IdempotencyRecord | undefined;
      }),

    releaseIdempotencyKey: (pk, taskId) =>
      guarded(async () => {
        await ignoringConditionFailure(() =>
          client.send(
            new DeleteCommand({
              TableName: idempotencyTable,
              Key: { pk },
              ConditionExpression: 'task_id = :task',
              ExpressionAttributeValues: { ':task': taskId },
            }),
          ),
        );
      }),

    advance: (taskId, update) =>
      guarded(async (): Promise<AdvanceResult> => {
        try {
          const { Attributes } = await client.send(
            new UpdateCommand({
              TableName: tasksTable,
              Key: { task_id: taskId },
              ...advanceExpression(update),
              ReturnValues: 'ALL_NEW',
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            }),
          );
          return { applied: true, task: Attributes as TaskItem };
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
          // The document client does not unmarshall the item carried by the condition failure.
          const item = (error as { Item?: Parameters<typeof unmarshall>[0] }).Item;
          return { applied: false, task: item === undefined ? undefined : (unmarshall(item) as TaskItem) };
        }
      }),

    attachUpstreamId: async (taskId, upstreamId, at) => {
      await updateIf(
        taskId,
        'SET upstream_id = :upstream, updated_at = if_not_exists(updated_at, :at)',
        'attribute_exists(task_id) AND attribute_not_exists(upstream_id)',
        { ':upstream': upstreamId, ':at': at },
      );
    },

    recordUpstreamState: (taskId, upstreamId, upstreamState, at) =>
      updateIf(
        taskId,
        'SET upstream_state = :state, upstream_id = :upstream, updated_at = :at',
        'attribute_exists(task_id) AND status_rank < :terminal AND (attribute_not_exists(upstream_id) OR upstream_id = :upstream)',
        { ':state': upstreamState, ':upstream': upstreamId, ':at': at, ':terminal': TERMINAL_RANK },
      ),

    dueForCheck: (shard, now, limit) =>
      guarded(async () => {
        const { Items } = await client.send(
          new QueryCommand({
            TableName: tasksTable,
            IndexName: OPEN_TASKS_INDEX,
            KeyConditionExpression: 'open_shard = :shard AND check_after <= :now',
            ExpressionAttributeValues: { ':shard': shard, ':now': now },
            Limit: limit,
          }),
        );
        return (Items ?? []) as OpenTask[];
      }),

    deferCheck: async (taskId, checkAfter) => {
      await updateIf(taskId, 'SET check_after = :next', 'attribute_exists(open_shard)', { ':next': checkAfter });
    },
  };
}
