/**
 * The local stack as a person runs it: `npm start` (or tsx bin/local.ts) as
 * real processes, on free ports, with the process tree, the ports and the
 * output a test needs to check how it stops. Output kept here has its keys
 * and secrets redacted, so a failing test never prints one.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REPO = join(__dirname, '..', '..');

/** How the stack is launched: the README's `npm start`, or tsx's CLI on bin/local.ts. */
export type Launcher = 'npm' | 'tsx';

export interface LocalProcess {
  readonly root: ChildProcess;
  /** stdout and stderr so far, secrets redacted. */
  output(): string;
  /** Resolves with the output once it matches; rejects on timeout or when the root process exits first. */
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<string>;
  /** Resolves with the root's exit code (null when killed by a signal). */
  exited(): Promise<number | null>;
}

const redact = (text: string) => text.replace(/(lgw_|whsec_|sk-local-)[A-Za-z0-9_+/=-]+/g, '$1<redacted>');

/** The environment of a stack on free ports, whatever the test process has in its own. */
export function stackEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: '0',
    DYNAMODB_LOCAL_PORT: '0',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    // Not the repository's .local/stack.json: that one is the developer's own npm start.
    LOCAL_STATE_FILE: join(tmpdir(), `luma-local-state-${randomBytes(6).toString('hex')}.json`),
    ...extra,
  };
  for (const name of ['DYNAMODB_ENDPOINT', 'TEST_DYNAMODB_ENDPOINT', 'UPSTREAM_BASE_URL', 'UPSTREAM_API_KEY', 'LOCAL_CLIENT_KEY', 'LOCAL_WEBHOOK_SECRET', 'JAVA_TOOL_OPTIONS']) {
    if (!(name in extra)) delete env[name];
  }
  return env;
}

/** Starts the stack in a process group of its own (so a test can signal the group without signalling Jest). */
export function launch(how: Launcher, env: NodeJS.ProcessEnv = stackEnv()): LocalProcess {
  const [command, args] = how === 'npm' ? ['npm', ['start', '--silent']] : [join(REPO, 'node_modules', '.bin', 'tsx'), ['bin/local.ts']];
  const root = spawn(command, args, { cwd: REPO, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    text += chunk.toString('utf8');
    for (const check of waiters) check();
  };
  root.stdout!.on('data', onData);
  root.stderr!.on('data', onData);
  const exit = new Promise<number | null>((resolve) => root.once('exit', (code) => resolve(code)));
  return {
    root,
    output: () => redact(text),
    exited: () => exit,
    waitForOutput: (pattern, timeoutMs) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (!pattern.test(text)) return;
          done();
          resolve(redact(text));
        };
        const timer = setTimeout(() => (done(), reject(new Error(`no ${pattern} within ${timeoutMs} ms; output:\n${redact(text)}`))), timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        void exit.then((code) => {
          if (!waiters.has(check)) return;
          done();
          reject(new Error(`exited (${code}) before ${pattern}; output:\n${redact(text)}`));
        });
        waiters.add(check);
        check();
      }),
  };
}

export const READY_BANNER = /Ctrl-C to stop\. Requests:/;

/** Every port on 127.0.0.1 the ready banner names (API, DynamoDB Local, simulator, Secrets Manager). */
export function bannerPorts(banner: string): number[] {
  return [...new Set([...banner.matchAll(/http:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1])))];
}

export interface ProcessInfo {
  readonly pid: number;
  readonly ppid: number;
  readonly state: string;
  readonly args: string;
}

/** Every process on the machine, as ps sees it now. */
export function processTable(): ProcessInfo[] {
  const result = spawnSync('ps', ['-A', '-o', 'pid=,ppid=,stat=,args='], { encoding: 'utf8' });
  return result.stdout
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), state: m[3], args: m[4] }));
}

/** The process and all its descendants. */
export function processTree(rootPid: number): ProcessInfo[] {
  const table = processTable();
  const tree = table.filter((p) => p.pid === rootPid);
  for (let i = 0; i < tree.length; i += 1) tree.push(...table.filter((p) => p.ppid === tree[i].pid));
  return tree;
}

/**
 * Those of the pids that still run. A zombie has finished (it only waits to
 * be reaped), but a multi-threaded one (`Zl`: its main thread exited while
 * others, such as a JVM's shutdown, still run) has not.
 */
export function stillRunning(pids: readonly number[]): ProcessInfo[] {
  return processTable().filter((p) => pids.includes(p.pid) && !(p.state.startsWith('Z') && !p.state.includes('l')));
}

/** Whether something accepts connections on 127.0.0.1:port. */
export function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000, () => (socket.destroy(), resolve(true)));
    // A connect to a free ephemeral port can meet itself (TCP simultaneous open): nobody answered.
    socket.once('connect', () => (resolve(socket.localPort !== port), socket.destroy()));
    socket.once('error', () => resolve(false));
  });
}

/** Polls until check() is true; false when the deadline passes first. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
