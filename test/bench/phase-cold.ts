/**
 * Figure 1: cold start per Lambda, on each Node runtime (runtimes.ts). A
 * fresh process per run imports the synthesized bundle and serves one
 * realistic invocation against the local stack; its floor (floor.ts, same
 * esbuild options) runs in the same conditions. Within a function, every
 * run goes once through all its rows (real and floor, each variant, each
 * runtime), in an order rotated by one each run, so load drifts hit every
 * row alike. Import, first invocation and their sum are reported apart:
 * real and floor build their SDK clients at the same phase (the first
 * call), so each column compares like with like.
 *
 * Also here: the upstream POST's first call on the real client
 * (node:http/node:https) against the global fetch (transport.ts).
 */
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createEndpointStore } from '../../functions/adapters/dynamodb/endpoint-store';
import { createMessageStore } from '../../functions/adapters/dynamodb/message-store';
import { newMessage } from '../../functions/domain/message';
import { toTaskView } from '../../functions/domain/task';
import { FUNCTION_NEEDS } from '../../lib/function-needs';
import { SEED_GENERATION_ID } from '../../lib/local/upstream-simulator';
import type { BuiltBundle } from './bundles';
import { coldStart, type ColdSample } from './cold-start';
import type { BenchContext } from './context';
import { apiEvent, authorizerEvent, functionUrlEvent, generationBody, modifyRecord, scheduledEvent, streamEvent } from './events';
import type { NodeRuntime } from './runtimes';
import { distribution, log, medianInterval, medianRatioInterval, ratio, round, roundInterval, type Distribution, type Interval } from './stats';
import { benchTask, putTasks } from './tasks';

export interface ColdSide {
  readonly bundleBytes: number;
  /** `await import(bundle)`: Lambda's Init Duration. */
  readonly importMs: Distribution;
  /** The first invocation (SDK clients, credentials, first connections): the first Duration. */
  readonly firstInvocationMs: Distribution;
  /** import + first invocation. */
  readonly initPlusFirstMs: Distribution;
  /** 95% bootstrap interval of the median of import + first. */
  readonly initPlusFirstP50Interval: Interval;
  /** spawn to exit, Node's boot included. */
  readonly processWallMs: Distribution;
  readonly failures: number;
  readonly firstError?: string;
  readonly logBytesFirstInvocation: number;
}

export interface ColdRatios {
  /** real / floor, of the medians. */
  readonly importP50: number;
  readonly firstP50: number;
  readonly totalP50: number;
  readonly totalP50Interval: Interval;
  readonly totalP90: number;
}

export interface ColdResult {
  readonly functionName: string;
  /** runtimes.ts label: node20, node24. */
  readonly runtime: string;
  readonly nodeVersion: string;
  readonly memoryMb: number;
  readonly nodeOptions: string;
  readonly runs: number;
  readonly real: ColdSide;
  readonly floor: ColdSide;
  readonly ratio: ColdRatios;
  readonly bundleRatio: number;
  /** Secrets Manager GetSecretValue calls per cold run (real function). */
  readonly secretReadsPerColdStart: number;
}

/** The upstream POST in a fresh process: the real client on node:http/node:https vs the global fetch. */
export interface TransportResult {
  readonly runtime: string;
  readonly nodeVersion: string;
  readonly runs: number;
  readonly nodeHttp: ColdSide;
  readonly fetch: ColdSide;
  /** fetch / node:http, of the medians of the first call, and its 95% interval. */
  readonly firstCallRatio: number;
  readonly firstCallRatioInterval: Interval;
}

export interface ColdBundles {
  readonly real: Map<string, BuiltBundle>;
  readonly floor: Map<string, BuiltBundle>;
  readonly transport: { readonly nodeHttp: BuiltBundle; readonly fetch: BuiltBundle };
  readonly nodeOptions: (name: string) => string;
}

function side(bundle: BuiltBundle, samples: ColdSample[]): ColdSide {
  const good = samples.filter((sample) => sample.ok);
  const failed = samples.find((sample) => !sample.ok);
  const totals = good.map((s) => s.importMs + s.firstMs);
  return {
    bundleBytes: bundle.bytes,
    importMs: distribution(good.map((s) => s.importMs)),
    firstInvocationMs: distribution(good.map((s) => s.firstMs)),
    initPlusFirstMs: distribution(totals),
    initPlusFirstP50Interval: roundInterval(medianInterval(totals), 1),
    processWallMs: distribution(good.map((s) => s.wallMs)),
    failures: samples.length - good.length,
    firstError: failed ? (failed.error ?? `status ${failed.statusCode}`) : undefined,
    logBytesFirstInvocation: good.length ? Math.round(good.reduce((sum, s) => sum + s.invokeLogBytes + s.initLogBytes, 0) / good.length) : 0,
  };
}

