/**
 * The local stand-in for a Lambda event source mapping on a DynamoDB
 * stream: polls DynamoDB Local's stream with @aws-sdk/client-dynamodb-streams
 * and hands batches, in the Lambda DynamoDBStreamEvent record shape, to
 * `onRecords` (typically a handler invoked in-process).
 *
 * - shards open at start are read from "now on": their existing records are
 *   skipped (read from TRIM_HORIZON and dropped; DynamoDB Local's LATEST
 *   iterators lose the first records of an empty shard once other tables
 *   have written, see below); shards that appear later are read from
 *   TRIM_HORIZON, after their parent is done;
 * - TrimmedDataAccessException (DynamoDB Local throws it for an iterator
 *   taken on an empty shard, as soon as the shard gets its first record):
 *   read again after the last record seen, or from TRIM_HORIZON when none
 *   was, so no record is lost (at least once, as Lambda);
 * - GetRecords about every `intervalMs` (200 ms) per shard, at once again after a full page;
 * - optional Lambda event filter patterns (functions/domain/task-events.ts),
 *   evaluated with the same matcher the domain documents;
 * - a batch that throws is retried (bounded, with backoff) before moving on,
 *   and a `{batchItemFailures}` answer retries from the earliest failed
 *   record, as with ReportBatchItemFailures; after `maxRetries` the records
 *   are given up and reported through onError (the on-failure destination).
 */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  TrimmedDataAccessException,
  type _Record,
  type AttributeValue as StreamAttributeValue,
  type Shard,
  type ShardIteratorType,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { matchesFilterPattern, type FilterPattern } from '../../functions/domain/task-events';
import { localDynamoClient } from './dynamodb-local';
import { sleep } from './net';

export interface StreamPollerOptions {
  readonly endpoint: string;
  readonly tableName: string;
  readonly onRecords: (records: DynamoDBRecord[]) => unknown;
  readonly intervalMs?: number;
  /** GetRecords Limit, and the largest batch handed over (Lambda's BatchSize). */
  readonly batchSize?: number;
  /** Lambda event filter patterns: a record passes when any pattern matches. */
  readonly filterPatterns?: readonly FilterPattern[];
  /** Retries of a failing batch before its records are given up (Lambda's MaximumRetryAttempts). */
  readonly maxRetries?: number;
  readonly retryDelayMs?: number;
  /** How often the stream is described to find new shards. */
  readonly shardDiscoveryMs?: number;
  readonly region?: string;
  readonly onError?: (message: string, error?: unknown) => void;
}

export interface StreamPoller {
  readonly streamArn: string;
  /** Records handed to onRecords successfully. */
  readonly delivered: number;
  /** Records given up after the retries. */
  readonly givenUp: number;
  /** Records dropped by the filter patterns. */
  readonly filteredOut: number;
  stop(): Promise<void>;
}

interface ShardState {
  readonly shardId: string;
  readonly parentShardId?: string;
  iterator?: string;
  lastSequenceNumber?: string;
  startAt: ShardIteratorType;
  /** The sequence number an AFTER_SEQUENCE_NUMBER iterator was last refused for (then: TRIM_HORIZON). */
  trimmedAfter?: string;
}

/** Lambda's event carries binary attributes as base64, the SDK as bytes; the rest is the same JSON. */
function toLambdaAttributes(value: unknown): any {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(toLambdaAttributes);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, toLambdaAttributes(v)]));
  }
  return value;
}

