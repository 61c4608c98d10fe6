/**
 * The task store (TaskStore, functions/domain/ports.ts) on DynamoDB: every
 * task write is a single conditional request, so state only moves forward
 * even when updates race (no read-then-write).
 */
import { BatchGetCommand, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { outOfTime, storeUnavailable } from '#domain/errors';
import { IdempotencyKeyTaken, LimitReached, type AdvanceResult, type IdempotencyRecord, type OpenTask, type OwnerTaskKey, type TaskStore } from '#domain/ports';
import { STATUS_RANK, TERMINAL_RANK, type FailureCode, type TaskItem, type TaskUpdate } from '#domain/task';
import { limitReached, utcDay } from '#domain/usage';
import { OPEN_TASKS_INDEX, OWNER_TASKS_INDEX, openShard } from '../../tables';
import { guarded, isConditionFailure } from './document-client';
import { cancellationItems, cancellationReasons, retryingConflicts } from './transactions';
import { admissionItems, limitsStateOf } from './usage-store';

export interface TaskStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tasksTable: string;
  readonly idempotencyTable: string;
  /** The usage table, where a submission takes its slot (create with an admission). @default none: no admission possible */
  readonly usageTable?: string;
}

/** BatchGetItem's unprocessed keys are read again after this long, doubling (DynamoDB returns them when throttled). */
const UNPROCESSED_BASE_DELAY_MS = 50;
const UNPROCESSED_MAX_DELAY_MS = 800;

/** Attempts of a submission's transaction that its limits item sends back to try the other day form (see usage-store.ts). */
const ADMISSION_ATTEMPTS = 4;

const FIELD_OF_UPDATE = {
  upstreamState: 'upstream_state',
  videoUrl: 'video_url',
  videoRawUrl: 'video_raw_url',
  thumbnailUrl: 'thumbnail_url',
  lastFrameUrl: 'last_frame_url',
  failureReason: 'failure_reason',
  failureCode: 'failure_code',
} as const satisfies Partial<Record<keyof TaskUpdate, keyof TaskItem>>;

/** The one failed state a report from the upstream may move again (see functions/domain/reconcile.ts). */
const REVIVABLE: FailureCode = 'unconfirmed';

/**
 * Builds the one UpdateItem that moves a task forward: to a higher rank
 * only; or, with `revive`, out of a failure the gateway decided only because
 * it never heard back (failure_code `unconfirmed`), marking it revived_at.
 * A task that is open after the move is in the open-task index; one that is
 * not failed carries no failure. Exported for the tests of its shape.
 */
