/**
 * Figure 6: cost per million extend tasks on AWS, from the measured figures
 * and public list prices, for each front the upstream's callbacks can come
 * through (the REST API as before, the callback function's URL as now, an
 * HTTP API for comparison), at 1, 3 and 6 callbacks per task, with and
 * without a notify_hook. Every assumption is written into the result.
 *
 * One model counts every call: a task's requests, invocations and DynamoDB
 * calls all follow from its callbacks, its status changes and the task-changes consumer's
 * batching (one parameter, used for invocations and for the client reads
 * alike). The measurement gives only what a call costs: Lambda milliseconds
 * and log bytes per invocation (warm, on the Lambda runtime's Node major),
 * DynamoDB units per call (phase-units.ts).
 */
import { ACCESS_LOG_FIELDS } from '../../lib/api';
import { FUNCTION_NEEDS } from '../../lib/function-needs';
import type { ColdResult } from './phase-cold';
import type { UnitsResult } from './phase-units';
import type { WarmResult } from './phase-warm';
import { round } from './stats';

/** Public list prices, us-east-1, on-demand, no free tier. */
export const PRICES = {
  region: 'us-east-1',
  asOf: '2025-11 (DynamoDB on-demand after the 2024-11-01 price cut; Lambda INIT billed since 2025-08-01)',
  sources: [
    'https://aws.amazon.com/api-gateway/pricing/',
    'https://aws.amazon.com/lambda/pricing/',
    'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    'https://aws.amazon.com/secrets-manager/pricing/',
    'https://aws.amazon.com/cloudwatch/pricing/',
    'https://aws.amazon.com/xray/pricing/',
    'https://aws.amazon.com/s3/pricing/',
  ],
  /** REST API, first 333 million requests a month. */
  apiGatewayRestPerMillionRequests: 3.5,
  /** HTTP API, first 300 million requests a month (metered in 512 KB steps; a callback is one). */
  apiGatewayHttpPerMillionRequests: 1.0,
  /** A Lambda Function URL has no price of its own: only the function's requests and duration. */
  functionUrlPerMillionRequests: 0,
  /** Arm (Graviton), first 7.5 billion GB-seconds a month. */
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaPerMillionRequests: 0.2,
  dynamoDbPerMillionWriteRequestUnits: 0.625,
  dynamoDbPerMillionReadRequestUnits: 0.125,
  /** GetRecords by a Lambda trigger on a DynamoDB stream is free. */
  dynamoDbStreamsReadByLambda: 0,
  secretsManagerPer10kApiCalls: 0.05,
  secretsManagerPerSecretMonth: 0.4,
  cloudWatchLogsIngestionPerGb: 0.5,
  xrayPerMillionTracesRecorded: 5.0,
  /** S3 Standard, us-east-1 (https://aws.amazon.com/s3/pricing/): PUT, COPY, POST, LIST requests (a multipart upload's Create, each UploadPart and Complete are each one). */
  s3PutPer1000Requests: 0.005,
  s3GetPer1000Requests: 0.0004,
  /** First 50 TB a month. */
  s3StandardPerGbMonth: 0.023,
  /** Data transfer out to the internet, first 10 TB a month (the first 100 GB a month free, not counted). */
  dataTransferOutPerGb: 0.09,
} as const;

export type CallbackFront = 'rest-api' | 'function-url' | 'http-api';
export const FRONTS: readonly CallbackFront[] = ['rest-api', 'function-url', 'http-api'];
export const CALLBACK_COUNTS = [1, 3, 6] as const;

/**
 * The upstream's callbacks per task: straight to completed (1); the
 * simulator's and most aggregators' pending, processing, completed (3, the
 * first a duplicate of what the extend recorded); and with progress reports
 * (6). Each costs a GetItem and an UpdateItem, applied or refused by its
 * condition (DynamoDB bills both).
 */
export const CALLBACK_SEQUENCES: Readonly<Record<(typeof CALLBACK_COUNTS)[number], readonly string[]>> = {
  1: ['completed'],
  3: ['pending', 'processing', 'completed'],
  6: ['pending', 'processing', 'processing', 'processing', 'processing', 'completed'],
};