const totalsOf = (samples: ColdSample[]) => samples.filter((s) => s.ok).map((s) => s.importMs + s.firstMs);

interface Row {
  readonly runtime: NodeRuntime;
  readonly bundle: BuiltBundle;
  readonly nodeOptions: string;
  readonly samples: ColdSample[];
  secretReads: number;
}

/** Every run visits every row once, starting one row further each run. */
async function rotate(ctx: BenchContext, rows: Row[], target: { functionName: string; memoryMb: number; timeoutMs: number }, eventFor: (run: number) => Promise<unknown>): Promise<void> {
  for (let run = 0; run < ctx.config.coldRuns; run += 1) {
    for (let k = 0; k < rows.length; k += 1) {
      const row = rows[(k + run) % rows.length];
      const event = await eventFor(run);
      const before = ctx.stack.secrets.getSecretValueCalls;
      row.samples.push(await coldStart({ ...target, execPath: row.runtime.execPath, nodeOptions: row.nodeOptions, bundleFile: row.bundle.file }, event, ctx.workDir, run));
      row.secretReads += ctx.stack.secrets.getSecretValueCalls - before;
    }
  }
}

/** DynamoDB Local runs on the JVM: warm it (and the simulator) up so the first functions measured are not slowed by its JIT. */
async function warmUpLocalStack(ctx: BenchContext): Promise<void> {
  const { stack, doc, config } = ctx;
  const started = Date.now();
  // The deliveries table has no stream for the local poller to read through.
  const table = stack.tableNames.deliveries;
  for (let i = 0; i < (config.quick ? 100 : 400); i += 1) {
    const key = { task_id: `warm-up-${i % 20}`, attempt_id: String(i) };
    await doc.send(new PutCommand({ TableName: table, Item: { ...key, outcome: 'delivered', expires_at: Math.floor(Date.now() / 1000) + 3600 } }));
    await doc.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }));
    await doc.send(new UpdateCommand({ TableName: table, Key: key, UpdateExpression: 'SET attempt = :a', ConditionExpression: 'attribute_exists(task_id)', ExpressionAttributeValues: { ':a': i } }));
    await doc.send(new QueryCommand({ TableName: table, KeyConditionExpression: 'task_id = :t', ExpressionAttributeValues: { ':t': key.task_id }, Limit: 5 }));
    if (i % 8 === 0) {
      const headers = { Authorization: `Bearer ${ctx.sim.apiKey}`, 'Content-Type': 'application/json' };
      await fetch(`${ctx.sim.url}/luma/generations/${SEED_GENERATION_ID}/extend`, { method: 'POST', headers, body: JSON.stringify({ user_prompt: 'warm-up' }) }).then((r) => r.arrayBuffer());
      const target = { 'X-Amz-Target': 'secretsmanager.GetSecretValue', 'Content-Type': 'application/x-amz-json-1.1' };
      await fetch(stack.secrets.url, { method: 'POST', headers: target, body: JSON.stringify({ SecretId: stack.upstreamSecretId }) }).then((r) => r.arrayBuffer());
    }
  }
  log(`warmed DynamoDB Local and the simulator up (${round((Date.now() - started) / 1000, 1)} s)`);
}

