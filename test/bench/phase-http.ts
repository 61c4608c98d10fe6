/**
 * Figure 3 and the callback figures: the local stack over HTTP at a fixed
 * concurrency, the client in its own process (load-runner.mjs).
 *
 * 1. extends: POST .../extend of an upstream id; the simulator's callbacks
 *    are dropped so only extends run. Verified afterwards: every 200 named a
 *    task that DynamoDB holds, pending, owned by the client, with its
 *    upstream id; the upstream received exactly one submission per task.
 * 2. callbacks: for each of those tasks, the upstream's callbacks (pending,
 *    processing, completed, and one duplicate), shuffled across all tasks,
 *    sent with the tokens the upstream received. Verified afterwards: every
 *    task at the highest rank sent (completed), and on the table's stream
 *    every MODIFY of those tasks raised status_rank (no regression) but the
 *    one that settles a completed task's media, once per task.
 */
import { readWholeStream } from '../support/stream';
import { SEED_GENERATION_ID } from '../../lib/local/upstream-simulator';
import type { BenchContext } from './context';
import { generationBody } from './events';
import { dataOf, runLoad, type LoadRun, type PlannedRequest } from './http-load';
import { distribution, log, round, seededShuffle, type Distribution } from './stats';
import { getTasks } from './tasks';

export interface HttpPhaseRun {
  readonly requests: number;
  readonly concurrency: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly latencyMs: Distribution;
  /** Answers other than 200 (and transport failures). */
  readonly errors: number;
  readonly statuses: Record<string, number>;
}

export interface HttpResult {
  readonly extends: HttpPhaseRun & {
    readonly verified: { readonly tasksFound: number; readonly pendingWithUpstreamId: number; readonly upstreamSubmissions: number; readonly problems: string[] };
  };
  readonly callbacks: HttpPhaseRun & {
    readonly tasks: number;
    readonly applied: number;
    readonly appliedPerSecond: number;
    readonly verified: {
      readonly tasksAtHighestRank: number;
      readonly lost: number;
      readonly streamModifies: number;
      /** MODIFYs that settled a completed task's media (same status; one per task). */
      readonly mediaSettlements: number;
      readonly regressions: number;
      readonly problems: string[];
    };
  };
}

export function summarise(run: LoadRun, concurrency: number): HttpPhaseRun {
  const statuses: Record<string, number> = {};
  for (const result of run.results) statuses[String(result.status)] = (statuses[String(result.status)] ?? 0) + 1;
  const first = Math.min(...run.results.map((r) => r.startMs));
  const last = Math.max(...run.results.map((r) => r.endMs));
  const seconds = (last - first) / 1000;
  const ok = run.results.filter((r) => r.status === 200).length;
  return {
    requests: run.results.length,
    concurrency,
    seconds: round(seconds, 2),
    perSecond: round(ok / seconds, 1),
    latencyMs: distribution(run.results.map((r) => r.endMs - r.startMs)),
    errors: run.results.length - ok,
    statuses,
  };
}

export function jsonHeaders(clientKey?: string): Record<string, string> {
  return { 'Content-Type': 'application/json', ...(clientKey && { Authorization: `Bearer ${clientKey}` }) };
}

