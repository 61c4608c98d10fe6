/**
 * Figure 2 (and 4): warm latency, on each Node runtime. One fresh process
 * per function and runtime (warm-runner.mjs) imports the function's bundle
 * and its floor's, and invokes them alternately, one at a time, against
 * DynamoDB Local and the upstream simulator on loopback, after a warm-up.
 * The real handler's log bytes per invocation are counted (for the cost);
 * Secrets Manager reads per 1000 warm extends too (the floor reads its key
 * once, at its first call, and never again: every later read is the real
 * function's).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FUNCTION_NEEDS } from '../../lib/function-needs';
import { SEED_GENERATION_ID } from '../../lib/local/upstream-simulator';
import type { BuiltBundle } from './bundles';
import { lambdaEnvironment } from './cold-start';
import type { BenchContext } from './context';
import { apiEvent, authorizerEvent, functionUrlEvent, generationBody, modifyRecord, scheduledEvent, streamEvent } from './events';
import type { NodeRuntime } from './runtimes';
import { distribution, log, ratio, round, type Distribution } from './stats';
import { benchTask, putTasks, type BenchTask } from './tasks';

export interface WarmSide {
  readonly ms: Distribution;
  readonly errors: number;
  readonly firstError?: string;
  readonly logBytesPerInvocation: number;
  readonly logLinesPerInvocation: number;
}

export interface WarmResult {
  readonly functionName: string;
  /** Which function's bundle ran (a variant such as "callback (REST event)" names its function here). */
  readonly bundleOf: string;
  readonly runtime: string;
  readonly invocations: number;
  readonly real: WarmSide;
  readonly floor: WarmSide;
  readonly ratioP50: number;
  readonly ratioP99: number;
  readonly ratioMean: number;
  /** Secrets Manager reads per 1000 warm invocations of the real function. */
  readonly secretReadsPer1000: number;
  readonly note?: string;
}

type Check = 'api' | 'authorizer' | 'task-changes' | 'any';

interface WarmPlan {
  readonly name: string;
  readonly functionName: string;
  readonly n: number;
  readonly warmUp: number;
  readonly check: Check;
  /** Events for the real function and for its floor (cycled through). */
  readonly events: (side: 'real' | 'floor') => Promise<unknown[]>;
  readonly note?: string;
}

const RUNNER = join(__dirname, 'warm-runner.mjs');

interface RunnerOutput {
  readonly measured: number;
  readonly real: { ms: number[]; errors: number; firstError?: string; logBytes: number; logLines: number };
  readonly floor: { ms: number[]; errors: number; firstError?: string; logBytes: number; logLines: number };
}

function runWarm(runtime: NodeRuntime, planFile: string, env: NodeJS.ProcessEnv): Promise<RunnerOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(runtime.execPath, [RUNNER, planFile], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-2000)));
    child.on('close', () => {
      const line = stdout.split('\n').find((text) => text.startsWith('__BENCH__'));
      if (!line) reject(new Error(`warm runner gave no result: ${stderr.trim().slice(-500)}`));
      else resolve(JSON.parse(line.slice('__BENCH__'.length)) as RunnerOutput);
    });
  });
}