const RANK: Record<string, number> = { pending: 1, processing: 2, completed: 3 };

/** Status changes of a task: pending (the extend's answer), then each forward move its callbacks make. */
export function statusChanges(sequence: readonly string[]): number {
  let rank = RANK.pending;
  let changes = 1;
  for (const state of sequence) {
    if (RANK[state] > rank) {
      rank = RANK[state];
      changes += 1;
    }
  }
  return changes;
}

/** What the figures do not say, fixed here (and written into the result). */
export const ASSUMPTIONS = {
  /** Client requests per task besides the extend: one GET. */
  clientGetsPerTask: 1,
  /**
   * Status changes per task-changes invocation. 1 = each change alone in its
   * batch (the upper bound; a busy stream batches up to 10). Counted the
   * same way for the task-changes consumer's invocations and for its client reads (one
   * GetItem of the client per invocation: a batch holds one client's
   * changes at worst once each).
   */
  changesPerConsumerInvocation: 1,
  /** API Gateway caches the authorizer's answer 300 s per key: assumed 1 invocation per 100 client requests (2 per task). */
  authorizerInvocationsPerTask: 0.02,
  /** Lambda's START/END/REPORT lines (with X-Ray), one set per invocation. */
  platformLogBytesPerInvocation: 0,
  /** CloudWatch Logs bills 26 bytes of overhead per log event. */
  logEventOverheadBytes: 26,
  /** X-Ray default sampling (1 request/s, then 5%): at volume about 5% of entry points traced. */
  xraySampledShare: 0.05,
  reconcilerRunsPerMonth: 43_200,
};

const PLATFORM_LINES = [
  'START RequestId: 8f507cfc-2c1a-4697-b07a-ac58fc914c95 Version: $LATEST',
  'END RequestId: 8f507cfc-2c1a-4697-b07a-ac58fc914c95',
  'REPORT RequestId: 8f507cfc-2c1a-4697-b07a-ac58fc914c95\tDuration: 12.16 ms\tBilled Duration: 13 ms\tMemory Size: 512 MB\tMax Memory Used: 94 MB\t\nXRAY TraceId: 1-6745c3a1-0b1c2d3e4f5a6b7c8d9e0f1a\tSegmentId: 0b1c2d3e4f5a6b7c\tSampled: true\t',
];

/** One access-log line of the deployed stage (lib/api.ts ACCESS_LOG_FIELDS) with realistic values. */
export function accessLogLineBytes(): number {
  const sample: Record<string, string> = {
    requestId: '8f507cfc-2c1a-4697-b07a-ac58fc914c95',
    extendedRequestId: 'BxJ5hFx0IAMEbXw=',
    requestTime: '24/Nov/2026:17:26:03 +0000',
    requestTimeEpoch: '1795627563123',
    ip: '203.0.113.7',
    userAgent: 'python-requests/2.32.3',
    httpMethod: 'POST',
    resourcePath: '/luma/generations/{task_id}/extend',
    protocol: 'HTTP/1.1',
    status: '200',
    responseLength: '231',
    responseLatency: '412',
    integrationLatency: '409',
    integrationStatus: '200',
    principalId: '0b6f5a58-1d2c-4b7e-9f3a-2c1d0e9f8a7b',
    errorMessage: '-',
    errorResponseType: '-',
  };
  const line = JSON.stringify(Object.fromEntries(Object.keys(ACCESS_LOG_FIELDS).map((field) => [field, sample[field] ?? '-'])));
  return Buffer.byteLength(line) + 1;
}

export interface CostLine {
  readonly item: string;
  readonly quantityPerTask: number;
  readonly unit: string;
  readonly usdPerMillionTasks: number;
}

export interface Scenario {
  readonly front: CallbackFront;
  readonly callbacks: (typeof CALLBACK_COUNTS)[number];
  readonly notifyHook: boolean;
}

