/**
 * Counts and switches of `npm run bench`, from the environment.
 *
 *   BENCH_QUICK=1            a smoke run: every figure, small counts (about a minute)
 *   BENCH_SYNTH=0            skip `cdk synth` (bundles built with the stack's esbuild options only)
 *   BENCH_COLD_RUNS          fresh processes per row (function or floor, runtime) (30; quick 3)
 *   BENCH_WARM_N             warm invocations of extend and of callback, each    (2000; quick 200)
 *   BENCH_NODE_MAJORS        Node majors besides the local one (runtimes.ts)      (24)
 *   BENCH_WARM_OTHER_N       warm invocations of get-task, authorizer, task-changes  (300; quick 50)
 *   BENCH_HTTP_EXTENDS       extends over HTTP (their tasks get the callbacks)   (600; quick 80)
 *   BENCH_CONCURRENCY        concurrent HTTP clients                             (8)
 *   BENCH_NOTIFY_PACED       tasks notified one at a time, for the delay         (40; quick 10)
 *   BENCH_NOTIFY_BURST       tasks notified at once, for notifications/s         (120; quick 20)
 *   BENCH_NOTIFY_RANDOM      tasks whose hooks fail at random (3 changes each)   (30; quick 10)
 *   BENCH_LIFECYCLE_TASKS    whole-life tasks metered for DynamoDB units         (10; quick 4)
 *   BENCH_COLD_START_SHARE   share of invocations that are cold, for the cost    (0.01)
 *   BENCH_OUT                results directory                                   (bench-results)
 *   BENCH_PHASES             a comma list of cold,warm,http,notify,units,worst to run only those
 *                            (the cost needs cold, warm and units)                (all)
 */
export const PHASES = ['cold', 'warm', 'http', 'notify', 'units', 'worst'] as const;
export type Phase = (typeof PHASES)[number];

function phases(): ReadonlySet<Phase> {
  const raw = process.env.BENCH_PHASES;
  if (raw === undefined || raw.trim() === '') return new Set(PHASES);
  const chosen = raw.split(',').map((part) => part.trim()).filter(Boolean);
  for (const phase of chosen) if (!(PHASES as readonly string[]).includes(phase)) throw new Error(`BENCH_PHASES: unknown phase ${phase}; known: ${PHASES.join(', ')}`);
  return new Set(chosen as Phase[]);
}

const quick = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';

function count(name: string, full: number, quickValue: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return quick ? quickValue : full;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  return value;
}

function share(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!(value >= 0 && value <= 1)) throw new Error(`${name} must be a number from 0 to 1, got ${JSON.stringify(raw)}`);
  return value;
}

export const benchConfig = {
  quick,
  synth: process.env.BENCH_SYNTH !== '0' && process.env.BENCH_SYNTH !== 'false',
  coldRuns: count('BENCH_COLD_RUNS', 30, 3),
  warmN: count('BENCH_WARM_N', 2000, 200),
  warmOtherN: count('BENCH_WARM_OTHER_N', 300, 50),
  warmUp: quick ? 20 : 100,
  httpExtends: count('BENCH_HTTP_EXTENDS', 600, 80),
  concurrency: count('BENCH_CONCURRENCY', 8, 8),
  notifyPaced: count('BENCH_NOTIFY_PACED', 40, 10),
  notifyBurst: count('BENCH_NOTIFY_BURST', 120, 20),
  notifyRandomTasks: count('BENCH_NOTIFY_RANDOM', 30, 10),
  lifecycleTasks: count('BENCH_LIFECYCLE_TASKS', 10, 4),
  coldStartShare: share('BENCH_COLD_START_SHARE', 0.01),
  outDir: process.env.BENCH_OUT ?? 'bench-results',
  phases: [...phases()],
};

export type BenchConfig = typeof benchConfig;