export async function warmPhase(ctx: BenchContext, bundles: { real: Map<string, BuiltBundle>; floor: Map<string, BuiltBundle>; nodeOptions: (name: string) => string }, runtimes: readonly NodeRuntime[]): Promise<WarmResult[]> {
  const { stack, doc, config, hook } = ctx;
  const clientId = stack.clientId;
  const { warmN, warmOtherN, warmUp } = config;

  // Per task the upstream's three callbacks: pending (a duplicate of what extend recorded, refused by its condition), processing, completed.
  const perTask = ['pending', 'processing', 'completed'] as const;
  const callbackEvents = async (count: number, event: (task: BenchTask, state: (typeof perTask)[number]) => unknown) => {
    const tasks = Array.from({ length: Math.ceil(count / perTask.length) }, () => benchTask(clientId));
    await putTasks(doc, stack.tableNames.tasks, tasks.map((task) => task.item));
    return Array.from({ length: count }, (_, i) => event(tasks[Math.floor(i / perTask.length)], perTask[i % perTask.length]));
  };
  // Links on the simulator's host, which knows none of these generations: each completed task's copy (by the
  // stack's asset worker, in the background) fails at once, for good, instead of retrying an unreachable CDN.
  const body = (task: BenchTask, state: (typeof perTask)[number]) => generationBody(task.item.upstream_id!, state, task.item.prompt, `${ctx.sim.url}/media`);
  const viaUrl = (task: BenchTask, state: (typeof perTask)[number]) => functionUrlEvent({ method: 'POST', path: `/luma/callbacks/${task.token}`, body: body(task, state) });
  const viaRest = (task: BenchTask, state: (typeof perTask)[number]) =>
    apiEvent({ method: 'POST', resource: '/luma/callbacks/{token}', pathParameters: { token: task.token }, body: body(task, state) });
  const known = benchTask(clientId, { status: 'completed' });
  await putTasks(doc, stack.tableNames.tasks, [known.item]);
  const { item: notified } = benchTask(clientId, { notifyHook: hook.url });
  const repeat = (count: number, make: (i: number) => unknown) => async () => Array.from({ length: count }, (_, i) => make(i));

  const plans: WarmPlan[] = [
    {
      name: 'extend',
      functionName: 'extend',
      n: warmN,
      warmUp,
      check: 'api',
      note: 'extend of an upstream generation id, no Idempotency-Key',
      // One event each: a request id seen again is a retry of that request (the task id derives from it).
      events: repeat(warmUp + warmN, (i) =>
        apiEvent({ method: 'POST', resource: '/luma/generations/{task_id}/extend', pathParameters: { task_id: SEED_GENERATION_ID }, clientId, clientKey: stack.clientKey, body: { user_prompt: `warm ${i}: a cat walks into the frame`, expand_prompt: true } }),
      ),
    },
    { name: 'callback', functionName: 'callback', n: warmN, warmUp, check: 'api', note: 'through its function URL (payload 2.0); per task: pending (duplicate, refused by its condition), processing, completed', events: () => callbackEvents(warmUp + warmN, viaUrl) },
    // The floor takes the function URL's event: the REST route's figure is the real handler's alone.
    { name: 'callback (REST event)', functionName: 'callback', n: warmOtherN, warmUp, check: 'api', note: 'the deprecated REST route: the same handler, no access line of its own', events: (side) => callbackEvents(warmUp + warmOtherN, side === 'real' ? viaRest : viaUrl) },
    {
      name: 'get-task',
      functionName: 'get-task',
      n: warmOtherN,
      warmUp,
      check: 'api',
      events: repeat(1, () => apiEvent({ method: 'GET', resource: '/luma/generations/{task_id}', pathParameters: { task_id: known.item.task_id }, clientId, clientKey: stack.clientKey })),
    },
    { name: 'authorizer', functionName: 'authorizer', n: warmOtherN, warmUp, check: 'authorizer', note: 'a cache miss of API Gateway (the result is cached 300 s per key)', events: repeat(1, () => authorizerEvent(stack.clientKey)) },
    {
      name: 'task-changes',
      functionName: 'task-changes',
      n: warmOtherN,
      warmUp,
      check: 'task-changes',
      note: 'one status change with a hook per invocation (loopback hook server)',
      events: repeat(1, () => streamEvent([modifyRecord(notified, { ...notified, task_status: 'processing', status_rank: 2, updated_at: notified.updated_at + 1 })])),
    },
    { name: 'reconciler', functionName: 'reconciler', n: Math.max(10, Math.floor(warmOtherN / 10)), warmUp: Math.min(warmUp, 10), check: 'any', note: 'a scheduled run with nothing due (4 shard queries)', events: repeat(1, () => scheduledEvent()) },
  ];

  ctx.sim.reset();
  ctx.sim.setFaults({ callbacks: { dropRate: 1 } });
  const results: WarmResult[] = [];
  for (const [index, plan] of plans.entries()) {
    // Every other function starts with the other runtime: a drift in load does not always favour one.
    for (const runtime of index % 2 === 0 ? runtimes : [...runtimes].reverse()) {
      const needs = FUNCTION_NEEDS[plan.functionName];
      const file = join(ctx.workDir, `warm-${plan.functionName}-${runtime.label}-${results.length}.json`);
      writeFileSync(
        file,
        JSON.stringify({
          functionName: plan.functionName,
          memoryMb: needs.memorySize,
          timeoutMs: needs.timeout.toMilliseconds(),
          warmUp: plan.warmUp,
          n: plan.n,
          deadlineMs: config.quick ? 60_000 : 150_000,
          check: plan.check,
          real: { bundle: bundles.real.get(plan.functionName)!.file, events: await plan.events('real') },
          floor: { bundle: bundles.floor.get(plan.functionName)!.file, events: await plan.events('floor') },
        }),
      );
      const secretsBefore = stack.secrets.getSecretValueCalls;
      const out = await runWarm(runtime, file, lambdaEnvironment(plan.functionName, needs.memorySize, bundles.nodeOptions(plan.functionName)));
      // Each side reads the key once at its first call (in the warm-up); later reads are the real function's.
      const readsAfterFirst = Math.max(0, stack.secrets.getSecretValueCalls - secretsBefore - (plan.functionName === 'extend' ? 2 : 0));
      const sideOf = (raw: RunnerOutput['real']): WarmSide => ({
        ms: distribution(raw.ms),
        errors: raw.errors,
        ...(raw.firstError && { firstError: raw.firstError }),
        logBytesPerInvocation: out.measured > 0 ? round(raw.logBytes / out.measured, 1) : 0,
        logLinesPerInvocation: out.measured > 0 ? round(raw.logLines / out.measured, 2) : 0,
      });
      const real = sideOf(out.real);
      const floor = sideOf(out.floor);
      const result: WarmResult = {
        functionName: plan.name,
        bundleOf: plan.functionName,
        runtime: runtime.label,
        invocations: out.measured,
        real,
        floor,
        ratioP50: ratio(real.ms.p50, floor.ms.p50),
        ratioP99: ratio(real.ms.p99, floor.ms.p99),
        ratioMean: ratio(real.ms.mean, floor.ms.mean),
        secretReadsPer1000: out.measured > 0 ? round((readsAfterFirst * 1000) / out.measured, 2) : NaN,
        ...(plan.note && { note: plan.note }),
      };
      results.push(result);
      log(
        `warm ${plan.name} ${runtime.label} x${out.measured}: p50 ${round(real.ms.p50)} ms vs floor ${round(floor.ms.p50)} ms (x${result.ratioP50}), p99 ${round(real.ms.p99)} vs ${round(floor.ms.p99)} (x${result.ratioP99})` +
          (real.errors + floor.errors > 0 ? `; ERRORS real ${real.errors} (${real.firstError}), floor ${floor.errors} (${floor.firstError})` : ''),
      );
    }
  }
  ctx.sim.reset();
  return results;
}