/** One SDK stream record in the shape a Lambda DynamoDBStreamEvent record has. */
export function toLambdaRecord(record: _Record, streamArn: string, region: string): DynamoDBRecord {
  const ddb = record.dynamodb ?? {};
  const images = (image: Record<string, StreamAttributeValue> | undefined) => (image === undefined ? undefined : toLambdaAttributes(image));
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: record.awsRegion ?? region,
    dynamodb: {
      ...(ddb.ApproximateCreationDateTime && { ApproximateCreationDateTime: Math.floor(ddb.ApproximateCreationDateTime.getTime() / 1000) }),
      Keys: images(ddb.Keys),
      ...(ddb.NewImage && { NewImage: images(ddb.NewImage) }),
      ...(ddb.OldImage && { OldImage: images(ddb.OldImage) }),
      SequenceNumber: ddb.SequenceNumber,
      SizeBytes: ddb.SizeBytes,
      StreamViewType: ddb.StreamViewType,
    },
    eventSourceARN: streamArn,
    ...(record.userIdentity && { userIdentity: { type: record.userIdentity.Type, principalId: record.userIdentity.PrincipalId } }),
  } as DynamoDBRecord;
}

export async function startStreamPoller(options: StreamPollerOptions): Promise<StreamPoller> {
  const region = options.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const intervalMs = options.intervalMs ?? 200;
  const batchSize = options.batchSize ?? 100;
  const maxRetries = options.maxRetries ?? 3;
  const retryDelayMs = options.retryDelayMs ?? 200;
  const discoveryMs = options.shardDiscoveryMs ?? 1000;
  const onError = options.onError ?? ((message: string) => console.error(`stream poller (${options.tableName}): ${message}`));

  const dynamo = localDynamoClient(options.endpoint);
  const streams = new DynamoDBStreamsClient({ endpoint: options.endpoint, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  let streamArn: string;
  try {
    const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: options.tableName }));
    if (!Table?.LatestStreamArn || Table.StreamSpecification?.StreamEnabled === false) {
      throw new Error(`table ${options.tableName} has no stream`);
    }
    streamArn = Table.LatestStreamArn;
  } finally {
    dynamo.destroy();
  }

  const shards = new Map<string, ShardState>();
  const finished = new Set<string>();
  let delivered = 0;
  let givenUp = 0;
  let filteredOut = 0;
  let stopped = false;

  async function describeShards(): Promise<Shard[]> {
    const all: Shard[] = [];
    let start: string | undefined;
    do {
      const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: start }));
      all.push(...(StreamDescription?.Shards ?? []));
      start = StreamDescription?.LastEvaluatedShardId;
    } while (start);
    return all;
  }

  async function discover(initial: boolean): Promise<void> {
    for (const shard of await describeShards()) {
      const id = shard.ShardId!;
      if (shards.has(id) || finished.has(id)) continue;
      const closed = shard.SequenceNumberRange?.EndingSequenceNumber !== undefined;
      if (initial) {
        // What happened before start is history: only open shards, from now on (see skipHistory).
        if (closed) finished.add(id);
        else shards.set(id, { shardId: id, startAt: 'TRIM_HORIZON' });
      } else {
        shards.set(id, { shardId: id, parentShardId: shard.ParentShardId, startAt: 'TRIM_HORIZON' });
      }
    }
  }

  async function iteratorFor(state: ShardState): Promise<string | undefined> {
    const input = state.lastSequenceNumber
      ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER' as const, SequenceNumber: state.lastSequenceNumber }
      : { ShardIteratorType: state.startAt };
    const { ShardIterator } = await streams.send(new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: state.shardId, ...input }));
    return ShardIterator;
  }

  /** Hands records over, retrying as an event source mapping does; returns when done or given up. */
  async function hand(records: DynamoDBRecord[]): Promise<void> {
    let pending = records;
    for (let attempt = 0; pending.length > 0; attempt += 1) {
      let failedFrom: number | undefined;
      try {
        const result = (await options.onRecords(pending)) as { batchItemFailures?: { itemIdentifier?: string }[] } | undefined;
        const failures = result?.batchItemFailures ?? [];
        if (failures.length === 0) {
          delivered += pending.length;
          return;
        }
        const failedIds = new Set(failures.map((f) => f.itemIdentifier));
        const index = pending.findIndex((r) => failedIds.has(r.dynamodb?.SequenceNumber));
        failedFrom = index < 0 ? 0 : index;
        delivered += failedFrom;
      } catch (error) {
        onError(`batch of ${pending.length} record(s) failed: ${(error as Error)?.message ?? String(error)}`, error);
        failedFrom = 0;
      }
      pending = pending.slice(failedFrom);
      if (attempt >= maxRetries) {
        givenUp += pending.length;
        onError(`gave up on ${pending.length} record(s) after ${maxRetries} retries (sequence numbers ${pending.map((r) => r.dynamodb?.SequenceNumber).join(', ')})`);
        return;
      }
      if (stopped) return;
      await sleep(retryDelayMs * (attempt + 1));
    }
  }

  /** Polls one shard once; true when it returned a full page (more is waiting: poll again at once). */
  async function pollShard(state: ShardState): Promise<boolean> {
    if (state.parentShardId && shards.has(state.parentShardId)) return false; // Parent first, for per-key order.
    state.iterator ??= await iteratorFor(state);
    if (state.iterator === undefined) {
      shards.delete(state.shardId);
      finished.add(state.shardId);
      return false;
    }
    let output;
    try {
      output = await streams.send(new GetRecordsCommand({ ShardIterator: state.iterator, Limit: batchSize }));
    } catch (error) {
      if (error instanceof ExpiredIteratorException) {
        state.iterator = undefined; // A new one after the last sequence number, next round.
        return false;
      }
      if (error instanceof TrimmedDataAccessException) {
        state.iterator = undefined;
        // Retry after the last record seen; if even that is refused, all that is left is new to us.
        if (state.lastSequenceNumber !== undefined && state.trimmedAfter === state.lastSequenceNumber) state.lastSequenceNumber = undefined;
        state.trimmedAfter = state.lastSequenceNumber;
        state.startAt = 'TRIM_HORIZON';
        return false;
      }
      throw error;
    }
    const records = (output.Records ?? []).map((record) => toLambdaRecord(record, streamArn, region));
    if (records.length > 0) {
      state.lastSequenceNumber = records[records.length - 1].dynamodb?.SequenceNumber;
      const patterns = options.filterPatterns;
      const passing = patterns && patterns.length > 0 ? records.filter((r) => patterns.some((p) => matchesFilterPattern(r, p))) : records;
      filteredOut += records.length - passing.length;
      if (passing.length > 0) await hand(passing);
    }
    state.iterator = output.NextShardIterator;
    if (state.iterator === undefined) {
      shards.delete(state.shardId);
      finished.add(state.shardId);
    }
    return records.length >= batchSize;
  }

  /** Positions an open shard after its last record, dropping what it holds: it happened before start. */
  async function skipHistory(state: ShardState): Promise<void> {
    let iterator = await iteratorFor(state);
    for (let page = 0; iterator !== undefined && page < 10_000; page += 1) {
      const output = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      const records = output.Records ?? [];
      if (records.length > 0) state.lastSequenceNumber = records[records.length - 1].dynamodb?.SequenceNumber;
      iterator = output.NextShardIterator;
      if (records.length === 0) break;
    }
    state.iterator = iterator;
  }

  await discover(true);
  // Done before start() resolves, so whatever is written afterwards is seen.
  await Promise.all([...shards.values()].map(skipHistory));

  const loop = (async () => {
    let lastDiscovery = Date.now();
    while (!stopped) {
      let backlog = false;
      try {
        if (Date.now() - lastDiscovery >= discoveryMs) {
          lastDiscovery = Date.now();
          await discover(false);
        }
        for (const state of [...shards.values()]) {
          if (stopped) break;
          if (await pollShard(state)) backlog = true;
        }
      } catch (error) {
        if (!stopped) onError(`polling failed: ${(error as Error)?.message ?? String(error)}`, error);
      }
      // Like Lambda's poller under load: a full page means more is waiting, so no pause.
      if (!stopped && !backlog) await sleep(intervalMs);
    }
  })();

  return {
    streamArn,
    get delivered() {
      return delivered;
    },
    get givenUp() {
      return givenUp;
    },
    get filteredOut() {
      return filteredOut;
    },
    stop: async () => {
      stopped = true;
      await loop;
      streams.destroy();
    },
  };
}
