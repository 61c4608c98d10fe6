/**
 * Notification messages (MessageStore, functions/domain/ports.ts) on
 * DynamoDB. Every write is one conditional request on one item: a message
 * is written once (idempotent on its key, so on its webhook-id), claimed by
 * one attempt at a time, and settled only by the claim that holds it.
 * The two sparse indexes follow the state: `due_shard` is there while the
 * message is pending, `undelivered_owner` while it is exhausted or skipped.
 */
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dueShard, type DueMessage, type MessageItem } from '#domain/message';
import type { MessageStore } from '#domain/ports';
import { DUE_MESSAGES_INDEX, UNDELIVERED_MESSAGES_INDEX } from '../../tables';
import { allPages, guarded } from './document-client';
import { createJobTable, NOT_HELD, type JobOutcome } from './durable-jobs';

export interface MessageStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly messagesTable: string;
}

export function createMessageStore({ client, messagesTable }: MessageStoreOptions): MessageStore {
  const jobs = createJobTable<MessageItem>({
    client,
    tableName: messagesTable,
    keyAttributes: ['task_id', 'message_seq'],
    stateAttribute: 'message_state',
    dueIndex: DUE_MESSAGES_INDEX,
    names: { '#undelivered': 'undelivered_owner', '#http': 'last_http_status', '#delivered': 'delivered_at', '#payload': 'payload', '#asset_keys': 'asset_keys' },
  });
  const update = jobs.update;

  return {
    put: (message) => guarded(() => jobs.putOnce(message)),

    get: (taskId, seq) => guarded(() => jobs.get({ task_id: taskId, message_seq: seq })),

    ofTask: (taskId) =>
      guarded(() =>
        allPages<MessageItem>((start) =>
          client.send(
            new QueryCommand({
              TableName: messagesTable,
              KeyConditionExpression: 'task_id = :task',
              ExpressionAttributeValues: { ':task': taskId },
              ConsistentRead: true,
              ExclusiveStartKey: start,
            }),
          ),
        ),
      ),

    pendingBefore: (taskId, seq) =>
      guarded(async () => {
        const { Count } = await client.send(
          new QueryCommand({
            TableName: messagesTable,
            KeyConditionExpression: 'task_id = :task AND message_seq < :seq',
            FilterExpression: '#state = :pending',
            ExpressionAttributeNames: { '#state': 'message_state' },
            ExpressionAttributeValues: { ':task': taskId, ':seq': seq, ':pending': 'pending' },
            ConsistentRead: true,
            Select: 'COUNT',
          }),
        );
        return (Count ?? 0) > 0;
      }),

    due: (shard, nowMs, limit) => guarded(() => jobs.due<DueMessage>(shard, nowMs, limit)),

    claim: (taskId, seq, options) => guarded(() => jobs.claim({ task_id: taskId, message_seq: seq }, options)),

    settle: (message, claim, settlement) =>
      guarded(async () => {
        const values: Record<string, unknown> = {};
        const set: string[] = [];
        const remove: string[] = [];
        if (settlement.httpStatus !== undefined) {
          set.push('#http = :http');
          values[':http'] = settlement.httpStatus;
        } else {
          remove.push('#http');
        }
        let outcome: JobOutcome;
        if (settlement.kind === 'delivered') {
          outcome = { kind: 'final', state: 'delivered' };
          set.push('#delivered = :delivered_at');
          values[':delivered_at'] = settlement.at;
          remove.push('#error', '#undelivered');
        } else if (settlement.kind === 'retry') {
          outcome = { kind: 'retry', dueAtMs: settlement.dueAtMs, error: settlement.error };
        } else {
          outcome = { kind: 'final', state: settlement.kind, endedAt: settlement.at, error: settlement.error };
          // Exhausted and skipped messages are what recover looks for; a refused address stays refused.
          if (settlement.kind !== 'refused') {
            set.push('#undelivered = :owner');
            values[':owner'] = message.owner_id;
          }
        }
        return jobs.settle(key(message), claim, outcome, { set, remove, values });
      }),

    skip: (message, reason, nowMs) =>
      guarded(async () => {
        const expression = 'SET #state = :skipped, #ended = :at, #error = :reason, #undelivered = :owner, #settled = #claims REMOVE #shard, #due';
        const values = { ':skipped': 'skipped', ':at': Math.floor(nowMs / 1000), ':reason': reason, ':owner': message.owner_id, ':now': nowMs, ':pending': 'pending' };
        return (await update(key(message), expression, `#state = :pending AND ${NOT_HELD}`, values)) !== undefined;
      }),

    defer: async (taskId, seq, dueAtMs, nowMs) => {
      await guarded(() =>
        update({ task_id: taskId, message_seq: seq }, 'SET #due = :due', `#state = :pending AND ${NOT_HELD}`, { ':due': dueAtMs, ':now': nowMs, ':pending': 'pending' }),
      );
    },

    requeue: (taskId, seq, { nowMs, leaseUntilMs, onlyFrom, payload }) =>
      guarded(async () => {
        const values: Record<string, unknown> = { ':pending': 'pending', ':now': nowMs, ':shard': dueShard(taskId) };
        // Counted from now: a redelivered message gets the whole schedule again.
        const set = ['#state = :pending', '#origin = :now', '#shard = :shard', '#settled = #claims'];
        if (payload !== undefined) {
          set.push('#payload = :payload', '#asset_keys = :asset_keys');
          values[':payload'] = payload.body;
          values[':asset_keys'] = payload.assetKeys ?? {};
        }
        if (leaseUntilMs === undefined) {
          set.push('#due = :now');
        } else {
          set.push('#due = :lease', '#claims = #claims + :one', '#claim_at = :now');
          values[':lease'] = leaseUntilMs;
          values[':one'] = 1;
        }
        let condition = `attribute_exists(message_seq) AND (#state <> :pending OR ${NOT_HELD})`;
        if (onlyFrom !== undefined) {
          const states = onlyFrom.map((state, i) => {
            values[`:from${i}`] = state;
            return `:from${i}`;
          });
          condition += ` AND #state IN (${states.join(', ')})`;
        }
        const expression = `SET ${set.join(', ')} REMOVE #undelivered, #ended`;
        const written = await update({ task_id: taskId, message_seq: seq }, expression, condition, values, 'ALL_NEW');
        return written === true ? undefined : written;
      }),

    undelivered: (ownerId, since, limit, startKey) =>
      guarded(async () => {
        const { Items, LastEvaluatedKey } = await client.send(
          new QueryCommand({
            TableName: messagesTable,
            IndexName: UNDELIVERED_MESSAGES_INDEX,
            KeyConditionExpression: 'undelivered_owner = :owner AND created_at >= :since',
            ExpressionAttributeValues: { ':owner': ownerId, ':since': since },
            Limit: limit,
            ExclusiveStartKey: startKey,
          }),
        );
        return {
          keys: (Items ?? []).map((item) => ({ task_id: item.task_id as string, message_seq: item.message_seq as string })),
          ...(LastEvaluatedKey && { next: LastEvaluatedKey }),
        };
      }),
  };
}

const key = (message: Pick<MessageItem, 'task_id' | 'message_seq'>) => ({ task_id: message.task_id, message_seq: message.message_seq });
