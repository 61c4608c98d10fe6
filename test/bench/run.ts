/**
 * `npm run bench`: speed and cost of luma-gateway, each figure side by side
 * with its bare baseline, in one run. Writes bench-results/latest.json (and
 * a timestamped copy) and prints a table. Counts: see config.ts
 * (BENCH_QUICK=1 for a smoke run). Figures (see each phase):
 *   1. bundles and cold starts (phase-cold.ts)
 *   2. warm latency in process (phase-warm.ts)
 *   3. throughput over HTTP, callbacks, notifications (phase-http.ts, phase-notify.ts)
 *   4. Secrets Manager reads (phase-warm.ts, phase-cold.ts)
 *   5. DynamoDB units per task (phase-units.ts)
 *   6. cost per million tasks (cost.ts)
 *   7. the extend path at its worst, against its timeout (phase-worst.ts)
 * Times are reported, never asserted; the deterministic figures are held by
 * test/budgets/budgets.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PROJECT_ROOT } from '../../lib/gateway-function';
import { localDynamoClient } from '../../lib/local/dynamodb-local';
import { startLocalStack } from '../../lib/local/local-stack';
import { startHookServer } from '../support/hook-server';
import { buildBundle, buildExport, DEFAULT_NODE_OPTIONS, FLOOR_OF, FUNCTION_NAMES, synthAssets, type BuiltBundle, type SynthesizedFunction } from './bundles';
import { benchConfig, type Phase } from './config';
import { captureStdout, type BenchContext } from './context';
import { costPerMillion, type CostResult } from './cost';
import { coldPhase, type ColdResult, type TransportResult } from './phase-cold';
import { httpPhase, type HttpResult } from './phase-http';
import { notifyPhase, type NotifyResult } from './phase-notify';
import { unitsPhase, type UnitsResult } from './phase-units';
import { warmPhase, type WarmResult } from './phase-warm';
import { worstCasePhase, type WorstCaseResult } from './phase-worst';
import { renderReport } from './report';
import { lambdaRuntime, nodeRuntimes, type NodeRuntime } from './runtimes';
import { distribution, log, round } from './stats';

export interface BundleFigure {
  readonly functionName: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly mapBytes: number;
  readonly synthesizedBytes?: number;
  /** The esbuild build with FUNCTION_BUNDLING gives the synthesized asset's bytes exactly. */
  readonly equalsSynth?: boolean;
  /** Its floor's (floor.ts). */
  readonly floorBytes: number;
  readonly largestParts: readonly { readonly source: string; readonly bytes: number }[];
}

