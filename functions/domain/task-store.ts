/**
 * The task store: every task write is a single conditional DynamoDB request,
 * so state only moves forward even when updates race (no read-then-write).
 */
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { guarded, isConditionFailure } from './dynamo';
import { ExpectedOutcome } from './errors';
import { OPEN_TASKS_INDEX } from './tables';
import { STATUS_RANK, TERMINAL_RANK, type TaskItem, type TaskStatus } from './task';
import type { UpstreamGeneration } from './upstream-response';

/** An Idempotency-Key record, written in the same transaction as its task. */
export interface IdempotencyRecord {
  readonly pk: string;
  readonly fingerprint: string;
  readonly task_id: string;
  readonly created_at: number;
  readonly expires_at: number;
}

export class IdempotencyKeyTaken extends ExpectedOutcome {
  override readonly name = 'IdempotencyKeyTaken';
  constructor(readonly record: IdempotencyRecord | undefined) {
    super('Idempotency-Key already used');
  }
}

/** A forward move of a task. Fields left undefined are not touched. */
export interface TaskUpdate {
  readonly status: TaskStatus;
  readonly at: number;
  readonly upstreamId?: string;
  readonly upstreamState?: string;
  readonly videoUrl?: string;
  readonly videoRawUrl?: string;
  readonly thumbnailUrl?: string;
  readonly lastFrameUrl?: string;
  readonly failureReason?: string;
  /** When the reconciler should next look at the task, if it stays open. */
  readonly checkAfter?: number;
  /** Apply only while the task still has this status (a failed submission must not fail a task a callback moved on). */
  readonly onlyFrom?: TaskStatus;
}

/** An open task as the sparse open-task index projects it. */
export interface OpenTask {
  readonly task_id: string;
  readonly task_status: TaskStatus;
  readonly upstream_id?: string;
  readonly owner_id: string;
  readonly created_at: number;
  readonly deadline_at: number;
  readonly check_after: number;
}

/** The forward move an upstream report asks for (submission answer, callback, reconciler look-up). */
export function updateFromGeneration(generation: UpstreamGeneration & { status: TaskStatus }, at: number): TaskUpdate {
  return {
    status: generation.status,
    at,
    upstreamId: generation.id,
    upstreamState: generation.rawState,
    videoUrl: generation.videoUrl,
    videoRawUrl: generation.videoRawUrl,
    thumbnailUrl: generation.thumbnailUrl,
    lastFrameUrl: generation.lastFrameUrl,
    failureReason: generation.status === 'failed' ? (generation.failureReason ?? 'the upstream reported a failure without a reason') : undefined,
  };
}

export type AdvanceResult =
  | { readonly applied: true; readonly task: TaskItem }
  /** Not applied: the task is already at this rank or beyond, belongs to another upstream id, or does not exist. */
  | { readonly applied: false; readonly task: TaskItem | undefined };

export interface TaskStore {
  get(taskId: string): Promise<TaskItem | undefined>;
  /** Writes a new task; with a record, atomically claims its Idempotency-Key too. */
  create(task: TaskItem, idempotency?: IdempotencyRecord): Promise<void>;
  getIdempotencyRecord(pk: string): Promise<IdempotencyRecord | undefined>;
  /** Frees a key whose request failed, so a retry may run again. */
  releaseIdempotencyKey(pk: string, taskId: string): Promise<void>;
  advance(taskId: string, update: TaskUpdate): Promise<AdvanceResult>;
  /** Records the upstream id when nothing recorded one yet (a callback may have). */
  attachUpstreamId(taskId: string, upstreamId: string, at: number): Promise<void>;
  /** Keeps an upstream state the gateway does not know, without moving the task. */
  recordUpstreamState(taskId: string, upstreamId: string, upstreamState: string, at: number): Promise<boolean>;
  /** Open tasks of one index shard whose check is due, oldest check first. */
  dueForCheck(shard: string, now: number, limit: number): Promise<OpenTask[]>;
  /** Sets when the reconciler next looks at an open task (no-op once it is closed). */
  deferCheck(taskId: string, checkAfter: number): Promise<void>;
}

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