export interface ScenarioCost extends Scenario {
  readonly statusChanges: number;
  readonly totalUsdPerMillionTasks: number;
  /** Of which the fronts (API Gateway, or nothing for a function URL). */
  readonly frontUsdPerMillionTasks: number;
}

export interface CostResult {
  readonly prices: typeof PRICES;
  readonly assumptions: typeof ASSUMPTIONS & { readonly coldStartShare: number; readonly runtime: string };
  /** Every front, callback count and notify_hook choice. */
  readonly scenarios: ScenarioCost[];
  /** Line by line, 3 callbacks and a notify_hook: before (REST API) and after (the callback function's URL). */
  readonly before: { readonly lines: CostLine[]; readonly totalUsdPerMillionTasks: number };
  readonly after: { readonly lines: CostLine[]; readonly totalUsdPerMillionTasks: number };
  /** What one more callback per task adds, by front. */
  readonly perExtraCallbackUsdPerMillionTasks: Readonly<Record<CallbackFront, number>>;
  /** Each further second the upstream takes to accept a submission (extend waits for it at 512 MB). */
  readonly perUpstreamSecondUsdPerMillionTasks: number;
  readonly fixedMonthly: { readonly item: string; readonly usd: number }[];
  readonly notes: string[];
}

/** The delivery worker, every minute, with nothing due: its Queries of the due-message index, an invocation and its duration. */
function deliveryWorkerLine(units: UnitsResult): { item: string; usd: number } {
  // Every minute by default, like the reconciler.
  const runs = ASSUMPTIONS.reconcilerRunsPerMonth;
  const run = units.deliveryWorkerRun;
  const readUnits = Math.max(run.readUnits, 0.5 * run.calls);
  const gbS = ((run.ms + 0.5) / 1000) * (FUNCTION_NEEDS['delivery-worker'].memorySize / 1024);
  return {
    item: `delivery worker, every minute (${runs} runs of ${run.ms} ms measured in process, ${run.calls} Queries and ${readUnits} RRU each with nothing due)`,
    usd: round(runs * (gbS * PRICES.lambdaArmPerGbSecond + PRICES.lambdaPerMillionRequests / 1_000_000 + (readUnits * PRICES.dynamoDbPerMillionReadRequestUnits) / 1_000_000), 4),
  };
}

/**
 * What the stored media (issue 10) add per completed task: not measured on
 * AWS, so every quantity is an assumption written here, except the copy's
 * throughput (the assets phase, 10 MB case), which sets the asset worker's
 * billed duration.
 */
export const STORED_MEDIA_ASSUMPTIONS = {
  /** A 5 s 1080p video is about 8 MB; the watermarked and the no-watermark one are both stored, with two ~150 KB images. */
  videoBytes: 8_000_000,
  videosPerTask: 2,
  imageBytes: 150_000,
  imagesPerTask: 2,
  /** Every object is written with one PutObject (the upstreams declare their lengths). */
  putsPerTask: 4,
  /** The client downloads each stored medium once (each download is a GET and its bytes out to the internet). */
  downloadsPerMedium: 1,
  /** Kept for taskRetentionDays (90 days = 2.96 months), then expired by the lifecycle rule (expiry is free). */
  retentionMonths: 90 / 30.4,
  /** The job's writes: its PutItem, claim and settle (1 WRU each), the task's settling UpdateItem (2 WRU: a ~1.5 KB item), the completed message's release (2 WRU); reads: the task (1 RRU, strongly consistent, ~1.5 KB), the message, the client, the endpoint and the earlier-pending Query (0.5 to 1 RRU each). */
  dynamoDbWriteUnits: 7,
  dynamoDbReadUnits: 4,
  /** One asynchronous invocation per task; its first attempt of the completed notification is included in its duration (a few ms). */
  workerInvocationsPerTask: 1,
} as const;

