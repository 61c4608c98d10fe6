/**
 * Figure 1: cold start per Lambda. A fresh process per run imports the
 * synthesized bundle and serves one realistic invocation against the local
 * stack; its bare baseline (test/bench/baseline, same esbuild options) runs
 * alternately in the same conditions.
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
import { apiEvent, authorizerEvent, generationBody, modifyRecord, scheduledEvent, streamEvent } from './events';
import { distribution, log, ratio, round, type Distribution } from './stats';
import { benchTask, putTasks } from './tasks';

export interface ColdSide {
  readonly bundleBytes: number;
  readonly importMs: Distribution;
  readonly firstInvocationMs: Distribution;
  /** import + first invocation: what Lambda's Init Duration plus the first Duration add up to. */
  readonly initPlusFirstMs: Distribution;
  /** spawn to exit, Node's boot included. */
  readonly processWallMs: Distribution;
  readonly failures: number;
  readonly firstError?: string;
  readonly logBytesFirstInvocation: number;
}

export interface ColdResult {
  readonly functionName: string;
  readonly memoryMb: number;
  readonly nodeOptions: string;
  readonly runs: number;
  readonly real: ColdSide;
  readonly baseline: ColdSide;
  /** real / baseline, of the medians of import + first invocation. */
  readonly ratioP50: number;
  readonly ratioP90: number;
  readonly bundleRatio: number;
  /** Secrets Manager GetSecretValue calls per cold run (real function). */
  readonly secretReadsPerColdStart: number;
}

function side(bundle: BuiltBundle, samples: ColdSample[]): ColdSide {
  const good = samples.filter((sample) => sample.ok);
  return {
    bundleBytes: bundle.bytes,
    importMs: distribution(good.map((s) => s.importMs)),
    firstInvocationMs: distribution(good.map((s) => s.firstMs)),
    initPlusFirstMs: distribution(good.map((s) => s.importMs + s.firstMs)),
    processWallMs: distribution(good.map((s) => s.wallMs)),
    failures: samples.length - good.length,
    firstError: samples.find((sample) => !sample.ok)?.error ?? (samples.find((sample) => !sample.ok) ? `status ${samples.find((s) => !s.ok)?.statusCode}` : undefined),
    logBytesFirstInvocation: good.length ? Math.round(good.reduce((sum, s) => sum + s.invokeLogBytes + s.initLogBytes, 0) / good.length) : 0,
  };
}