export async function coldPhase(
  ctx: BenchContext,
  bundles: ColdBundles,
  runtimes: readonly NodeRuntime[],
  functionNames: readonly string[],
  extraRuns: { name: string; functionName: string; nodeOptions: string }[] = [],
): Promise<{ functions: ColdResult[]; transport: TransportResult[] }> {
  const { stack, doc, hook } = ctx;
  const clientId = stack.clientId;
  // Quiet machine: the upstream's callbacks would otherwise run in this process during the runs.
  ctx.sim.setFaults({ callbacks: { dropRate: 1 } });
  const known = benchTask(clientId, { status: 'completed' });
  await putTasks(doc, stack.tableNames.tasks, [known.item]);
  // A task with a delivered notification (resend sends it again) and its endpoint (enable enables it).
  const notified = benchTask(clientId, { status: 'completed', notifyHook: hook.url }).item;
  await putTasks(doc, stack.tableNames.tasks, [notified]);
  const endpoint = await createEndpointStore({ client: doc, endpointsTable: stack.tableNames.endpoints }).ensure(clientId, hook.url, Math.floor(Date.now() / 1000));
  await createMessageStore({ client: doc, messagesTable: stack.tableNames.messages }).put({
    ...newMessage({ task: notified, endpointId: endpoint.endpoint_id, payload: JSON.stringify(toTaskView(notified)), nowMs: Date.now(), retentionDays: 1 }),
    message_state: 'delivered',
    due_shard: undefined,
    due_at_ms: undefined,
  });

  const eventFor = async (functionName: string, run: number): Promise<unknown> => {
    switch (functionName) {
      case 'authorizer':
        return authorizerEvent(stack.clientKey);
      case 'extend':
        return apiEvent({ method: 'POST', resource: '/luma/generations/{task_id}/extend', pathParameters: { task_id: SEED_GENERATION_ID }, clientId, clientKey: stack.clientKey, body: { user_prompt: `cold start ${run}: a cat walks in`, expand_prompt: true } });
      case 'create':
        return apiEvent({ method: 'POST', resource: '/luma/generations', clientId, clientKey: stack.clientKey, body: { user_prompt: `cold start ${run}: a dog runs` } });
      case 'get-task':
        return apiEvent({ method: 'GET', resource: '/luma/generations/{task_id}', pathParameters: { task_id: known.item.task_id }, clientId, clientKey: stack.clientKey });
      case 'list-deliveries':
        return apiEvent({ method: 'GET', resource: '/luma/generations/{task_id}/deliveries', pathParameters: { task_id: known.item.task_id }, clientId, clientKey: stack.clientKey });
      case 'callback': {
        // As its function URL sends it.
        const task = benchTask(clientId);
        await putTasks(doc, stack.tableNames.tasks, [task.item]);
        return functionUrlEvent({ method: 'POST', path: `/luma/callbacks/${task.token}`, body: generationBody(task.item.upstream_id!, 'processing') });
      }
      case 'task-changes': {
        const { item } = benchTask(clientId, { notifyHook: hook.url });
        return streamEvent([modifyRecord(item, { ...item, task_status: 'processing', status_rank: 2, updated_at: item.updated_at + 1 })]);
      }
      case 'reconciler':
      case 'delivery-worker':
      // Its sweep (the floor reads the same due index); a copy's cost is the assets phase's.
      case 'asset-worker':
        return scheduledEvent();
      case 'resend-notification':
        return apiEvent({ method: 'POST', resource: '/luma/generations/{task_id}/notifications/resend', pathParameters: { task_id: notified.task_id }, clientId, clientKey: stack.clientKey });
      case 'recover-notifications':
        return apiEvent({ method: 'POST', resource: '/luma/notifications/recover', clientId, clientKey: stack.clientKey, body: { since: 0 } });
      case 'list-endpoints':
        return apiEvent({ method: 'GET', resource: '/luma/endpoints', clientId, clientKey: stack.clientKey });
      case 'enable-endpoint':
        return apiEvent({ method: 'POST', resource: '/luma/endpoints/{endpoint_id}/enable', pathParameters: { endpoint_id: endpoint.endpoint_id }, clientId, clientKey: stack.clientKey });
      case 'list-tasks':
        return apiEvent({ method: 'GET', resource: '/luma/generations', clientId, clientKey: stack.clientKey });
      case 'batch-get-tasks':
        return apiEvent({ method: 'POST', resource: '/luma/tasks', clientId, clientKey: stack.clientKey, body: { ids: [notified.task_id] } });
      case 'get-usage':
        return apiEvent({ method: 'GET', resource: '/luma/usage', clientId, clientKey: stack.clientKey });
      default:
        throw new Error(`no cold-start event for ${functionName}`);
    }
  };

  await warmUpLocalStack(ctx);

  const functions: ColdResult[] = [];
  for (const functionName of functionNames) {
    const variants = [
      { name: functionName, nodeOptions: bundles.nodeOptions(functionName) },
      ...extraRuns.filter((extra) => extra.functionName === functionName).map(({ name, nodeOptions }) => ({ name, nodeOptions })),
    ];
    const needs = FUNCTION_NEEDS[functionName];
    const realBundle = bundles.real.get(functionName)!;
    const floorBundle = bundles.floor.get(functionName)!;
    const rows = variants.flatMap((variant) =>
      runtimes.flatMap((runtime) =>
        [realBundle, floorBundle].map((bundle) => ({ variant: variant.name, runtime, bundle, nodeOptions: variant.nodeOptions, samples: [] as ColdSample[], secretReads: 0 })),
      ),
    );
    await rotate(ctx, rows, { functionName, memoryMb: needs.memorySize, timeoutMs: needs.timeout.toMilliseconds() }, (run) => eventFor(functionName, run));
    for (const variant of variants) {
      for (const runtime of runtimes) {
        const mine = rows.filter((row) => row.variant === variant.name && row.runtime === runtime);
        const [real, floor] = [mine.find((row) => row.bundle === realBundle)!, mine.find((row) => row.bundle === floorBundle)!];
        const realSide = side(realBundle, real.samples);
        const floorSide = side(floorBundle, floor.samples);
        const result: ColdResult = {
          functionName: variant.name,
          runtime: runtime.label,
          nodeVersion: runtime.version,
          memoryMb: needs.memorySize,
          nodeOptions: variant.nodeOptions,
          runs: ctx.config.coldRuns,
          real: realSide,
          floor: floorSide,
          ratio: {
            importP50: ratio(realSide.importMs.p50, floorSide.importMs.p50),
            firstP50: ratio(realSide.firstInvocationMs.p50, floorSide.firstInvocationMs.p50),
            totalP50: ratio(realSide.initPlusFirstMs.p50, floorSide.initPlusFirstMs.p50),
            totalP50Interval: roundInterval(medianRatioInterval(totalsOf(real.samples), totalsOf(floor.samples))),
            totalP90: ratio(realSide.initPlusFirstMs.p90, floorSide.initPlusFirstMs.p90),
          },
          bundleRatio: ratio(realBundle.bytes, floorBundle.bytes),
          secretReadsPerColdStart: round(real.secretReads / ctx.config.coldRuns, 2),
        };
        functions.push(result);
        log(
          `cold ${variant.name} ${runtime.label}: import+first p50 ${round(realSide.initPlusFirstMs.p50, 1)} ms vs floor ${round(floorSide.initPlusFirstMs.p50, 1)} ms ` +
            `(x${result.ratio.totalP50}, 95% ${result.ratio.totalP50Interval.lo}-${result.ratio.totalP50Interval.hi})` +
            (realSide.failures + floorSide.failures > 0 ? `; FAILURES real ${realSide.failures} (${realSide.firstError}), floor ${floorSide.failures} (${floorSide.firstError})` : ''),
        );
      }
    }
  }

  // The upstream POST alone: the real client against fetch, on every runtime, rotated together.
  const { nodeHttp, fetch: viaFetch } = bundles.transport;
  const transportRows = runtimes.flatMap((runtime) => [nodeHttp, viaFetch].map((bundle) => ({ runtime, bundle, nodeOptions: bundles.nodeOptions('extend'), samples: [] as ColdSample[], secretReads: 0 })));
  const transportEvent = async (run: number) => ({
    baseUrl: ctx.sim.url,
    apiKey: ctx.sim.apiKey,
    parentUpstreamId: SEED_GENERATION_ID,
    submission: { user_prompt: `transport ${run}: a cat walks in`, expand_prompt: true, notify_hook: `${stack.url}/luma/callbacks/00000000-0000-4000-8000-000000000000.unused` },
  });
  await rotate(ctx, transportRows, { functionName: 'extend', memoryMb: FUNCTION_NEEDS.extend.memorySize, timeoutMs: 20_000 }, transportEvent);
  const transport = runtimes.map((runtime): TransportResult => {
    const [viaHttp, viaGlobalFetch] = [nodeHttp, viaFetch].map((bundle) => transportRows.find((row) => row.runtime === runtime && row.bundle === bundle)!);
    const httpSide = side(nodeHttp, viaHttp.samples);
    const fetchSide = side(viaFetch, viaGlobalFetch.samples);
    const firsts = (samples: ColdSample[]) => samples.filter((s) => s.ok).map((s) => s.firstMs);
    const result: TransportResult = {
      runtime: runtime.label,
      nodeVersion: runtime.version,
      runs: ctx.config.coldRuns,
      nodeHttp: httpSide,
      fetch: fetchSide,
      firstCallRatio: ratio(fetchSide.firstInvocationMs.p50, httpSide.firstInvocationMs.p50),
      firstCallRatioInterval: roundInterval(medianRatioInterval(firsts(viaGlobalFetch.samples), firsts(viaHttp.samples))),
    };
    log(`upstream POST ${runtime.label}: first call node:http p50 ${round(httpSide.firstInvocationMs.p50, 1)} ms, fetch ${round(fetchSide.firstInvocationMs.p50, 1)} ms (x${result.firstCallRatio})`);
    return result;
  });
  ctx.sim.setFaults({ callbacks: { dropRate: 0 } });
  return { functions, transport };
}