export interface BenchResults {
  readonly meta: {
    readonly date: string;
    readonly gitCommit: string;
    readonly gitDirty: boolean;
    readonly node: string;
    /** The runtimes measured (the local node and Lambda's major). */
    readonly runtimes: readonly Omit<NodeRuntime, 'execPath'>[];
    readonly lambdaRuntime: string;
    /** `uptime` at the start and the end: the machine is shared. */
    readonly loadAverage: { readonly start: number[]; readonly end: number[] };
    readonly platform: string;
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryGb: number;
    readonly quick: boolean;
    readonly config: typeof benchConfig;
    readonly nodeBootMs: number;
    readonly durationSeconds: number;
    readonly outFile: string;
  };
  readonly bundles: BundleFigure[];
  readonly coldStart?: ColdResult[];
  /** The upstream POST's first call: the real client (node:http/node:https) against fetch. */
  readonly upstreamTransport?: TransportResult[];
  readonly warm?: WarmResult[];
  readonly http?: HttpResult;
  readonly notifications?: NotifyResult;
  readonly secretsManager: { readonly perThousandWarmExtends: number; readonly perColdStart: number; readonly cacheTtlSeconds: number };
  readonly dynamoUnits?: UnitsResult;
  readonly cost?: CostResult;
  readonly worstCase?: WorstCaseResult;
  readonly problems: string[];
  readonly stackErrors: string[];
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: PROJECT_ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

async function bundlesPhase(workDir: string) {
  const config = benchConfig;
  let synthesized: Map<string, SynthesizedFunction> | undefined;
  if (config.synth) {
    log('cdk synth (the deployed bundles)...');
    synthesized = synthAssets(join(workDir, 'cdk.out'));
  }
  log('esbuild with the stack options (real functions, their floors, the upstream POST on both transports)...');
  const built = new Map<string, BuiltBundle>();
  for (const name of FUNCTION_NAMES) built.set(name, await buildBundle(name, join(workDir, 'esbuild', name)));
  const floor = new Map<string, BuiltBundle>();
  const byExport = new Map<string, BuiltBundle>();
  for (const name of FUNCTION_NAMES) {
    const exported = FLOOR_OF[name];
    if (!byExport.has(exported)) byExport.set(exported, await buildExport(`floor-${exported}`, join(workDir, 'floor', exported), join(__dirname, 'floor.ts'), exported));
    floor.set(name, byExport.get(exported)!);
  }
  const transportModule = join(__dirname, 'transport.ts');
  const transport = {
    nodeHttp: await buildExport('upstream-node-http', join(workDir, 'transport', 'node-http'), transportModule, 'nodeHttp'),
    fetch: await buildExport('upstream-fetch', join(workDir, 'transport', 'fetch'), transportModule, 'globalFetch'),
  };
  const real = new Map<string, BuiltBundle>();
  const figures: BundleFigure[] = FUNCTION_NAMES.map((name) => {
    const ours = built.get(name)!;
    const synth = synthesized?.get(name);
    if (config.synth && !synth) throw new Error(`cdk synth produced no asset for functions/${name}`);
    real.set(name, synth ?? ours);
    return {
      functionName: name,
      bytes: (synth ?? ours).bytes,
      gzipBytes: (synth ?? ours).gzipBytes,
      mapBytes: (synth ?? ours).mapBytes,
      ...(synth && { synthesizedBytes: synth.bytes, equalsSynth: synth.sha256 === ours.sha256 }),
      floorBytes: floor.get(name)!.bytes,
      largestParts: ours.composition.slice(0, 8),
    };
  });
  const nodeOptions = (name: string) => synthesized?.get(name)?.nodeOptions ?? DEFAULT_NODE_OPTIONS;
  for (const figure of figures) {
    log(`bundle ${figure.functionName}: ${figure.bytes} bytes${figure.equalsSynth === undefined ? '' : figure.equalsSynth ? ' (esbuild = synthesized asset)' : ' (esbuild DIFFERS from the synthesized asset)'}, floor ${figure.floorBytes}`);
  }
  return { figures, real, floor, transport, nodeOptions };
}

async function main(): Promise<void> {
  const started = Date.now();
  const config = benchConfig;
  const workDir = mkdtempSync(join(tmpdir(), 'luma-bench-'));
  const problems: string[] = [];
  const stackErrors: string[] = [];
  const accessLogBytes: number[] = [];
  const loadAtStart = loadavg().map((value) => round(value, 2));
  log(`luma-gateway bench${config.quick ? ' (quick)' : ''}; scratch ${workDir}; load average ${loadAtStart.join(' ')} on ${cpus().length} cores`);
  const runtimes = nodeRuntimes();
  const lambda = lambdaRuntime(runtimes);
  log(`runtimes: ${runtimes.map((r) => `${r.label} ${r.version}${r.lambda ? ' (Lambda\'s major)' : ''}`).join(', ')}`);

  const bundles = await bundlesPhase(workDir);
  for (const figure of bundles.figures) if (figure.equalsSynth === false) problems.push(`functions/${figure.functionName}: the esbuild bundle differs from the synthesized asset`);

  // The deployed functions log at INFO; the local stack reads the rest from its own settings.
  process.env.LOG_LEVEL = 'INFO';
  process.env.POWERTOOLS_SERVICE_NAME = 'luma-gateway';
  delete process.env.POWERTOOLS_LOG_LEVEL;
  delete process.env.POWERTOOLS_DEV;
  const stdout = captureStdout();
  const hook = await startHookServer();
  log('starting the local stack (DynamoDB Local, Secrets Manager, simulator, front, task-changes consumer, reconciler)...');
  const stack = await startLocalStack({
    env: {},
    port: 0,
    tablePrefix: 'bench_',
    // Nothing becomes due for the reconciler during the bench: its runs stay comparable.
    reconcileAfterSeconds: 3600,
    // Notification retries within a run's patience (about 31 s in all), checked by the worker 4 times a second.
    webhookRetrySchedule: [0, 1, 2, 4, 8, 16],
    deliveryWorkerEveryMs: 250,
    simulator: { seed: 7, stepDelayMs: 100 },
    accessLog: (entry) => accessLogBytes.push(Buffer.byteLength(JSON.stringify(entry))),
    errorLog: (line) => stackErrors.length < 200 && stackErrors.push(line),
  });
  const doc = DynamoDBDocumentClient.from(localDynamoClient(stack.dynamoEndpoint), { marshallOptions: { removeUndefinedValues: true } });
  const ctx: BenchContext = { config, stack, sim: stack.upstream!, hook, doc, workDir, stdout, accessLogBytes, errors: stackErrors };
  const stopAll = async () => {
    stdout.restore();
    doc.destroy();
    await stack.stop();
    await hook.close();
    rmSync(workDir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    stack.killChildren();
    process.exit(130);
  });

  try {
    const run = (phase: Phase) => config.phases.includes(phase);
    let cold: ColdResult[] | undefined;
    let upstreamTransport: TransportResult[] | undefined;
    let warm: WarmResult[] | undefined;
    let http: HttpResult | undefined;
    let notifications: NotifyResult | undefined;
    let units: UnitsResult | undefined;
    if (run('cold')) {
      log(`cold starts: ${config.coldRuns} runs per function, floor and runtime...`);
      const coldRuns = await coldPhase(ctx, bundles, runtimes, FUNCTION_NAMES, [{ name: 'extend (no source maps)', functionName: 'extend', nodeOptions: '' }]);
      cold = coldRuns.functions;
      upstreamTransport = coldRuns.transport;
    }
    if (run('notify')) {
      log('notifications...');
      notifications = await notifyPhase(ctx);
    }
    if (run('units')) {
      log('DynamoDB units over whole task lives...');
      units = await unitsPhase(ctx);
    }
    // The phases that need the task-changes consumer ran first: the thousands of changes below would take the
    // local stream poller (pages of 10) a while to read through.
    if (run('warm')) {
      log(`warm latency: ${config.warmN} extends and callbacks each, ${config.warmOtherN} of the others...`);
      warm = await warmPhase(ctx, bundles, runtimes);
    }
    if (run('http')) {
      log(`HTTP: ${config.httpExtends} extends, then their callbacks, at concurrency ${config.concurrency}...`);
      http = await httpPhase(ctx);
    }
    let worstCase: WorstCaseResult | undefined;
    if (run('worst')) {
      log('the extend path at its worst (a slow upstream, a rotated key, an answer lost)...');
      worstCase = await worstCasePhase(ctx);
      if (worstCase.measured.ms >= worstCase.timeoutMs || worstCase.boundMs >= worstCase.timeoutMs) problems.push(`the extend path's worst case does not fit its ${worstCase.timeoutMs} ms timeout`);
    }
    // Lambda runs Node 24: the cost takes that runtime's figures.
    const ofLambda = <T extends { runtime: string }>(rows: readonly T[]) => rows.filter((row) => row.runtime === lambda.label);
    const cost = cold && warm && units ? costPerMillion({ warm: ofLambda(warm), cold: ofLambda(cold), units, coldStartShare: config.coldStartShare, runtime: `${lambda.label} ${lambda.version}` }) : undefined;

    for (const c of cold ?? []) if (c.real.failures + c.floor.failures > 0) problems.push(`cold start of ${c.functionName} on ${c.runtime}: ${c.real.failures} real and ${c.floor.failures} floor runs failed (${c.real.firstError ?? c.floor.firstError})`);
    for (const t of upstreamTransport ?? []) if (t.nodeHttp.failures + t.fetch.failures > 0) problems.push(`upstream POST on ${t.runtime}: ${t.nodeHttp.failures} node:http and ${t.fetch.failures} fetch runs failed (${t.nodeHttp.firstError ?? t.fetch.firstError})`);
    for (const w of warm ?? []) if (w.real.errors + w.floor.errors > 0) problems.push(`warm ${w.functionName} on ${w.runtime}: ${w.real.errors} real and ${w.floor.errors} floor invocations failed`);
    if (http && (http.extends.errors > 0 || http.extends.verified.problems.length > 0)) problems.push(`HTTP extends: ${http.extends.errors} errors; ${http.extends.verified.problems.join('; ')}`);
    if (http && (http.callbacks.errors > 0 || http.callbacks.verified.lost > 0 || http.callbacks.verified.regressions > 0)) problems.push(`HTTP callbacks: ${http.callbacks.errors} errors, ${http.callbacks.verified.lost} lost, ${http.callbacks.verified.regressions} regressions; ${http.callbacks.verified.problems.join('; ')}`);
    for (const notifyRun of notifications ? [notifications.paced, notifications.burst, notifications.isolation.beside] : []) if (notifyRun.lost + notifyRun.badSignatures > 0) problems.push(`notifications: ${notifyRun.lost} lost, ${notifyRun.badSignatures} bad signatures`);
    const randomFailures = notifications?.randomFailures;
    if (randomFailures && randomFailures.lost + randomFailures.acceptedTwice > 0) problems.push(`notifications to hooks failing at random: ${randomFailures.lost} lost, ${randomFailures.acceptedTwice} accepted twice`);
    problems.push(...(units?.problems ?? []));

    const extendWarm = warm?.find((w) => w.functionName === 'extend' && w.runtime === lambda.label);
    const extendCold = cold?.find((c) => c.functionName === 'extend' && c.runtime === lambda.label);
    const outDir = resolve(PROJECT_ROOT, config.outDir);
    mkdirSync(outDir, { recursive: true });
    const stamp = new Date(started).toISOString().replace(/[:.]/g, '-');
    const results: BenchResults = {
      meta: {
        date: new Date(started).toISOString(),
        gitCommit: git(['rev-parse', '--short', 'HEAD']),
        gitDirty: git(['status', '--porcelain']) !== '',
        node: process.version,
        runtimes: runtimes.map(({ execPath: _, ...runtime }) => runtime),
        lambdaRuntime: `nodejs24.x arm64 (its figures: ${lambda.label} ${lambda.version} here, on ${process.arch})`,
        loadAverage: { start: loadAtStart, end: [] },
        platform: `${process.platform} ${process.arch}`,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        memoryGb: round(totalmem() / 1024 ** 3, 1),
        quick: config.quick,
        config,
        nodeBootMs: 0,
        durationSeconds: (Date.now() - started) / 1000,
        outFile: relative(PROJECT_ROOT, join(outDir, 'latest.json')),
      },
      bundles: bundles.figures,
      coldStart: cold,
      upstreamTransport,
      warm,
      http,
      notifications,
      secretsManager: {
        perThousandWarmExtends: extendWarm?.secretReadsPer1000 ?? NaN,
        perColdStart: extendCold?.secretReadsPerColdStart ?? NaN,
        cacheTtlSeconds: 300,
      },
      dynamoUnits: units,
      cost,
      worstCase,
      problems,
      stackErrors,
    };
    (results.meta as { nodeBootMs: number }).nodeBootMs = round(distribution((cold ?? []).map((c) => c.real.processWallMs.p50 - c.real.initPlusFirstMs.p50)).p50, 1);
    (results.meta.loadAverage as { end: number[] }).end = loadavg().map((value) => round(value, 2));
    (results.meta as { durationSeconds: number }).durationSeconds = (Date.now() - started) / 1000;
    const json = JSON.stringify(results, null, 2);
    writeFileSync(join(outDir, 'latest.json'), json);
    writeFileSync(join(outDir, `bench-${stamp}.json`), json);
    stdout.print(renderReport(results));
  } finally {
    await stopAll();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
