/**
 * `npm start` as real processes: every signal to any process of its tree
 * (npm, the stack's node, the whole process group) stops all of it, and no
 * child outlives a killed parent, DynamoDB Local's java included. Each case
 * starts a stack on free ports, waits for the ready banner, records the
 * tree, sends the signal and then requires, within a bounded time, that no
 * process of the tree runs and no port of the banner answers.
 */
import { bannerPorts, eventually, launch, portAnswers, processTree, READY_BANNER, stillRunning, type Launcher, type ProcessInfo } from '../support/local-process';

const READY_WITHIN_MS = 30_000;
/** The stack's own stop is about a second; the parent watchdog polls every 250 ms. */
const STOPPED_WITHIN_MS = 8_000;
/** Stacks started at once (2 CPU cores: Java's start is the slow part). */
const AT_ONCE = 3;

jest.setTimeout(120_000);

/** The process the launch started (npm or tsx's CLI), the stack's node process, or the whole process group. */
type Target = 'launcher' | 'node' | 'group';
interface Case {
  readonly how: Launcher;
  readonly signal: NodeJS.Signals;
  readonly target: Target;
}

const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const targets: Target[] = ['launcher', 'node', 'group'];
const cases: Case[] = [
  ...signals.flatMap((signal) => targets.map((target) => ({ how: 'npm' as const, signal, target }))),
  // kill -9: nothing can catch it, only watchdogs help.
  { how: 'npm', signal: 'SIGKILL', target: 'node' },
  { how: 'npm', signal: 'SIGKILL', target: 'launcher' },
  // tsx's CLI relays SIGINT and SIGTERM but dies of SIGHUP, leaving its node child behind.
  { how: 'tsx', signal: 'SIGHUP', target: 'launcher' },
  { how: 'tsx', signal: 'SIGTERM', target: 'launcher' },
  { how: 'tsx', signal: 'SIGINT', target: 'group' },
  { how: 'tsx', signal: 'SIGKILL', target: 'node' },
];

/** A tiny semaphore: at most AT_ONCE stacks run together. */
let running = 0;
const queue: (() => void)[] = [];
async function slot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= AT_ONCE) await new Promise<void>((resolve) => queue.push(resolve));
  running += 1;
  try {
    return await work();
  } finally {
    running -= 1;
    queue.shift()?.();
  }
}

/** Processes of cases that failed, by pid and command line (so a reused pid is never killed). */
const leftovers = new Map<number, string>();
afterAll(() => {
  for (const p of stillRunning([...leftovers.keys()])) {
    if (leftovers.get(p.pid) === p.args) process.kill(p.pid, 'SIGKILL');
  }
});

interface RunningStack {
  readonly tree: ProcessInfo[];
  readonly launcherPid: number;
  readonly nodePid: number;
  readonly javaPid: number;
  readonly ports: number[];
  readonly banner: string;
}

async function startStack(how: Launcher): Promise<RunningStack & { process: ReturnType<typeof launch> }> {
  const started = launch(how);
  const banner = await started.waitForOutput(READY_BANNER, READY_WITHIN_MS).catch((error: Error) => {
    started.root.kill('SIGKILL');
    throw error;
  });
  const tree = processTree(started.root.pid!);
  for (const p of tree) leftovers.set(p.pid, p.args);
  const java = tree.find((p) => p.args.includes('LoopbackDynamoDbLocal'));
  if (!java) throw new Error(`no DynamoDB Local java in the tree: ${tree.map((p) => p.args).join(' | ')}`);
  return { process: started, tree, launcherPid: started.root.pid!, nodePid: java.ppid, javaPid: java.pid, ports: bannerPorts(banner), banner };
}

function send(stack: RunningStack, target: Target, signal: NodeJS.Signals): void {
  // The launcher was spawned detached: it leads its own process group.
  const pid = target === 'launcher' ? stack.launcherPid : target === 'node' ? stack.nodePid : -stack.launcherPid;
  process.kill(pid, signal);
}

const recipient = ({ how, target }: Case) => (target === 'launcher' ? how : target === 'node' ? "the stack's node process" : 'the process group');
const titled = cases.map((c) => ({ ...c, to: recipient(c) }));

describe('stopping the local stack', () => {
  test.concurrent.each(titled)('$how start, $signal to $to: every process of the tree stops, every port is freed', ({ how, signal, target }) =>
    slot(async () => {
      const stack = await startStack(how);
      expect(stack.ports.length).toBeGreaterThanOrEqual(4);
      expect(stack.tree.map((p) => p.pid)).toEqual(expect.arrayContaining([stack.launcherPid, stack.nodePid, stack.javaPid]));
      for (const port of stack.ports) expect(await portAnswers(port)).toBe(true);

      send(stack, target, signal);

      const pids = stack.tree.map((p) => p.pid);
      const allStopped = await eventually(() => stillRunning(pids).length === 0, STOPPED_WITHIN_MS);
      expect({ allStopped, stillRunning: stillRunning(pids).map((p) => p.args.slice(0, 80)) }).toEqual({ allStopped: true, stillRunning: [] });
      const answering = [];
      for (const port of stack.ports) if (await portAnswers(port)) answering.push(stack.banner.split('\n').find((line) => line.includes(`:${port}`))?.trim());
      expect(answering).toEqual([]);
      for (const pid of pids) leftovers.delete(pid);
    }),
  );
});