export interface StoredMediaCost {
  readonly assumptions: typeof STORED_MEDIA_ASSUMPTIONS & { readonly copyMbPerSecond: number };
  readonly lines: CostLine[];
  readonly totalUsdPerMillionTasks: number;
  /** Of which the bytes out to the clients (the upstream's CDN served them before). */
  readonly dataTransferUsdPerMillionTasks: number;
  /** The asset worker's sweep, every minute with nothing due: 4 Queries of its due index and an invocation. */
  readonly sweepMonthlyUsd: number;
}

/** The stored media's cost per million completed tasks, at the copy throughput measured (MB/s). */
export function storedMediaCost(copyMbPerSecond: number): StoredMediaCost {
  const a = STORED_MEDIA_ASSUMPTIONS;
  const million = 1_000_000;
  const lines: CostLine[] = [];
  const add = (item: string, quantityPerTask: number, unit: string, usdPerUnit: number) =>
    lines.push({ item, quantityPerTask: round(quantityPerTask, 6), unit, usdPerMillionTasks: round(quantityPerTask * usdPerUnit * million, 4) });
  const bytes = a.videoBytes * a.videosPerTask + a.imageBytes * a.imagesPerTask;
  const gb = bytes / 1024 ** 3;
  const media = a.videosPerTask + a.imagesPerTask;
  add('S3 PUT requests (one PutObject per medium)', a.putsPerTask, 'requests', PRICES.s3PutPer1000Requests / 1000);
  add(`S3 Standard storage (${round(bytes / 1e6, 1)} MB for ${round(a.retentionMonths, 2)} months)`, gb * a.retentionMonths, 'GB-months', PRICES.s3StandardPerGbMonth);
  add('S3 GET requests (each medium downloaded once)', media * a.downloadsPerMedium, 'requests', PRICES.s3GetPer1000Requests / 1000);
  add('Data transfer out (the downloads)', gb * a.downloadsPerMedium, 'GB', PRICES.dataTransferOutPerGb);
  add('Lambda requests (the asset worker)', a.workerInvocationsPerTask, 'invocations', PRICES.lambdaPerMillionRequests / million);
  const ms = (bytes / 1e6 / copyMbPerSecond) * 1000;
  add(`Lambda asset-worker duration (${round(ms, 0)} ms at ${FUNCTION_NEEDS['asset-worker'].memorySize} MB, at the ${round(copyMbPerSecond, 1)} MB/s measured)`, ms * (FUNCTION_NEEDS['asset-worker'].memorySize / 1024), 'GB-ms', PRICES.lambdaArmPerGbSecond / 1000);
  add('DynamoDB write request units (job, task, message)', a.dynamoDbWriteUnits, 'WRU', PRICES.dynamoDbPerMillionWriteRequestUnits / million);
  add('DynamoDB read request units (task, message, client, endpoint)', a.dynamoDbReadUnits, 'RRU', PRICES.dynamoDbPerMillionReadRequestUnits / million);
  const total = round(lines.reduce((sum, line) => sum + line.usdPerMillionTasks, 0), 2);
  const transfer = lines.find((line) => line.item.startsWith('Data transfer'))!.usdPerMillionTasks;
  const runs = ASSUMPTIONS.reconcilerRunsPerMonth;
  const sweepGbS = (20 / 1000) * (FUNCTION_NEEDS['asset-worker'].memorySize / 1024);
  const sweepMonthlyUsd = round(runs * (sweepGbS * PRICES.lambdaArmPerGbSecond + PRICES.lambdaPerMillionRequests / million + (4 * 0.5 * PRICES.dynamoDbPerMillionReadRequestUnits) / million), 4);
  return { assumptions: { ...a, copyMbPerSecond: round(copyMbPerSecond, 1) }, lines, totalUsdPerMillionTasks: total, dataTransferUsdPerMillionTasks: transfer, sweepMonthlyUsd };
}

export interface CostInput {
  /** The warm and cold figures of one runtime (the Lambda one's). */
  readonly warm: readonly WarmResult[];
  readonly cold: readonly ColdResult[];
  readonly units: UnitsResult;
  readonly coldStartShare: number;
  readonly runtime: string;
}