export function advanceExpression(taskId: string, update: TaskUpdate, { revive = false } = {}) {
  const rank = STATUS_RANK[update.status];
  const terminal = rank === TERMINAL_RANK;
  const names: Record<string, string> = { '#status': 'task_status', '#rank': 'status_rank', '#updated': 'updated_at', '#id': 'task_id' };
  const values: Record<string, unknown> = { ':status': update.status, ':rank': rank, ':at': update.at };
  const set = ['#status = :status', '#rank = :rank', '#updated = :at'];
  const remove: string[] = [];
  let condition = 'attribute_exists(#id) AND ';
  if (revive) {
    names['#failure_code'] = 'failure_code';
    names['#revived'] = 'revived_at';
    values[':revivable'] = REVIVABLE;
    condition += '#failure_code = :revivable';
    set.push('#revived = :at');
  } else {
    condition += '#rank < :rank';
  }

  for (const [key, attribute] of Object.entries(FIELD_OF_UPDATE) as [keyof typeof FIELD_OF_UPDATE, string][]) {
    const value = update[key];
    if (value === undefined) continue;
    names[`#${attribute}`] = attribute;
    values[`:${attribute}`] = value;
    set.push(`#${attribute} = :${attribute}`);
  }
  if (update.status !== 'failed') {
    // A revived task is no longer failed.
    names['#failure_reason'] = 'failure_reason';
    names['#failure_code'] = 'failure_code';
    remove.push('#failure_reason', '#failure_code');
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
  if (update.status === 'completed') {
    // Its media are copied from now on (functions/domain/asset-job.ts): the stream's completed record says so.
    names['#asset_state'] = 'asset_state';
    values[':asset_pending'] = 'pending';
    set.push('#asset_state = :asset_pending');
  }
  names['#shard'] = 'open_shard';
  names['#check'] = 'check_after';
  if (terminal) {
    remove.push('#shard', '#check');
  } else {
    // Back in (or still in) the open-task index; a revived task is checked at once.
    values[':shard'] = openShard(taskId);
    values[':check'] = update.checkAfter ?? update.at;
    set.push('#shard = if_not_exists(#shard, :shard)', update.checkAfter !== undefined ? '#check = :check' : '#check = if_not_exists(#check, :check)');
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

export function createTaskStore({ client, tasksTable, idempotencyTable, usageTable }: TaskStoreOptions): TaskStore {
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

  /** One conditional UpdateItem moving a task; the item as it is when the condition refuses it. */
  const advanceIf = async (taskId: string, update: TaskUpdate, options?: { revive: boolean }): Promise<AdvanceResult> => {
    try {
      const { Attributes } = await client.send(
        new UpdateCommand({
          TableName: tasksTable,
          Key: { task_id: taskId },
          ...advanceExpression(taskId, update, options),
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
  };

  return {
    get: (taskId) =>
      guarded(async () => {
        const { Item } = await client.send(new GetCommand({ TableName: tasksTable, Key: { task_id: taskId }, ConsistentRead: true }));
        return Item as TaskItem | undefined;
      }),

    create: (task, idempotency, admission) =>
      guarded(async () => {
        const putTask = { TableName: tasksTable, Item: task, ConditionExpression: 'attribute_not_exists(task_id)' };
        if (idempotency === undefined && admission === undefined) {
          await client.send(new PutCommand(putTask));
          return;
        }
        if (admission !== undefined && usageTable === undefined) throw new Error('createTaskStore: an admission needs the usage table');
        const putKey = idempotency && {
          TableName: idempotencyTable,
          Item: idempotency,
          // An expired record may still be there until TTL removes it.
          ConditionExpression: 'attribute_not_exists(pk) OR expires_at < :now',
          ExpressionAttributeValues: { ':now': idempotency.created_at },
        };
        const keyIndex = putKey ? 1 : -1;
        const limitsIndex = putKey ? 2 : 1;
        const today = utcDay(task.created_at);
        // Most submissions are not their client's first of the day: try that form first.
        let sameDay = true;
        for (let attempt = 1; ; attempt += 1) {
          const items = [
            { Put: putTask },
            ...(putKey ? [{ Put: putKey }] : []),
            ...(admission ? admissionItems(usageTable!, task.owner_id, task.created_at, admission.retentionDays, sameDay) : []),
          ];
          try {
            await retryingConflicts(() => client.send(new TransactWriteCommand({ TransactItems: items })));
            return;
          } catch (error) {
            const reasons = cancellationReasons(error);
            // The key first: a replay of an accepted request returns its task, whatever the limits say now (it took its slot then).
            // Another request with this key is writing it at this very moment: the caller tries again shortly.
            if (reasons[keyIndex] === 'TransactionConflict') throw new IdempotencyKeyTaken(undefined);
            if (reasons[keyIndex] === 'ConditionalCheckFailed') {
              // Undefined when the holder released it in between: the caller claims it again.
              const { Item } = await client.send(new GetCommand({ TableName: idempotencyTable, Key: { pk: idempotency!.pk }, ConsistentRead: true }));
              throw new IdempotencyKeyTaken(Item as IdempotencyRecord | undefined);
            }
            if (!admission || reasons[limitsIndex] !== 'ConditionalCheckFailed') throw error;
            const raw = cancellationItems(error)[limitsIndex];
            const state = limitsStateOf(raw === undefined ? undefined : unmarshall(raw as Parameters<typeof unmarshall>[0]));
            const limit = limitReached(state, today);
            if (limit !== undefined) throw new LimitReached(limit, state);
            // Not a limit: the other day form applies (a new day, or another submission rolled the day over first).
            if (attempt >= ADMISSION_ATTEMPTS) throw Object.assign(storeUnavailable(), { cause: error });
            sameDay = state.day === today;
          }
        }
      }),

    getIdempotencyRecord: (pk) =>
      guarded(async () => {
        const { Item } = await client.send(new GetCommand({ TableName: idempotencyTable, Key: { pk }, ConsistentRead: true }));
        return Item as IdempotencyRecord | undefined;
      }),

    failSubmission: (taskId, update, idempotencyPk) =>
      guarded(async () => {
        const task = { TableName: tasksTable, Key: { task_id: taskId }, ...advanceExpression(taskId, update) };
        if (idempotencyPk === undefined) return ignoringConditionFailure(() => client.send(new UpdateCommand(task)));
        try {
          await client.send(
            new TransactWriteCommand({
              TransactItems: [
                { Update: task },
                {
                  Delete: {
                    TableName: idempotencyTable,
                    Key: { pk: idempotencyPk },
                    // Only this task's claim (an absent record is fine: the task still fails).
                    ConditionExpression: 'attribute_not_exists(pk) OR task_id = :task',
                    ExpressionAttributeValues: { ':task': taskId },
                  },
                },
              ],
            }),
          );
          return true;
        } catch (error) {
          if (cancellationReasons(error).includes('ConditionalCheckFailed')) return false;
          throw error;
        }
      }),

    markUnconfirmed: async (taskId, at, checkAfter) => {
      await updateIf(taskId, 'SET unconfirmed_since = :at, check_after = :check', 'task_status = :submitting', {
        ':at': at,
        ':check': checkAfter,
        ':submitting': 'submitting',
      });
    },

    advance: (taskId, update) =>
      guarded(async (): Promise<AdvanceResult> => {
        const moved = await advanceIf(taskId, update);
        // Refused: a report from the upstream still revives a task the gateway failed only for never hearing back.
        if (!moved.applied && update.fromUpstream && moved.task?.failure_code === REVIVABLE) return advanceIf(taskId, update, { revive: true });
        return moved;
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

    settleAssets: (taskId, outcome) =>
      guarded(async () => {
        const set = ['asset_state = :state', 'asset_keys = :keys', 'assets_settled_at = :at'];
        const values: Record<string, unknown> = { ':state': outcome.state, ':keys': outcome.keys, ':at': outcome.at, ':pending': 'pending' };
        if (outcome.reason !== undefined) {
          set.push('asset_failure_reason = :reason');
          values[':reason'] = outcome.reason;
        }
        try {
          const { Attributes } = await client.send(
            new UpdateCommand({
              TableName: tasksTable,
              Key: { task_id: taskId },
              UpdateExpression: `SET ${set.join(', ')}`,
              // Once: a second run (a replay, a claim taken over) finds it settled and writes nothing, so the stream carries one record of it.
              ConditionExpression: 'asset_state = :pending',
              ExpressionAttributeValues: values,
              ReturnValues: 'ALL_NEW',
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            }),
          );
          return Attributes as TaskItem;
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
          const item = (error as { Item?: Parameters<typeof unmarshall>[0] }).Item;
          return item === undefined ? undefined : (unmarshall(item) as TaskItem);
        }
      }),

    ofOwner: (ownerId, { createdAfter, limit, startKey }) =>
      guarded(async () => {
        const { Items, LastEvaluatedKey } = await client.send(
          new QueryCommand({
            TableName: tasksTable,
            IndexName: OWNER_TASKS_INDEX,
            KeyConditionExpression: createdAfter === undefined ? 'owner_id = :owner' : 'owner_id = :owner AND created_at > :after',
            ExpressionAttributeValues: { ':owner': ownerId, ...(createdAfter !== undefined && { ':after': createdAfter }) },
            ScanIndexForward: false,
            Limit: limit,
            // The key of the index and of the table: always within the caller's partition.
            ExclusiveStartKey: startKey && { owner_id: ownerId, created_at: startKey.created_at, task_id: startKey.task_id },
          }),
        );
        const keyOf = (item: Record<string, unknown>): OwnerTaskKey => ({ task_id: item.task_id as string, created_at: item.created_at as number });
        return { keys: (Items ?? []).map(keyOf), ...(LastEvaluatedKey !== undefined && { next: keyOf(LastEvaluatedKey) }) };
      }),

    getMany: (taskIds, options = {}) =>
      guarded(async () => {
        const found = new Map<string, TaskItem>();
        let keys: Record<string, unknown>[] = taskIds.map((task_id) => ({ task_id }));
        for (let attempt = 0; keys.length > 0; attempt += 1) {
          if (attempt > 0) {
            const delay = Math.min(UNPROCESSED_MAX_DELAY_MS, UNPROCESSED_BASE_DELAY_MS * 2 ** (attempt - 1));
            // Keys DynamoDB left unread (throttling): read again while the caller's time allows, else a 503.
            if (options.deadlineAt !== undefined && Date.now() + delay + 100 > options.deadlineAt) throw outOfTime();
            await new Promise((resolve) => setTimeout(resolve, delay));
          }
          const { Responses, UnprocessedKeys } = await client.send(new BatchGetCommand({ RequestItems: { [tasksTable]: { Keys: keys, ConsistentRead: true } } }));
          for (const item of Responses?.[tasksTable] ?? []) found.set(item.task_id as string, item as TaskItem);
          keys = (UnprocessedKeys?.[tasksTable]?.Keys ?? []) as Record<string, unknown>[];
          if (options.deadlineAt === undefined && attempt >= 8 && keys.length > 0) throw storeUnavailable();
        }
        return found;
      }),
  };
}
