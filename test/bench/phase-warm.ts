/**
 * Figure 2 (and 4): warm latency in process. The real handlers (the same
 * modules the local front serves) and their bare baselines are invoked
 * alternately, one at a time, against DynamoDB Local and the upstream
 * simulator on loopback, after a warm-up. Secrets Manager reads are counted
 * per invocation; handler log bytes per invocation too (for the cost).
 */
import type { Context } from 'aws-lambda';
import { FUNCTION_NEEDS } from '../../lib/function-needs';
import { importHandler } from '../../lib/local/lambda-runtime';
import { SEED_GENERATION_ID } from '../../lib/local/upstream-simulator';
import type { BenchContext } from './context';
import { apiEvent, authorizerEvent, generationBody, lambdaContext, modifyRecord, scheduledEvent, streamEvent } from './events';
import { distribution, log, nowMs, ratio, round, type Distribution } from './stats';
import { benchTask, putTasks, type BenchTask } from './tasks';

type Handler = (event: any, context: Context) => Promise<any>;
type Check = (result: any) => boolean;

export interface WarmSide {
  readonly ms: Distribution;
  readonly errors: number;
  /** Secrets Manager GetSecretValue calls during the measured invocations. */
  readonly secretReads: number;
  readonly logBytesPerInvocation: number;
  readonly logLinesPerInvocation: number;
}

export interface WarmResult {
  readonly functionName: string;
  readonly invocations: number;
  readonly real: WarmSide;
  readonly baseline: WarmSide;
  readonly overheadP50: number;
  readonly overheadP99: number;
  readonly overheadMean: number;
  /** Secrets Manager reads per 1000 warm invocations of the real function. */
  readonly secretReadsPer1000: number;
  /** A few of the log lines the real handler wrote (what its log bytes are). */
  readonly logSamples: string[];
  readonly note?: string;
}

const apiOk: Check = (result) => result?.statusCode === 200;

async function measurePair(
  ctx: BenchContext,
  functionName: string,
  n: number,
  warmUp: number,
  real: (i: number) => Promise<() => Promise<unknown>>,
  bare: (i: number) => Promise<() => Promise<unknown>>,
  check: Check,
  note?: string,
): Promise<WarmResult> {
  const sides = {
    real: { ms: [] as number[], errors: 0, secretReads: 0 },
    baseline: { ms: [] as number[], errors: 0, secretReads: 0 },
  };
  const logsBefore = ctx.stdout.forFunction(functionName);
  let measured = 0;
  const deadline = Date.now() + (ctx.config.quick ? 60_000 : 150_000);
  for (let i = 0; i < warmUp + n && Date.now() < deadline; i += 1) {
    if (i === warmUp) Object.assign(logsBefore, ctx.stdout.forFunction(functionName));
    const order = i % 2 === 0 ? (['real', 'baseline'] as const) : (['baseline', 'real'] as const);
    for (const which of order) {
      const invoke = await (which === 'real' ? real : bare)(i);
      const secretsBefore = ctx.stack.secrets.getSecretValueCalls;
      const started = nowMs();
      let ok = false;
      try {
        ok = check(await invoke());
      } catch {
        ok = false;
      }
      const elapsed = nowMs() - started;
      if (i < warmUp) continue;
      const side = sides[which];
      side.ms.push(elapsed);
      if (!ok) side.errors += 1;
      side.secretReads += ctx.stack.secrets.getSecretValueCalls - secretsBefore;
    }
    if (i >= warmUp) measured += 1;
  }
  const logsAfter = ctx.stdout.forFunction(functionName);
  const realMs = distribution(sides.real.ms);
  const baseMs = distribution(sides.baseline.ms);
  const make = (side: (typeof sides)['real'], ms: Distribution, withLogs: boolean): WarmSide => ({
    ms,
    errors: side.errors,
    secretReads: side.secretReads,
    logBytesPerInvocation: withLogs && measured > 0 ? round((logsAfter.bytes - logsBefore.bytes) / measured, 1) : 0,
    logLinesPerInvocation: withLogs && measured > 0 ? round((logsAfter.lines - logsBefore.lines) / measured, 2) : 0,
  });
  const result: WarmResult = {
    functionName,
    invocations: measured,
    real: make(sides.real, realMs, true),
    baseline: make(sides.baseline, baseMs, false),
    overheadP50: ratio(realMs.p50, baseMs.p50),
    overheadP99: ratio(realMs.p99, baseMs.p99),
    overheadMean: ratio(realMs.mean, baseMs.mean),
    secretReadsPer1000: measured > 0 ? round((sides.real.secretReads * 1000) / measured, 2) : NaN,
    logSamples: ctx.stdout.samples(functionName),
    ...(note && { note }),
  };
  log(
    `warm ${functionName} x${measured}: p50 ${round(realMs.p50)} ms vs bare ${round(baseMs.p50)} ms (x${result.overheadP50}), p99 ${round(realMs.p99)} vs ${round(baseMs.p99)} (x${result.overheadP99})` +
      (sides.real.errors + sides.baseline.errors > 0 ? `; ERRORS real ${sides.real.errors}, bare ${sides.baseline.errors}` : ''),
  );
  return result;
}