export async function coldPhase(
  ctx: BenchContext,
  bundles: { real: Map<string, BuiltBundle>; baseline: Map<string, BuiltBundle>; nodeOptions: (name: string) => string },
  functionNames: readonly string[],
  extraRuns: { name: string; functionName: string; nodeOptions: string }[] = [],
): Promise<ColdResult[]> {
  const { stack, doc, hook, config } = ctx;
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
        const task = benchTask(clientId);
        await putTasks(doc, stack.tableNames.tasks, [task.item]);
        return apiEvent({ method: 'POST', resource: '/luma/callbacks/{token}', pathParameters: { token: task.token }, body: generationBody(task.item.upstream_id!, 'processing') });
      }
      case 'notifier': {
        const { item } = benchTask(clientId, { notifyHook: hook.url });
        return streamEvent([modifyRecord(item, { ...item, task_status: 'processing', status_rank: 2, updated_at: item.updated_at + 1 })]);
      }
      case 'reconciler':
      case 'delivery-worker':
        return scheduledEvent();
      case 'resend-notification':
        return apiEvent({ method: 'POST', resource: '/luma/generations/{task_id}/notifications/resend', pathParameters: { task_id: notified.task_id }, clientId, clientKey: stack.clientKey });
      case 'recover-notifications':
        return apiEvent({ method: 'POST', resource: '/luma/notifications/recover', clientId, clientKey: stack.clientKey, body: { since: 0 } });
      case 'list-endpoints':
        return apiEvent({ method: 'GET', resource: '/luma/endpoints', clientId, clientKey: stack.clientKey });
      case 'enable-endpoint':
        return apiEvent({ method: 'POST', resource: '/luma/endpoints/{endpoint_id}/enable', pathParameters: { endpoint_id: endpoint.endpoint_id }, clientId, clientKey: stack.clientKey });
      default:
        throw new Error(`no cold-start event for ${functionName}`);
    }
  };

  // DynamoDB Local runs on the JVM: warm it up (and the simulator) so the first functions measured are not
  // slowed by its JIT. On the deliveries table, which has no stream for the local poller to read through.
  const warmUpStarted = Date.now();
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
  log(`warmed DynamoDB Local and the simulator up (${round((Date.now() - warmUpStarted) / 1000, 1)} s)`);

  const results: ColdResult[] = [];
  for (const functionName of functionNames) {
    // The function as deployed, and its variants (other NODE_OPTIONS), each against its baseline,
    // all in one loop so that every run rotates through them in the same conditions.
    const variants = [
      { name: functionName, nodeOptions: bundles.nodeOptions(functionName) },
      ...extraRuns.filter((extra) => extra.functionName === functionName).map(({ name, nodeOptions }) => ({ name, nodeOptions })),
    ];
    const needs = FUNCTION_NEEDS[functionName];
    const realBundle = bundles.real.get(functionName)!;
    const baseBundle = bundles.baseline.get(functionName)!;
    const slots = variants.flatMap((variant, index) =>
      (['real', 'baseline'] as const).map((which) => ({ variant: index, which, nodeOptions: variant.nodeOptions, samples: [] as ColdSample[], secretReads: 0 })),
    );
    for (let run = 0; run < config.coldRuns; run += 1) {
      for (let k = 0; k < slots.length; k += 1) {
        const slot = slots[(k + run) % slots.length];
        const event = await eventFor(functionName, run);
        const before = stack.secrets.getSecretValueCalls;
        const target = { functionName, memoryMb: needs.memorySize, timeoutMs: needs.timeout.toMilliseconds(), nodeOptions: slot.nodeOptions };
        slot.samples.push(await coldStart({ ...target, bundleFile: (slot.which === 'real' ? realBundle : baseBundle).file }, event, ctx.workDir, run));
        slot.secretReads += stack.secrets.getSecretValueCalls - before;
      }
    }
    variants.forEach((variant, index) => {
      const real = slots.find((slot) => slot.variant === index && slot.which === 'real')!;
      const bare = slots.find((slot) => slot.variant === index && slot.which === 'baseline')!;
      const realSide = side(realBundle, real.samples);
      const baseSide = side(baseBundle, bare.samples);
      const result: ColdResult = {
        functionName: variant.name,
        memoryMb: needs.memorySize,
        nodeOptions: variant.nodeOptions,
        runs: config.coldRuns,
        real: realSide,
        baseline: baseSide,
        ratioP50: ratio(realSide.initPlusFirstMs.p50, baseSide.initPlusFirstMs.p50),
        ratioP90: ratio(realSide.initPlusFirstMs.p90, baseSide.initPlusFirstMs.p90),
        bundleRatio: ratio(realBundle.bytes, baseBundle.bytes),
        secretReadsPerColdStart: round(real.secretReads / config.coldRuns, 2),
      };
      results.push(result);
      log(
        `cold ${variant.name}: import+first p50 ${round(realSide.initPlusFirstMs.p50, 1)} ms vs bare ${round(baseSide.initPlusFirstMs.p50, 1)} ms (x${result.ratioP50})` +
          (realSide.failures + baseSide.failures > 0 ? `; FAILURES real ${realSide.failures} (${realSide.firstError}), bare ${baseSide.failures} (${baseSide.firstError})` : ''),
      );
    });
  }
  ctx.sim.setFaults({ callbacks: { dropRate: 0 } });
  return results;
}
