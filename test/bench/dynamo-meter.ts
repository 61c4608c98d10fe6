/**
 * Counts the DynamoDB calls a client makes and, optionally, the capacity
 * units they consume: a middleware on the client's stack (the document
 * client shares its stack with the DynamoDB client under it) that asks for
 * ReturnConsumedCapacity INDEXES and sums what comes back (the total, and
 * the part spent on global secondary indexes). DynamoDB Local
 * answers ConsumedCapacity as DynamoDB does; a write refused by its
 * condition returns none, yet DynamoDB charges it: it is estimated with the
 * documented rule (1 WCU per KB of the item, from the item returned with
 * ReturnValuesOnConditionCheckFailure, else 1).
 *
 * DynamoDB Local under-reports a transaction whose items share a table (2
 * units per table, whatever the number of items: measured 2026-12-01 with 1,
 * 2 and 3 items), so a TransactWriteItems is counted by DynamoDB's
 * documented rule instead: 2 WRU per item per KB (a Put's size from its
 * item; an Update's or Delete's item taken as 1 KB, which the gateway's
 * limits, usage and idempotency items are well under), plus the index units
 * DynamoDB Local reports.
 */
import { itemSizeBytes } from './item-size';

interface Stack {
  middlewareStack: { add: (...args: any[]) => void; remove: (name: string) => boolean };
}

export interface MeterEntry {
  /** e.g. GetItem, PutItem, TransactWriteItems */
  readonly operation: string;
  readonly table: string;
  /** The index a Query or Scan read, if any. */
  readonly index?: string;
  readonly readUnits: number;
  readonly writeUnits: number;
  /** Of the units, those spent maintaining (or reading) global secondary indexes. */
  readonly indexUnits: number;
  /** The write was refused by its condition (units estimated). */
  readonly conditionFailed: boolean;
  readonly at: number;
}

export interface DynamoMeter {
  readonly entries: MeterEntry[];
  /** Calls by operation (GetItem: 2, ...). */
  counts(filter?: (entry: MeterEntry) => boolean): Record<string, number>;
  totals(filter?: (entry: MeterEntry) => boolean): { calls: number; readUnits: number; writeUnits: number };
  reset(): void;
  detach(): void;
}

const READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);
let meters = 0;

/** A marshalled item (every value an AttributeValue: one key such as S, N, M) or a plain one. */
const isMarshalled = (item: Record<string, any>) => Object.values(item).every((value) => value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 1 && /^(S|N|B|SS|NS|BS|M|L|NULL|BOOL)$/.test(Object.keys(value)[0]));

/** A TransactWriteItems' table units by DynamoDB's rule: 2 per item per KB (Updates and Deletes taken as 1 KB). */
function transactionTableUnits(input: Record<string, any>): number {
  return (input.TransactItems ?? []).reduce((sum: number, entry: Record<string, any>) => {
    const item = entry.Put?.Item as Record<string, any> | undefined;
    const kb = item ? Math.max(1, Math.ceil(itemSizeBytes(item, { marshalled: isMarshalled(item) }) / 1024)) : 1;
    return sum + 2 * kb;
  }, 0);
}

function tableOf(input: Record<string, any>): string {
  if (typeof input.TableName === 'string') return input.TableName;
  const transactTables = (input.TransactItems ?? []).map((item: Record<string, any>) => Object.values(item)[0]?.TableName).filter(Boolean);
  if (transactTables.length > 0) return [...new Set(transactTables)].join('+');
  return Object.keys(input.RequestItems ?? {}).join('+') || '?';
}

export function attachDynamoMeter(client: Stack, options: { consumedCapacity: boolean }): DynamoMeter {
  const entries: MeterEntry[] = [];
  const name = `benchDynamoMeter${(meters += 1)}`;
  client.middlewareStack.add(
    (next: (args: any) => Promise<any>, context: { commandName?: string }) => async (args: { input: Record<string, any> }) => {
      const operation = (context.commandName ?? '?').replace(/Command$/, '');
      const table = tableOf(args.input);
      const index = typeof args.input.IndexName === 'string' ? args.input.IndexName : undefined;
      if (options.consumedCapacity) args.input.ReturnConsumedCapacity = 'INDEXES';
      const isRead = READS.has(operation);
      try {
        const result = await next(args);
        const consumed = result.output?.ConsumedCapacity;
        type Consumed = { CapacityUnits?: number; GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }> };
        const list: Consumed[] = Array.isArray(consumed) ? consumed : consumed ? [consumed] : [];
        const indexUnits = list.reduce((sum, c) => sum + Object.values(c.GlobalSecondaryIndexes ?? {}).reduce((s2, i) => s2 + (i.CapacityUnits ?? 0), 0), 0);
        const units =
          operation === 'TransactWriteItems' && options.consumedCapacity ? transactionTableUnits(args.input) + indexUnits : list.reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
        entries.push({ operation, table, index, readUnits: isRead ? units : 0, writeUnits: isRead ? 0 : units, indexUnits, conditionFailed: false, at: Date.now() });
        return result;
      } catch (error) {
        const failed = (error as Error)?.name === 'ConditionalCheckFailedException' || (error as Error)?.name === 'TransactionCanceledException';
        if (failed) {
          const item = (error as { Item?: Record<string, unknown> }).Item;
          const perItem = item ? Math.max(1, Math.ceil(itemSizeBytes(item, { marshalled: true }) / 1024)) : 1;
          const writeUnits = (error as Error).name === 'TransactionCanceledException' ? 2 * (args.input.TransactItems?.length ?? 1) : perItem;
          entries.push({ operation, table, index, readUnits: 0, writeUnits, indexUnits: 0, conditionFailed: true, at: Date.now() });
        } else {
          entries.push({ operation, table, index, readUnits: 0, writeUnits: 0, indexUnits: 0, conditionFailed: false, at: Date.now() });
        }
        throw error;
      }
    },
    { step: 'initialize', name, priority: 'high' },
  );
  const pick = (filter?: (entry: MeterEntry) => boolean) => (filter ? entries.filter(filter) : entries);
  return {
    entries,
    counts: (filter) => {
      const counts: Record<string, number> = {};
      for (const entry of pick(filter)) counts[entry.operation] = (counts[entry.operation] ?? 0) + 1;
      return counts;
    },
    totals: (filter) => {
      const chosen = pick(filter);
      return {
        calls: chosen.length,
        readUnits: chosen.reduce((sum, entry) => sum + entry.readUnits, 0),
        writeUnits: chosen.reduce((sum, entry) => sum + entry.writeUnits, 0),
      };
    },
    reset: () => void (entries.length = 0),
    detach: () => void client.middlewareStack.remove(name),
  };
}
