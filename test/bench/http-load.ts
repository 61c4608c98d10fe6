/** Runs an HTTP load plan in a child process (load-runner.mjs) and reads its results. */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface PlannedRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
}

export interface LoadResult {
  readonly status: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly body: string;
  readonly error?: string;
}

export interface LoadRun {
  readonly results: LoadResult[];
  readonly startedMs: number;
  readonly endedMs: number;
}

const RUNNER = join(__dirname, 'load-runner.mjs');
let runs = 0;

export function runLoad(workDir: string, plan: { baseUrl: string; concurrency: number; intervalMs?: number; requests: readonly PlannedRequest[] }): Promise<LoadRun> {
  runs += 1;
  const planFile = join(workDir, `load-plan-${runs}.json`);
  const outFile = join(workDir, `load-out-${runs}.json`);
  writeFileSync(planFile, JSON.stringify(plan));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUNNER, planFile, outFile], { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH } });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-2000)));
    const killer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.on('close', (code) => {
      clearTimeout(killer);
      if (code !== 0) return reject(new Error(`load runner exited with ${code}: ${stderr}`));
      resolve(JSON.parse(readFileSync(outFile, 'utf8')) as LoadRun);
    });
  });
}

/** The envelope's data of a 200 answer, or undefined. */
export function dataOf(result: LoadResult): any {
  if (result.status !== 200) return undefined;
  try {
    return JSON.parse(result.body).data;
  } catch {
    return undefined;
  }
}
