/**
 * The Node.js runtimes the bench measures on: this process's own node (the
 * local one) and the major Lambda runs (nodejs24.x), from the npm registry's
 * node-<platform>-<arch> package, installed once into a cache directory by
 * npm itself (not a dependency of the project: `npm ci` never fetches it).
 *
 *   BENCH_NODE_MAJORS   majors besides the local one            (24; "" for the local one only)
 *   BENCH_NODE_CACHE    where the binaries are installed        (~/.cache/luma-gateway-bench)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { log } from './stats';

export interface NodeRuntime {
  /** "node20", "node24": the row label. */
  readonly label: string;
  readonly major: number;
  readonly version: string;
  readonly execPath: string;
  /** The one Lambda runs (nodejs24.x). */
  readonly lambda: boolean;
}

export const LAMBDA_NODE_MAJOR = 24;

const majorOf = (version: string) => Number(/^v?(\d+)/.exec(version)?.[1]);

function versionOf(execPath: string): string {
  return execFileSync(execPath, ['--version'], { encoding: 'utf8' }).trim();
}

/** A node binary of that major from the npm registry, installed once into the cache. */
function installedNode(major: number, cacheDir: string): string {
  const pkg = `node-${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`;
  const prefix = join(cacheDir, `node-${major}`);
  const binary = join(prefix, 'node_modules', pkg, 'bin', process.platform === 'win32' ? 'node.exe' : 'node');
  if (!existsSync(binary)) {
    log(`installing Node ${major} for the bench: npm install --prefix ${prefix} ${pkg}@${major}`);
    mkdirSync(prefix, { recursive: true });
    execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--no-package-lock', '--prefix', prefix, `${pkg}@${major}`], {
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 300_000,
    });
  }
  return binary;
}

export function nodeRuntimes(env: NodeJS.ProcessEnv = process.env): NodeRuntime[] {
  const localMajor = majorOf(process.version);
  const runtimes: NodeRuntime[] = [{ label: `node${localMajor}`, major: localMajor, version: process.version, execPath: process.execPath, lambda: localMajor === LAMBDA_NODE_MAJOR }];
  const raw = env.BENCH_NODE_MAJORS ?? String(LAMBDA_NODE_MAJOR);
  const cacheDir = env.BENCH_NODE_CACHE ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'luma-gateway-bench');
  for (const part of raw.split(',').map((text) => text.trim()).filter(Boolean)) {
    const major = Number(part);
    if (!Number.isInteger(major) || major < 18) throw new Error(`BENCH_NODE_MAJORS: ${part} is not a Node major`);
    if (runtimes.some((runtime) => runtime.major === major)) continue;
    const execPath = installedNode(major, cacheDir);
    const version = versionOf(execPath);
    if (majorOf(version) !== major) throw new Error(`${execPath} is ${version}, not Node ${major}`);
    runtimes.push({ label: `node${major}`, major, version, execPath, lambda: major === LAMBDA_NODE_MAJOR });
  }
  return runtimes;
}

/** The runtime whose figures stand for Lambda in the cost: Node 24 when measured, else the local one. */
export function lambdaRuntime(runtimes: readonly NodeRuntime[]): NodeRuntime {
  return runtimes.find((runtime) => runtime.lambda) ?? runtimes[0];
}
