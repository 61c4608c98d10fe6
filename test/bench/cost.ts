/**
 * Figure 6: cost per million extend tasks on AWS, from the measured figures
 * and public list prices. Every assumption is written into the result.
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
  ],
  /** REST API, first 333 million requests a month. */
  apiGatewayRestPerMillionRequests: 3.5,
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
} as const;

/** What the figures do not say, fixed here (and written into the result). */
export const ASSUMPTIONS = {
  /** Requests through API Gateway per task: the extend, the upstream's three callbacks, one GET by the client. */
  apiRequestsPerTask: 5,
  callbacksPerTask: 3,
  clientGetsPerTask: 1,
  /** Status changes per task (pending, processing, completed); each may need a notifier invocation. */
  statusChangesPerTask: 3,
  /** Notifier invocations per status change: 1 = no batching (upper bound; a busy stream batches up to 10). */
  notifierInvocationsPerChange: 1,
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
    xrayTraceId: '1-6745c3a1-0b1c2d3e4f5a6b7c8d9e0f1a',
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

export interface CostResult {
  readonly prices: typeof PRICES;
  readonly assumptions: typeof ASSUMPTIONS & { readonly coldStartShare: number };
  readonly lines: CostLine[];
  readonly totalUsdPerMillionTasks: number;
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

export function costPerMillion(input: {
  warm: readonly WarmResult[];
  cold: readonly ColdResult[];
  units: UnitsResult;
  coldStartShare: number;
}): CostResult {
  const warm = new Map(input.warm.map((w) => [w.functionName, w]));
  const cold = new Map(input.cold.map((c) => [c.functionName, c]));
  const platformBytes = PLATFORM_LINES.reduce((sum, line) => sum + Buffer.byteLength(line) + 1 + ASSUMPTIONS.logEventOverheadBytes, 0);
  const assumptions = { ...ASSUMPTIONS, platformLogBytesPerInvocation: platformBytes, coldStartShare: input.coldStartShare };
  const invocations: Record<string, number> = {
    extend: 1,
    callback: ASSUMPTIONS.callbacksPerTask,
    'get-task': ASSUMPTIONS.clientGetsPerTask,
    notifier: ASSUMPTIONS.statusChangesPerTask * ASSUMPTIONS.notifierInvocationsPerChange,
    authorizer: ASSUMPTIONS.authorizerInvocationsPerTask,
  };
  const lines: CostLine[] = [];
  const million = 1_000_000;
  const add = (item: string, quantityPerTask: number, unit: string, usdPerUnit: number) =>
    lines.push({ item, quantityPerTask: round(quantityPerTask, 6), unit, usdPerMillionTasks: round(quantityPerTask * usdPerUnit * million, 4) });

  add('API Gateway REST requests', ASSUMPTIONS.apiRequestsPerTask, 'requests', PRICES.apiGatewayRestPerMillionRequests / million);
  const totalInvocations = Object.values(invocations).reduce((sum, n) => sum + n, 0);
  add('Lambda requests', totalInvocations, 'invocations', PRICES.lambdaPerMillionRequests / million);
  let logBytes = 0;
  for (const [name, count] of Object.entries(invocations)) {
    const w = warm.get(name);
    const c = cold.get(name);
    const memoryGb = FUNCTION_NEEDS[name].memorySize / 1024;
    // Billed per invocation, rounded up to the millisecond: about half a millisecond over the mean.
    const warmMs = (w?.real.ms.mean ?? NaN) + 0.5;
    const coldExtraMs = c ? Math.max(0, c.real.initPlusFirstMs.p50 - (w?.real.ms.mean ?? 0)) : 0;
    const ms = warmMs + input.coldStartShare * coldExtraMs;
    add(`Lambda ${name} duration (${count} x ${round(ms, 1)} ms at ${FUNCTION_NEEDS[name].memorySize} MB)`, count * ms * memoryGb, 'GB-ms', PRICES.lambdaArmPerGbSecond / 1000);
    logBytes += count * ((w?.real.logBytesPerInvocation ?? 0) + (w?.real.logLinesPerInvocation ?? 0) * ASSUMPTIONS.logEventOverheadBytes + platformBytes);
  }
  add('DynamoDB write request units', input.units.perTask.writeUnits, 'WRU', PRICES.dynamoDbPerMillionWriteRequestUnits / million);
  add('DynamoDB read request units', input.units.perTask.readUnits, 'RRU', PRICES.dynamoDbPerMillionReadRequestUnits / million);
  add('DynamoDB Streams reads (by Lambda)', ASSUMPTIONS.statusChangesPerTask, 'records', 0);
  const extendWarm = warm.get('extend');
  const secretCalls = (extendWarm?.secretReadsPer1000 ?? 0) / 1000 + input.coldStartShare * (cold.get('extend')?.secretReadsPerColdStart ?? 1);
  add('Secrets Manager GetSecretValue', secretCalls, 'calls', PRICES.secretsManagerPer10kApiCalls / 10_000);
  logBytes += ASSUMPTIONS.apiRequestsPerTask * (accessLogLineBytes() + ASSUMPTIONS.logEventOverheadBytes);
  add('CloudWatch Logs ingestion (Lambda + API access log)', logBytes / 1024, 'KB', PRICES.cloudWatchLogsIngestionPerGb / 1024 ** 2);
  const entryPoints = ASSUMPTIONS.apiRequestsPerTask + invocations.notifier;
  add('X-Ray traces recorded', entryPoints * ASSUMPTIONS.xraySampledShare, 'traces', PRICES.xrayPerMillionTracesRecorded / million);

  const reconciler = warm.get('reconciler');
  const reconcilerGbS = ((reconciler?.real.ms.mean ?? 0) + 0.5) / 1000 * (FUNCTION_NEEDS.reconciler.memorySize / 1024);
  const runs = ASSUMPTIONS.reconcilerRunsPerMonth;
  // DynamoDB Local answers 0 units for a Query that finds nothing; DynamoDB is assumed to charge its minimum of 0.5 RRU (eventually consistent).
  const reconcilerReadUnits = Math.max(input.units.reconcilerRun.readUnits, 0.5 * input.units.reconcilerRun.calls);
  const fixedMonthly = [
    {
      item: `reconciler, every minute (${runs} runs of ${round(reconciler?.real.ms.mean ?? NaN, 1)} ms, ${input.units.reconcilerRun.calls} Queries and ${reconcilerReadUnits} RRU each with nothing due)`,
      usd: round(runs * (reconcilerGbS * PRICES.lambdaArmPerGbSecond + PRICES.lambdaPerMillionRequests / million + (reconcilerReadUnits * PRICES.dynamoDbPerMillionReadRequestUnits) / million), 4),
    },
    deliveryWorkerLine(input.units),
    { item: 'Secrets Manager: the upstream key secret', usd: PRICES.secretsManagerPerSecretMonth },
  ];
  return {
    prices: PRICES,
    assumptions,
    lines,
    totalUsdPerMillionTasks: round(lines.reduce((sum, line) => sum + line.usdPerMillionTasks, 0), 2),
    perUpstreamSecondUsdPerMillionTasks: round(million * 1 * (FUNCTION_NEEDS.extend.memorySize / 1024) * PRICES.lambdaArmPerGbSecond, 2),
    fixedMonthly,
    notes: [
      'Lambda durations are the measured warm means in process (DynamoDB Local and the upstream simulator on loopback answer in about a millisecond); in AWS each DynamoDB call takes a few ms and the upstream as long as it takes: see perUpstreamSecondUsdPerMillionTasks.',
      `Cold starts: ${input.coldStartShare * 100}% of invocations assumed cold, each billed its measured init + first invocation (p50) instead of a warm one.`,
      'Excluded: data transfer out (answers are under 1 KB), CloudWatch alarms and metrics, SQS dead-letter traffic (failures only), X-Ray trace retrieval/scans, free tiers.',
    ],
  };
}
