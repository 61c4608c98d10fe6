/**
 * The usage table (functions/tables.ts): each client's limits and the
 * counters they hold (`limits`), its usage per UTC day (`day#<day>`), and
 * the markers of the task transitions already counted (`mark#...`). Every
 * counter moves by an atomic ADD, in a conditional write or transaction:
 * never read, then written.
 *
 * The submission's share (one open-task slot, one of the day's submissions)
 * is written by the task store, in the transaction that writes the task:
 * `admissionItems` builds its two items here, where the rest of the table's
 * layout is.
 */
import { GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { UsageStore } from '#domain/ports';
import { emptyDay, USAGE_COUNTERS, utcDay, type DayUsage, type LimitsState, type TransitionEffect, type UsageCounter } from '#domain/usage';
import { cancellationReasons, retryingConflicts } from './transactions';
import { allPages, guarded } from './document-client';

export const LIMITS_KEY = 'limits';
const DAY_PREFIX = 'day#';
const MARK_PREFIX = 'mark#';
const dayKey = (day: string) => `${DAY_PREFIX}${day}`;

/**
 * How long a counted transition's marker is kept: longer than any replay
 * can come (the stream keeps records 24 h; the consumer gives up on a record
 * after 1 h).
 */
export const MARKER_TTL_SECONDS = 3 * 86_400;

/** The limits item as stored, read back. */
export function limitsStateOf(item: Record<string, unknown> | undefined): LimitsState {
  const number = (name: string) => (typeof item?.[name] === 'number' ? (item[name] as number) : undefined);
  return {
    ...(number('max_open_tasks') !== undefined && { maxOpenTasks: number('max_open_tasks') }),
    ...(number('max_tasks_per_day') !== undefined && { maxTasksPerDay: number('max_tasks_per_day') }),
    openTasks: number('open_tasks') ?? 0,
    ...(typeof item?.usage_day === 'string' && { day: item.usage_day }),
    submittedToday: number('submitted_today') ?? 0,
  };
}

/**
 * The limits item's update of one submission, taking a slot and one of the
 * day's submissions only while the limits allow it. `sameDay`: the item's
 * day is today (add one to it); else the day rolls over (today's count
 * starts at one). Which one applies shows in the item a refused attempt
 * returns, so a day's first submission takes two attempts and no read.
 */
function limitsUpdate(tableName: string, clientId: string, today: string, sameDay: boolean) {
  const withinOpen = '(attribute_not_exists(max_open_tasks) OR open_tasks < max_open_tasks)';
  return {
    TableName: tableName,
    Key: { client_id: clientId, usage_key: LIMITS_KEY },
    ...(sameDay
      ? {
          UpdateExpression: 'ADD open_tasks :one, submitted_today :one',
          ConditionExpression: `${withinOpen} AND usage_day = :today AND (attribute_not_exists(max_tasks_per_day) OR submitted_today < max_tasks_per_day)`,
          ExpressionAttributeValues: { ':one': 1, ':today': today },
        }
      : {
          UpdateExpression: 'SET usage_day = :today, submitted_today = :one ADD open_tasks :one',
          ConditionExpression: `${withinOpen} AND (attribute_not_exists(usage_day) OR usage_day <> :today) AND (attribute_not_exists(max_tasks_per_day) OR max_tasks_per_day > :zero)`,
          ExpressionAttributeValues: { ':one': 1, ':today': today, ':zero': 0 },
        }),
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
}

/** The ADDs of some counters on a day's item, which is created (with its TTL) by the first. */
function dayUpdate(tableName: string, clientId: string, day: string, deltas: ReadonlyMap<UsageCounter, number>, expiresAt: number) {
  const names: Record<string, string> = { '#expires': 'expires_at' };
  const values: Record<string, number> = { ':expires': expiresAt };
  const adds = [...deltas].map(([counter, delta], i) => {
    names[`#c${i}`] = counter;
    values[`:d${i}`] = delta;
    return `#c${i} :d${i}`;
  });
  return {
    TableName: tableName,
    Key: { client_id: clientId, usage_key: dayKey(day) },
    UpdateExpression: `ADD ${adds.join(', ')} SET #expires = if_not_exists(#expires, :expires)`,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/** When a day's usage item expires: its end plus the retention. */
export function dayExpiresAt(day: string, retentionDays: number): number {
  return Date.parse(`${day}T00:00:00Z`) / 1000 + (1 + retentionDays) * 86_400;
}

/** The submission's two items in its task's transaction: the limits item (its condition is the limits) and the day's submitted count. */
export function admissionItems(tableName: string, clientId: string, at: number, retentionDays: number, sameDay: boolean) {
  const today = utcDay(at);
  return [
    { Update: limitsUpdate(tableName, clientId, today, sameDay) },
    { Update: dayUpdate(tableName, clientId, today, new Map([['submitted', 1]]), dayExpiresAt(today, retentionDays)) },
  ];
}

function dayUsageOf(item: Record<string, unknown>): DayUsage {
  const day = String(item.usage_key).slice(DAY_PREFIX.length);
  const counts = emptyDay(day) as Record<string, number | string>;
  for (const counter of USAGE_COUNTERS) if (typeof item[counter] === 'number') counts[counter] = item[counter] as number;
  return counts as DayUsage;
}

export interface UsageStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly usageTable: string;
  /** Days a day's usage is kept (read only when a count is written: the readers' environment need not carry it). */
  readonly retentionDays: () => number;
}

export function createUsageStore({ client, usageTable, retentionDays }: UsageStoreOptions): UsageStore {
  return {
    limits: (clientId) =>
      guarded(async () => {
        const { Item } = await client.send(new GetCommand({ TableName: usageTable, Key: { client_id: clientId, usage_key: LIMITS_KEY }, ConsistentRead: true }));
        return limitsStateOf(Item);
      }),

    setLimits: (clientId, change, at) =>
      guarded(async () => {
        const set = ['open_tasks = if_not_exists(open_tasks, :zero)', 'submitted_today = if_not_exists(submitted_today, :zero)', 'limits_updated_at = :at'];
        const remove: string[] = [];
        const values: Record<string, number> = { ':zero': 0, ':at': at };
        for (const [field, attribute] of [
          ['maxOpenTasks', 'max_open_tasks'],
          ['maxTasksPerDay', 'max_tasks_per_day'],
        ] as const) {
          const value = change[field];
          if (value === undefined) continue;
          if (value === null) remove.push(attribute);
          else {
            set.push(`${attribute} = :${attribute}`);
            values[`:${attribute}`] = value;
          }
        }
        const { Attributes } = await client.send(
          new UpdateCommand({
            TableName: usageTable,
            Key: { client_id: clientId, usage_key: LIMITS_KEY },
            UpdateExpression: `SET ${set.join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`,
            ExpressionAttributeValues: values,
            ReturnValues: 'ALL_NEW',
          }),
        );
        return limitsStateOf(Attributes);
      }),

    days: (clientId, from, to) =>
      guarded(async () => {
        const items = await allPages<Record<string, unknown>>((start) =>
          client.send(
            new QueryCommand({
              TableName: usageTable,
              KeyConditionExpression: 'client_id = :client AND usage_key BETWEEN :from AND :to',
              ExpressionAttributeValues: { ':client': clientId, ':from': dayKey(from), ':to': dayKey(to) },
              ExclusiveStartKey: start,
            }),
          ),
        );
        return items.map(dayUsageOf);
      }),

    count: (effect: TransitionEffect, at: number) =>
      guarded(async () => {
        const byDay = new Map<string, Map<UsageCounter, number>>();
        for (const { day, counter, delta } of effect.counts) {
          const deltas = byDay.get(day) ?? new Map<UsageCounter, number>();
          deltas.set(counter, (deltas.get(counter) ?? 0) + delta);
          byDay.set(day, deltas);
        }
        try {
          await retryingConflicts(() => client.send(
            new TransactWriteCommand({
              TransactItems: [
                {
                  // The marker: this transition is counted once, whatever replays the stream makes.
                  Put: {
                    TableName: usageTable,
                    Item: { client_id: effect.ownerId, usage_key: `${MARK_PREFIX}${effect.transition}`, counted_at: at, expires_at: at + MARKER_TTL_SECONDS },
                    ConditionExpression: 'attribute_not_exists(usage_key)',
                  },
                },
                ...(effect.openTasks === 0
                  ? []
                  : [
                      {
                        Update: {
                          TableName: usageTable,
                          Key: { client_id: effect.ownerId, usage_key: LIMITS_KEY },
                          UpdateExpression: 'ADD open_tasks :delta',
                          ExpressionAttributeValues: { ':delta': effect.openTasks },
                        },
                      },
                    ]),
                ...[...byDay].map(([day, deltas]) => ({ Update: dayUpdate(usageTable, effect.ownerId, day, deltas, dayExpiresAt(day, retentionDays())) })),
              ],
            }),
          ));
          return true;
        } catch (error) {
          // Only the marker has a condition: refused, the transition was counted before.
          if (cancellationReasons(error)[0] === 'ConditionalCheckFailed') return false;
          throw error;
        }
      }),
  };
}
