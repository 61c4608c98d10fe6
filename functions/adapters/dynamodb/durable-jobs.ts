/**
 * Durable jobs (functions/domain/durable-job.ts) on DynamoDB: the writes
 * every job table shares, each one conditional request on one item. A job
 * is written once (idempotent on its key), claimed by one attempt at a time,
 * settled only by the claim that holds it, and in its table's sparse due
 * index exactly while it is pending. The notification messages' store and
 * the asset jobs' store are built on it.
 */
import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { JobClaim, JobLease } from '#domain/durable-job';
import { isConditionFailure } from './document-client';

/** The attribute names of the lease fields, and those of the table (its state attribute, its own fields). */
const LEASE_NAMES = {
  '#claims': 'claims',
  '#settled': 'settled',
  '#due': 'due_at_ms',
  '#shard': 'due_shard',
  '#claim_at': 'claim_at_ms',
  '#origin': 'origin_ms',
  '#error': 'last_error',
  '#ended': 'ended_at',
} as const;

/** Pending and held by no attempt: never claimed, its last claim settled, or that claim's lease lapsed. */
export const NOT_HELD = '(#claims = #settled OR #due <= :now)';

export type JobKey = Readonly<Record<string, string>>;

/** How a claimed job's attempt ended: due again later, or ended in a final state (out of the due index). */
export type JobOutcome =
  | { readonly kind: 'retry'; readonly dueAtMs: number; readonly error: string }
  /** `endedAt`: written as ended_at (unix seconds) when given. */
  | { readonly kind: 'final'; readonly state: string; readonly endedAt?: number; readonly error?: string };

export interface JobTableOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** The key attributes, partition first. */
  readonly keyAttributes: readonly string[];
  /** The attribute holding the job's state ('pending' while it is in the due index). */
  readonly stateAttribute: string;
  readonly dueIndex: string;
  /** The table's other attribute names an expression may use, as `#name`: its own fields. */
  readonly names?: Readonly<Record<string, string>>;
}

export function createJobTable<T extends JobLease>(options: JobTableOptions) {
  const { client, tableName } = options;
  const names: Record<string, string> = { '#state': options.stateAttribute, ...LEASE_NAMES, ...options.names };
  /** Only the attribute names an expression uses (DynamoDB refuses unused ones). */
  const namesIn = (...expressions: string[]) => {
    const text = expressions.join(' ');
    return Object.fromEntries(Object.entries(names).filter(([name]) => new RegExp(`${name}\\b`).test(text)));
  };
  const keyOf = (item: Record<string, unknown>): JobKey => Object.fromEntries(options.keyAttributes.map((name) => [name, item[name] as string]));

  /** One conditional UpdateItem; the item as returned (or true with NONE), undefined when the condition did not hold. */
  async function update(key: JobKey, expression: string, condition: string, values: Record<string, unknown>, returnValues: 'ALL_NEW' | 'ALL_OLD' | 'NONE' = 'NONE'): Promise<T | true | undefined> {
    try {
      const { Attributes } = await client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key,
          UpdateExpression: expression,
          ConditionExpression: condition,
          ExpressionAttributeNames: namesIn(expression, condition),
          ExpressionAttributeValues: values,
          ReturnValues: returnValues,
        }),
      );
      return returnValues === 'NONE' ? true : (Attributes as T);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async function get(key: JobKey): Promise<T | undefined> {
    const { Item } = await client.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }));
    return Item as T | undefined;
  }

  return {
    keyOf,
    update,
    get,

    /** Writes a new job; a job with its key already there is returned instead (a replay). */
    async putOnce(item: T): Promise<{ readonly created: true } | { readonly created: false; readonly existing: T }> {
      const sortKey = options.keyAttributes.at(-1)!;
      try {
        await client.send(new PutCommand({ TableName: tableName, Item: item, ConditionExpression: `attribute_not_exists(${sortKey})`, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }));
        return { created: true };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        // The document client does not unmarshall the item carried by the condition failure.
        const carried = (error as { Item?: Parameters<typeof unmarshall>[0] }).Item;
        const existing = carried === undefined ? await get(keyOf(item as unknown as Record<string, unknown>)) : (unmarshall(carried) as T);
        return { created: false, existing: existing! };
      }
    },

    /**
     * Claims a pending job no attempt holds (with requireDue: one that is
     * due), leasing it until `leaseUntilMs`; undefined when it is not claimable.
     */
    async claim(key: JobKey, { nowMs, leaseUntilMs, requireDue }: { nowMs: number; leaseUntilMs: number; requireDue: boolean }): Promise<JobClaim<T> | undefined> {
      const previous = await update(
        key,
        'SET #claims = #claims + :one, #claim_at = :now, #due = :lease',
        `#state = :pending AND ${requireDue ? '#due <= :now' : NOT_HELD}`,
        { ':one': 1, ':now': nowMs, ':lease': leaseUntilMs, ':pending': 'pending' },
        'ALL_OLD',
      );
      if (previous === undefined || previous === true) return undefined;
      return { previous, claim: previous.claims + 1, claimAtMs: nowMs };
    },

    /**
     * Writes a claim's outcome, with the table's own `set`/`remove` clauses
     * and values besides; false when the claim is no longer the job's latest
     * (another took over) or the job is not pending.
     */
    async settle(key: JobKey, claim: number, outcome: JobOutcome, extra: { set?: string[]; remove?: string[]; values?: Record<string, unknown> } = {}): Promise<boolean> {
      const values: Record<string, unknown> = { ':claim': claim, ':pending': 'pending', ...extra.values };
      const set = ['#settled = :claim', ...(extra.set ?? [])];
      const remove = [...(extra.remove ?? [])];
      if (outcome.kind === 'retry') {
        set.push('#due = :due', '#error = :error');
        values[':due'] = outcome.dueAtMs;
        values[':error'] = outcome.error;
      } else {
        set.push('#state = :final');
        values[':final'] = outcome.state;
        if (outcome.endedAt !== undefined) {
          set.push('#ended = :ended');
          values[':ended'] = outcome.endedAt;
        }
        if (outcome.error !== undefined) {
          set.push('#error = :error');
          values[':error'] = outcome.error;
        }
        remove.push('#shard', '#due');
      }
      const expression = `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`;
      return (await update(key, expression, '#state = :pending AND #claims = :claim', values)) !== undefined;
    },

    /** Jobs of one due-index shard due by nowMs, earliest first. */
    async due<D>(shard: string, nowMs: number, limit: number): Promise<D[]> {
      const { Items } = await client.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: options.dueIndex,
          KeyConditionExpression: 'due_shard = :shard AND due_at_ms <= :now',
          ExpressionAttributeValues: { ':shard': shard, ':now': nowMs },
          Limit: limit,
        }),
      );
      return (Items ?? []) as D[];
    },
  };
}
