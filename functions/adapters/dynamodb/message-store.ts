/**
 * Notification messages (MessageStore, functions/domain/ports.ts) on
 * DynamoDB. Every write is one conditional request on one item: a message
 * is written once (idempotent on its key, so on its webhook-id), claimed by
 * one attempt at a time, and settled only by the claim that holds it.
 * The two sparse indexes follow the state: `due_shard` is there while the
 * message is pending, `undelivered_owner` while it is exhausted or skipped.
 */
import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { dueShard, type DueMessage, type MessageItem } from '#domain/message';
import type { MessageClaim, MessageStore } from '#domain/ports';
import { DUE_MESSAGES_INDEX, UNDELIVERED_MESSAGES_INDEX } from '../../tables';
import { allPages, guarded, isConditionFailure } from './document-client';

export interface MessageStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly messagesTable: string;
}

const NAMES = {
  '#state': 'message_state',
  '#claims': 'claims',
  '#settled': 'settled',
  '#due': 'due_at_ms',
  '#shard': 'due_shard',
  '#claim_at': 'claim_at_ms',
  '#undelivered': 'undelivered_owner',
  '#error': 'last_error',
  '#http': 'last_http_status',
  '#ended': 'ended_at',
  '#delivered': 'delivered_at',
  '#origin': 'origin_ms',
} as const;

type Name = keyof typeof NAMES;

/** Only the attribute names an expression uses (DynamoDB refuses unused ones). */
function namesIn(...expressions: string[]): Record<string, string> {
  const text = expressions.join(' ');
  return Object.fromEntries((Object.keys(NAMES) as Name[]).filter((name) => new RegExp(`${name}\\b`).test(text)).map((name) => [name, NAMES[name]]));
}

/** Pending and held by no attempt: never claimed, its last claim settled, or that claim's lease lapsed. */
const NOT_HELD = '(#claims = #settled OR #due <= :now)';

export function createMessageStore({ client, messagesTable }: MessageStoreOptions): MessageStore {
  /** One conditional UpdateItem; the item as written, or undefined when the condition did not hold. */
  const update = async (
    key: { task_id: string; message_seq: string },
    expression: string,
    condition: string,
    values: Record<string, unknown>,
    returnValues: 'ALL_NEW' | 'ALL_OLD' | 'NONE' = 'NONE',
  ): Promise<MessageItem | undefined | true> => {
    try {
      const { Attributes } = await client.send(
        new UpdateCommand({
          TableName: messagesTable,
          Key: key,
          UpdateExpression: expression,
          ConditionExpression: condition,
          ExpressionAttributeNames: namesIn(expression, condition),
          ExpressionAttributeValues: values,
          ReturnValues: returnValues,
        }),
      );
      return returnValues === 'NONE' ? true : (Attributes as MessageItem);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  };

  return {
    put: (message) =>
      guarded(async () => {
        try {
          await client.send(
            new PutCommand({
              TableName: messagesTable,
              Item: message,
              ConditionExpression: 'attribute_not_exists(message_seq)',
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            }),
          );
          return { created: true } as const;
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
          // The document client does not unmarshall the item carried by the condition failure.
          const item = (error as { Item?: Parameters<typeof unmarshall>[0] }).Item;
          const existing = item === undefined ? await readMessage(message.task_id, message.message_seq) : (unmarshall(item) as MessageItem);
          return { created: false, existing: existing! } as const;
        }
      }),

    get: (taskId, seq) => guarded(() => readMessage(taskId, seq)),

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

    due: (shard, nowMs, limit) =>
      guarded(async () => {
        const { Items } = await client.send(
          new QueryCommand({
            TableName: messagesTable,
            IndexName: DUE_MESSAGES_INDEX,
            KeyConditionExpression: 'due_shard = :shard AND due_at_ms <= :now',
            ExpressionAttributeValues: { ':shard': shard, ':now': nowMs },
            Limit: limit,
          }),
        );
        return (Items ?? []) as DueMessage[];
      }),

    claim: (taskId, seq, { nowMs, leaseUntilMs, requireDue }) =>
      guarded(async (): Promise<MessageClaim | undefined> => {
        const expression = 'SET #claims = #claims + :one, #claim_at = :now, #due = :lease';
        const condition = `#state = :pending AND ${requireDue ? '#due <= :now' : NOT_HELD}`;
        const previous = await update(
          { task_id: taskId, message_seq: seq },
          expression,
          condition,
          { ':one': 1, ':now': nowMs, ':lease': leaseUntilMs, ':pending': 'pending' },
          'ALL_OLD',
        );
        if (previous === undefined || previous === true) return undefined;
        return { previous, claim: previous.claims + 1, claimAtMs: nowMs };
      }),

    settle: (message, claim, settlement) =>
      guarded(async () => {
        const values: Record<string, unknown> = { ':claim': claim, ':pending': 'pending' };
        const set = ['#settled = :claim'];
        const remove: string[] = [];
        if (settlement.httpStatus !== undefined) {
          set.push('#http = :http');
          values[':http'] = settlement.httpStatus;
        } else {
          remove.push('#http');
        }
        if (settlement.kind === 'delivered') {
          set.push('#state = :state', '#delivered = :at');
          values[':state'] = 'delivered';
          values[':at'] = settlement.at;
          remove.push('#shard', '#due', '#error', '#undelivered');
        } else if (settlement.kind === 'retry') {
          set.push('#due = :due', '#error = :error');
          values[':due'] = settlement.dueAtMs;
          values[':error'] = settlement.error;
        } else {
          set.push('#state = :state', '#ended = :at', '#error = :error');
          values[':state'] = settlement.kind;
          values[':at'] = settlement.at;
          values[':error'] = settlement.error;
          remove.push('#shard', '#due');
          // Exhausted and skipped messages are what recover looks for; a refused address stays refused.
          if (settlement.kind !== 'refused') {
            set.push('#undelivered = :owner');
            values[':owner'] = message.owner_id;
          }
        }
        const expression = `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`;
        return (await update(key(message), expression, '#state = :pending AND #claims = :claim', values)) !== undefined;
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

    requeue: (taskId, seq, { nowMs, leaseUntilMs, onlyFrom }) =>
      guarded(async () => {
        const values: Record<string, unknown> = { ':pending': 'pending', ':now': nowMs, ':shard': dueShard(taskId) };
        // Counted from now: a redelivered message gets the whole schedule again.
        const set = ['#state = :pending', '#origin = :now', '#shard = :shard', '#settled = #claims'];
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

  async function readMessage(taskId: string, seq: string): Promise<MessageItem | undefined> {
    const { Item } = await client.send(new GetCommand({ TableName: messagesTable, Key: { task_id: taskId, message_seq: seq }, ConsistentRead: true }));
    return Item as MessageItem | undefined;
  }
}

const key = (message: Pick<MessageItem, 'task_id' | 'message_seq'>) => ({ task_id: message.task_id, message_seq: message.message_seq });