/** DynamoDB units of one call of `operation` on `table`, as measured over task lives. */
function unitsPerCall(units: UnitsResult, operation: string, table: string): { read: number; write: number } {
  const line = units.lines.find((l) => l.operation === operation && l.table.toLowerCase() === table);
  if (!line || line.callsPerTask === 0) throw new Error(`the units phase measured no ${operation} on ${table}`);
  return { read: line.readUnitsPerTask / line.callsPerTask, write: line.writeUnitsPerTask / line.callsPerTask };
}

export function scenarioCost(input: CostInput, scenario: Scenario): { lines: CostLine[]; total: number; front: number; changes: number } {
  const warm = new Map(input.warm.map((w) => [w.functionName, w]));
  const cold = new Map(input.cold.map((c) => [c.functionName, c]));
  const platformBytes = PLATFORM_LINES.reduce((sum, line) => sum + Buffer.byteLength(line) + 1 + ASSUMPTIONS.logEventOverheadBytes, 0);
  const sequence = CALLBACK_SEQUENCES[scenario.callbacks];
  const callbacks = sequence.length;
  const changes = statusChanges(sequence);
  // The one stream consumer runs for every status change, hook or not: each change has reactions (docs/stream-contract.md).
  const consumerInvocations = changes / ASSUMPTIONS.changesPerConsumerInvocation;
  // The callback through the REST API is measured on its REST event; through a URL or an HTTP API on the 2.0 event.
  const callbackFigures = scenario.front === 'rest-api' ? 'callback (REST event)' : 'callback';
  const invocations: [name: string, figures: string, count: number][] = [
    ['extend', 'extend', 1],
    ['callback', callbackFigures, callbacks],
    ['get-task', 'get-task', ASSUMPTIONS.clientGetsPerTask],
    ['task-changes', 'task-changes', consumerInvocations],
    ['authorizer', 'authorizer', ASSUMPTIONS.authorizerInvocationsPerTask],
  ];
  const lines: CostLine[] = [];
  const million = 1_000_000;
  const add = (item: string, quantityPerTask: number, unit: string, usdPerUnit: number) =>
    lines.push({ item, quantityPerTask: round(quantityPerTask, 6), unit, usdPerMillionTasks: round(quantityPerTask * usdPerUnit * million, 4) });

  const restRequests = 1 + ASSUMPTIONS.clientGetsPerTask + (scenario.front === 'rest-api' ? callbacks : 0);
  const httpApiRequests = scenario.front === 'http-api' ? callbacks : 0;
  add('API Gateway REST requests', restRequests, 'requests', PRICES.apiGatewayRestPerMillionRequests / million);
  if (httpApiRequests > 0) add('API Gateway HTTP API requests (callbacks)', httpApiRequests, 'requests', PRICES.apiGatewayHttpPerMillionRequests / million);
  if (scenario.front === 'function-url') add('Lambda Function URL requests (callbacks)', callbacks, 'requests', PRICES.functionUrlPerMillionRequests / million);
  const front = lines.reduce((sum, line) => sum + line.usdPerMillionTasks, 0);

  add('Lambda requests', invocations.reduce((sum, [, , count]) => sum + count, 0), 'invocations', PRICES.lambdaPerMillionRequests / million);
  let logBytes = 0;
  for (const [name, figures, count] of invocations) {
    if (count === 0) continue;
    const w = warm.get(figures);
    const c = cold.get(name);
    const memoryGb = FUNCTION_NEEDS[name].memorySize / 1024;
    // Billed per invocation, rounded up to the millisecond: about half a millisecond over the mean.
    const warmMs = (w?.real.ms.mean ?? NaN) + 0.5;
    const coldExtraMs = c ? Math.max(0, c.real.initPlusFirstMs.p50 - (w?.real.ms.mean ?? 0)) : 0;
    const ms = warmMs + input.coldStartShare * coldExtraMs;
    add(`Lambda ${name} duration (${round(count, 2)} x ${round(ms, 1)} ms at ${FUNCTION_NEEDS[name].memorySize} MB)`, count * ms * memoryGb, 'GB-ms', PRICES.lambdaArmPerGbSecond / 1000);
    logBytes += count * ((w?.real.logBytesPerInvocation ?? 0) + (w?.real.logLinesPerInvocation ?? 0) * ASSUMPTIONS.logEventOverheadBytes + platformBytes);
  }

  // DynamoDB: every call the model counts, at the units one such call was measured to take.
  const getTask = unitsPerCall(input.units, 'GetItem', 'tasks');
  // Issue 12: the task is written in one transaction with its client's open-task slot and the day's count, and its
  // final state is counted once by the usage reaction (marker, slot, count).
  const admitTask = unitsPerCall(input.units, 'TransactWriteItems', 'tasks+usage');
  const countFinal = unitsPerCall(input.units, 'TransactWriteItems', 'usage');
  const updateTask = unitsPerCall(input.units, 'UpdateItem', 'tasks');
  const calls: [what: string, count: number, units: { read: number; write: number }][] = [
    ['GetItem tasks (extend parent, callbacks, client GET)', 1 + callbacks + ASSUMPTIONS.clientGetsPerTask, getTask],
    ['TransactWriteItems tasks+usage (extend: task, slot, day count)', 1, admitTask],
    ['UpdateItem tasks (extend answer, callbacks)', 1 + callbacks, updateTask],
    ['TransactWriteItems usage (task-changes: the final state counted, the slot freed)', 1, countFinal],
  ];
  if (scenario.notifyHook) {
    calls.push(['GetItem clients (task-changes, once per invocation)', consumerInvocations, unitsPerCall(input.units, 'GetItem', 'clients')]);
    calls.push(['PutItem deliveries (task-changes, one per change)', changes, unitsPerCall(input.units, 'PutItem', 'deliveries')]);
  }
  add('DynamoDB write request units', calls.reduce((sum, [, count, u]) => sum + count * u.write, 0), 'WRU', PRICES.dynamoDbPerMillionWriteRequestUnits / million);
  add('DynamoDB read request units', calls.reduce((sum, [, count, u]) => sum + count * u.read, 0), 'RRU', PRICES.dynamoDbPerMillionReadRequestUnits / million);
  // One stream record per task written and per change applied (a write refused by its condition makes none).
  add('DynamoDB Streams reads (by Lambda)', 1 + changes, 'records', 0);

  const extendWarm = warm.get('extend');
  const secretCalls = (extendWarm?.secretReadsPer1000 ?? 0) / 1000 + input.coldStartShare * (cold.get('extend')?.secretReadsPerColdStart ?? 1);
  add('Secrets Manager GetSecretValue', secretCalls, 'calls', PRICES.secretsManagerPer10kApiCalls / 10_000);
  // API Gateway access logs, one line per request (an HTTP API's about as long); a function URL has none: the function logs its own line, counted above.
  logBytes += (restRequests + httpApiRequests) * (accessLogLineBytes() + ASSUMPTIONS.logEventOverheadBytes);
  add('CloudWatch Logs ingestion (Lambda + access logs)', logBytes / 1024, 'KB', PRICES.cloudWatchLogsIngestionPerGb / 1024 ** 2);
  // Entry points traced: every request (API Gateway does not trace; each function traces itself) and task-changes invocation.
  const entryPoints = 1 + ASSUMPTIONS.clientGetsPerTask + callbacks + consumerInvocations;
  add('X-Ray traces recorded', entryPoints * ASSUMPTIONS.xraySampledShare, 'traces', PRICES.xrayPerMillionTracesRecorded / million);
  return { lines, total: round(lines.reduce((sum, line) => sum + line.usdPerMillionTasks, 0), 2), front: round(front, 2), changes };
}

