/**
 * Cold starts: a fresh `node` process per run (cold-runner.mjs) imports a
 * bundle and serves one invocation against the local stack, with the
 * environment Lambda would give it (NODE_OPTIONS from the template).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { settingNames, specOf } from '../../functions/settings';
import { TABLES, tableRoles } from '../../functions/tables';
import { epochMs } from './stats';

export interface ColdSample {
  /** Spawn to exit, as seen by the parent (includes Node's own boot and exit). */
  readonly wallMs: number;
  /** Node's boot until the runner's first line. */
  readonly runnerStartMs: number;
  /** `await import(bundle)`: the function's init. */
  readonly importMs: number;
  /** The first invocation (SDK clients, credentials, first connections...). */
  readonly firstMs: number;
  readonly initLogBytes: number;
  readonly invokeLogBytes: number;
  readonly ok: boolean;
  readonly statusCode?: number;
  readonly error?: string;
}

export interface ColdTarget {
  /** The node binary to run (runtimes.ts). */
  readonly execPath: string;
  readonly functionName: string;
  readonly bundleFile: string;
  readonly memoryMb: number;
  readonly timeoutMs: number;
  readonly nodeOptions: string;
}

const RUNNER = join(__dirname, 'cold-runner.mjs');

/** The gateway's own variables, from their one declaration: every setting's and every table's (the local stack sets them). */
const GATEWAY_ENV = new Set<string>([...settingNames.flatMap((name) => specOf(name).env ?? []), ...tableRoles.map((role) => TABLES[role].env)]);

/** What Lambda puts in a function's environment, with the local stack's endpoints and tables. */
export function lambdaEnvironment(functionName: string, memoryMb: number, nodeOptions: string, bundleFile = ''): NodeJS.ProcessEnv {
  const keep = (name: string) => GATEWAY_ENV.has(name) || /^(AWS_REGION|AWS_DEFAULT_REGION|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_ENDPOINT_URL_[A-Z0-9_]+|AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED|PATH)$/.test(name);
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (keep(name) && value !== undefined) env[name] = value;
  return {
    ...env,
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_LAMBDA_FUNCTION_NAME: `luma-gateway-dev-${functionName}`,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    POWERTOOLS_SERVICE_NAME: 'luma-gateway',
    LOG_LEVEL: 'INFO',
    NODE_OPTIONS: nodeOptions,
    // Active tracing (every function has it): Lambda's task root and handler, the X-Ray daemon, and the
    // invocation's sampled trace header, so a function that traces does its real work here. The daemon
    // is AWS_XRAY_DAEMON_ADDRESS when the caller listens on one; UDP to a closed port costs the same send.
    LAMBDA_TASK_ROOT: bundleFile === '' ? '/var/task' : dirname(bundleFile),
    _HANDLER: 'index.handler',
    AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
    AWS_XRAY_DAEMON_ADDRESS: process.env.AWS_XRAY_DAEMON_ADDRESS ?? '127.0.0.1:2000',
    _X_AMZN_TRACE_ID: `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=1`,
  };
}

export function coldStart(target: ColdTarget, event: unknown, workDir: string, run: number): Promise<ColdSample> {
  const eventFile = join(workDir, `${target.functionName}-${run}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(eventFile, JSON.stringify(event));
  const env = lambdaEnvironment(target.functionName, target.memoryMb, target.nodeOptions, target.bundleFile);
  return new Promise((resolve) => {
    const started = epochMs();
    const child = spawn(target.execPath, [RUNNER, target.bundleFile, eventFile, target.functionName, String(target.memoryMb), String(target.timeoutMs)], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-2000)));
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', () => {
      clearTimeout(killer);
      const wallMs = epochMs() - started;
      const line = stdout.split('\n').find((text) => text.startsWith('__BENCH__'));
      if (!line) {
        resolve({ wallMs, runnerStartMs: NaN, importMs: NaN, firstMs: NaN, initLogBytes: 0, invokeLogBytes: 0, ok: false, error: `no result: ${stderr.trim().slice(-500)}` });
        return;
      }
      resolve({ wallMs, ...(JSON.parse(line.slice('__BENCH__'.length)) as Omit<ColdSample, 'wallMs'>) });
    });
  });
}