export async function httpPhase(ctx: BenchContext): Promise<HttpResult> {
  const { stack, sim, doc, config } = ctx;
  const concurrency = config.concurrency;

  // 1. Extends.
  sim.reset();
  sim.setFaults({ callbacks: { dropRate: 1 } });
  const extendRequests: PlannedRequest[] = Array.from({ length: config.httpExtends }, (_, i) => ({
    method: 'POST',
    path: `/luma/generations/${SEED_GENERATION_ID}/extend`,
    headers: jsonHeaders(stack.clientKey),
    body: { user_prompt: `throughput ${i}: a cat walks into the frame`, expand_prompt: i % 2 === 0 },
  }));
  const extendRun = await runLoad(ctx.workDir, { baseUrl: stack.url, concurrency, requests: extendRequests });
  const extendSummary = summarise(extendRun, concurrency);
  const taskIds = extendRun.results.map((r) => dataOf(r)?.task_id as string | undefined).filter((id): id is string => typeof id === 'string');
  const stored = await getTasks(doc, stack.tableNames.tasks, taskIds);
  const problems: string[] = [];
  let pendingWithUpstreamId = 0;
  for (const id of taskIds) {
    const task = stored.get(id);
    if (!task) problems.push(`task ${id} answered 200 but is not in DynamoDB`);
    else if (task.owner_id !== stack.clientId) problems.push(`task ${id} has another owner`);
    else if (task.task_status === 'pending' && typeof task.upstream_id === 'string') pendingWithUpstreamId += 1;
    else problems.push(`task ${id} is ${task.task_status} (upstream id ${task.upstream_id ?? 'missing'})`);
  }
  const submissions = sim.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/extend'));
  if (submissions.length !== taskIds.length) problems.push(`the upstream received ${submissions.length} submissions for ${taskIds.length} tasks`);
  log(`http extends: ${extendSummary.perSecond}/s at concurrency ${concurrency}, p50 ${round(extendSummary.latencyMs.p50)} ms, errors ${extendSummary.errors}, problems ${problems.length}`);

  // 2. Callbacks, with the tokens the upstream received.
  const tokenOf = new Map<string, string>();
  for (const submission of submissions) {
    const hook = (submission.body as { notify_hook?: string })?.notify_hook ?? '';
    const token = /\/luma\/callbacks\/([^/?#]+)$/.exec(hook)?.[1];
    if (token) tokenOf.set(token.split('.')[0], token);
  }
  const callbackTasks = taskIds.filter((id) => tokenOf.has(id) && stored.get(id)?.upstream_id);
  const sends: { taskId: string; state: 'pending' | 'processing' | 'completed' }[] = [];
  callbackTasks.forEach((taskId, index) => {
    sends.push({ taskId, state: 'pending' }, { taskId, state: 'processing' }, { taskId, state: 'completed' });
    sends.push({ taskId, state: index % 2 === 0 ? 'processing' : 'completed' }); // the upstream retries: a duplicate
  });
  const callbackRequests: PlannedRequest[] = seededShuffle(sends, 42).map(({ taskId, state }) => ({
    method: 'POST',
    path: `/luma/callbacks/${tokenOf.get(taskId)}`,
    headers: jsonHeaders(),
    body: generationBody(stored.get(taskId)!.upstream_id, state, stored.get(taskId)!.prompt, `${ctx.sim.url}/media`),
  }));
  const callbackRun = await runLoad(ctx.workDir, { baseUrl: stack.url, concurrency, requests: callbackRequests });
  const callbackSummary = summarise(callbackRun, concurrency);
  const applied = callbackRun.results.filter((r) => dataOf(r)?.applied === true).length;

  const after = await getTasks(doc, stack.tableNames.tasks, callbackTasks);
  const callbackProblems: string[] = [];
  let atHighest = 0;
  for (const id of callbackTasks) {
    const task = after.get(id);
    if (task?.task_status === 'completed' && task.status_rank === 3 && typeof task.video_url === 'string') atHighest += 1;
    else callbackProblems.push(`task ${id} ended ${task?.task_status ?? 'missing'}`);
  }
  const wanted = new Set(callbackTasks);
  let modifies = 0;
  let mediaSettlements = 0;
  let regressions = 0;
  for (const record of await readWholeStream(stack.dynamoEndpoint, stack.tableNames.tasks)) {
    const id = record.dynamodb?.Keys?.task_id?.S;
    if (record.eventName !== 'MODIFY' || !id || !wanted.has(id)) continue;
    modifies += 1;
    const before = Number(record.dynamodb?.OldImage?.status_rank?.N);
    const next = Number(record.dynamodb?.NewImage?.status_rank?.N);
    // The one MODIFY that keeps the status (stream contract 1.1): the completed task's media settled, once.
    const mediaSettled = next === before && record.dynamodb?.OldImage?.asset_state?.S === 'pending' && record.dynamodb?.NewImage?.asset_state?.S !== 'pending';
    if (mediaSettled) mediaSettlements += 1;
    else if (!(next > before)) {
      regressions += 1;
      if (callbackProblems.length < 20) callbackProblems.push(`task ${id}: a MODIFY from rank ${before} to ${next}`);
    }
  }
  const appliedPerSecond = round(applied / callbackSummary.seconds, 1);
  log(
    `http callbacks: ${callbackSummary.perSecond}/s (${appliedPerSecond} applied/s) at concurrency ${concurrency}, p50 ${round(callbackSummary.latencyMs.p50)} ms, p99 ${round(callbackSummary.latencyMs.p99)} ms, ` +
      `errors ${callbackSummary.errors}, lost ${callbackTasks.length - atHighest}, regressions ${regressions}, media settled ${mediaSettlements}`,
  );
  sim.reset();
  return {
    extends: { ...extendSummary, verified: { tasksFound: stored.size, pendingWithUpstreamId, upstreamSubmissions: submissions.length, problems: problems.slice(0, 20) } },
    callbacks: {
      ...callbackSummary,
      tasks: callbackTasks.length,
      applied,
      appliedPerSecond,
      verified: { tasksAtHighestRank: atHighest, lost: callbackTasks.length - atHighest, streamModifies: modifies, mediaSettlements, regressions, problems: callbackProblems.slice(0, 20) },
    },
  };
}