export function costPerMillion(input: CostInput): CostResult {
  const platformBytes = PLATFORM_LINES.reduce((sum, line) => sum + Buffer.byteLength(line) + 1 + ASSUMPTIONS.logEventOverheadBytes, 0);
  const scenarios: ScenarioCost[] = [];
  for (const front of FRONTS) {
    for (const callbacks of CALLBACK_COUNTS) {
      for (const notifyHook of [true, false]) {
        const cost = scenarioCost(input, { front, callbacks, notifyHook });
        scenarios.push({ front, callbacks, notifyHook, statusChanges: cost.changes, totalUsdPerMillionTasks: cost.total, frontUsdPerMillionTasks: cost.front });
      }
    }
  }
  const before = scenarioCost(input, { front: 'rest-api', callbacks: 3, notifyHook: true });
  const after = scenarioCost(input, { front: 'function-url', callbacks: 3, notifyHook: true });
  // From 3 to 6 callbacks the status changes stay 3: the difference is the callbacks' own cost.
  const perExtra = Object.fromEntries(
    FRONTS.map((front) => {
      const at = (callbacks: 3 | 6) => scenarios.find((s) => s.front === front && s.callbacks === callbacks && s.notifyHook)!.totalUsdPerMillionTasks;
      return [front, round((at(6) - at(3)) / 3, 2)];
    }),
  ) as Record<CallbackFront, number>;

  const warm = new Map(input.warm.map((w) => [w.functionName, w]));
  const reconciler = warm.get('reconciler');
  const reconcilerGbS = (((reconciler?.real.ms.mean ?? 0) + 0.5) / 1000) * (FUNCTION_NEEDS.reconciler.memorySize / 1024);
  const runs = ASSUMPTIONS.reconcilerRunsPerMonth;
  // DynamoDB Local answers 0 units for a Query that finds nothing; DynamoDB is assumed to charge its minimum of 0.5 RRU (eventually consistent).
  const reconcilerReadUnits = Math.max(input.units.reconcilerRun.readUnits, 0.5 * input.units.reconcilerRun.calls);
  return {
    prices: PRICES,
    assumptions: { ...ASSUMPTIONS, platformLogBytesPerInvocation: platformBytes, coldStartShare: input.coldStartShare, runtime: input.runtime },
    scenarios,
    before: { lines: before.lines, totalUsdPerMillionTasks: before.total },
    after: { lines: after.lines, totalUsdPerMillionTasks: after.total },
    perExtraCallbackUsdPerMillionTasks: perExtra,
    perUpstreamSecondUsdPerMillionTasks: round(1_000_000 * (FUNCTION_NEEDS.extend.memorySize / 1024) * PRICES.lambdaArmPerGbSecond, 2),
    fixedMonthly: [
      {
        item: `reconciler, every minute (${runs} runs of ${round(reconciler?.real.ms.mean ?? NaN, 1)} ms, ${input.units.reconcilerRun.calls} Queries and ${reconcilerReadUnits} RRU each with nothing due)`,
        usd: round(runs * (reconcilerGbS * PRICES.lambdaArmPerGbSecond + PRICES.lambdaPerMillionRequests / 1_000_000 + (reconcilerReadUnits * PRICES.dynamoDbPerMillionReadRequestUnits) / 1_000_000), 4),
      },
      deliveryWorkerLine(input.units),
      { item: 'Secrets Manager: the upstream key secret', usd: PRICES.secretsManagerPerSecretMonth },
    ],
    notes: [
      `Lambda milliseconds and log bytes: the warm means on ${input.runtime} (Lambda's major), in a process of their own against DynamoDB Local and the simulator on loopback (each answers in about a millisecond); in AWS each DynamoDB call takes a few ms and the upstream as long as it takes: see perUpstreamSecondUsdPerMillionTasks.`,
      `Cold starts: ${input.coldStartShare * 100}% of invocations assumed cold, each billed its measured init + first invocation (p50) instead of a warm one.`,
      'DynamoDB: calls counted by the model (the task-changes consumer: one client read per invocation, one attempt record per change, no retries), each at the mean units one such call took over the measured task lives.',
      'Excluded: data transfer out (answers are under 1 KB), CloudWatch alarms and metrics, SQS dead-letter traffic (failures only), X-Ray trace retrieval/scans, free tiers, forged callbacks.',
    ],
  };
}