export async function warmPhase(ctx: BenchContext): Promise<WarmResult[]> {
  const { stack, doc, config, hook } = ctx;
  const clientId = stack.clientId;
  const names = ['extend', 'callback', 'get-task', 'authorizer', 'notifier', 'reconciler'] as const;
  const baselineModule: Record<(typeof names)[number], string> = {
    extend: './baseline/submit',
    callback: './baseline/callback',
    'get-task': './baseline/get-task',
    authorizer: './baseline/authorizer',
    notifier: './baseline/notifier',
    reconciler: './baseline/reconciler',
  };
  const real = {} as Record<string, Handler>;
  const bare = {} as Record<string, Handler>;
  for (const name of names) {
    real[name] = (await importHandler(name)) as Handler;
    bare[name] = (await import(baselineModule[name])).handler as Handler;
  }
  const context = (name: string) => lambdaContext(name, FUNCTION_NEEDS[name].memorySize, FUNCTION_NEEDS[name].timeout.toMilliseconds());
  const call = (handlers: Record<string, Handler>, name: string, event: unknown) => async () => () => handlers[name](event, context(name));
  const results: WarmResult[] = [];
  const { warmN, warmOtherN, warmUp } = config;

  // extend: upstream on loopback (the simulator), its callbacks dropped so they do not run meanwhile.
  ctx.sim.reset();
  ctx.sim.setFaults({ callbacks: { dropRate: 1 } });
  const extendEvent = (i: number) =>
    apiEvent({ method: 'POST', resource: '/luma/generations/{task_id}/extend', pathParameters: { task_id: SEED_GENERATION_ID }, clientId, clientKey: stack.clientKey, body: { user_prompt: `warm ${i}: a cat walks into the frame`, expand_prompt: true } });
  results.push(
    await measurePair(ctx, 'extend', warmN, warmUp, (i) => call(real, 'extend', extendEvent(i))(), (i) => call(bare, 'extend', extendEvent(i))(), apiOk, 'extend of an upstream generation id, no Idempotency-Key'),
  );

  // callback: per task the upstream's three callbacks (pending: a duplicate of what extend recorded, refused by its condition; processing; completed).
  const perTask = ['pending', 'processing', 'completed'] as const;
  const taskCount = Math.ceil((warmUp + warmN) / perTask.length);
  const realTasks: BenchTask[] = Array.from({ length: taskCount }, () => benchTask(clientId));
  const bareTasks: BenchTask[] = Array.from({ length: taskCount }, () => benchTask(clientId));
  await putTasks(doc, stack.tableNames.tasks, [...realTasks, ...bareTasks].map((task) => task.item));
  const callbackEvent = (task: BenchTask, i: number) =>
    apiEvent({ method: 'POST', resource: '/luma/callbacks/{token}', pathParameters: { token: task.token }, body: generationBody(task.item.upstream_id!, perTask[i % perTask.length], task.item.prompt) });
  results.push(
    await measurePair(
      ctx,
      'callback',
      warmN,
      warmUp,
      (i) => call(real, 'callback', callbackEvent(realTasks[Math.floor(i / perTask.length)], i))(),
      (i) => call(bare, 'callback', callbackEvent(bareTasks[Math.floor(i / perTask.length)], i))(),
      apiOk,
      'per task: pending (duplicate, refused by its condition), processing, completed',
    ),
  );

  const known = benchTask(clientId, { status: 'completed' });
  await putTasks(doc, stack.tableNames.tasks, [known.item]);
  const getEvent = () => apiEvent({ method: 'GET', resource: '/luma/generations/{task_id}', pathParameters: { task_id: known.item.task_id }, clientId, clientKey: stack.clientKey });
  results.push(await measurePair(ctx, 'get-task', warmOtherN, warmUp, () => call(real, 'get-task', getEvent())(), () => call(bare, 'get-task', getEvent())(), apiOk));

  results.push(
    await measurePair(
      ctx,
      'authorizer',
      warmOtherN,
      warmUp,
      () => call(real, 'authorizer', authorizerEvent(stack.clientKey))(),
      () => call(bare, 'authorizer', authorizerEvent(stack.clientKey))(),
      (result) => result?.principalId === clientId,
      'a cache miss of API Gateway (the result is cached 300 s per key)',
    ),
  );

  const { item } = benchTask(clientId, { notifyHook: hook.url });
  const notifierEvent = () => streamEvent([modifyRecord(item, { ...item, task_status: 'processing', status_rank: 2, updated_at: item.updated_at + 1 })]);
  results.push(
    await measurePair(
      ctx,
      'notifier',
      warmOtherN,
      warmUp,
      () => call(real, 'notifier', notifierEvent())(),
      () => call(bare, 'notifier', notifierEvent())(),
      (result) => Array.isArray(result?.batchItemFailures) && result.batchItemFailures.length === 0,
      'one status change with a hook per invocation (loopback hook server)',
    ),
  );

  results.push(
    await measurePair(
      ctx,
      'reconciler',
      Math.max(10, Math.floor(warmOtherN / 10)),
      Math.min(warmUp, 10),
      () => call(real, 'reconciler', scheduledEvent())(),
      () => call(bare, 'reconciler', scheduledEvent())(),
      (result) => result !== undefined,
      'a scheduled run with nothing due (4 shard queries)',
    ),
  );
  ctx.sim.reset();
  return results;
}
