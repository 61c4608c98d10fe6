/**
 * `npm start`: the whole stack on this machine (lib/local/local-stack.ts).
 *
 * Environment (all optional):
 *   PORT                     API port (default 3000; 0 = any free port; refused when anything holds it)
 *   UPSTREAM_BASE_URL        a real upstream instead of the simulator (needs UPSTREAM_API_KEY)
 *   UPSTREAM_API_KEY         the upstream key (random for the simulator)
 *   LOCAL_CLIENT_KEY         the local client's API key (kept across restarts; generated when unset)
 *   LOCAL_WEBHOOK_SECRET     the local client's whsec_ signing secret (generated when unset)
 *   DYNAMODB_ENDPOINT        a running DynamoDB instead of starting DynamoDB Local
 *   DYNAMODB_LOCAL_PORT      port of the DynamoDB Local started (default 8000 when free, else any; 0 = any
 *                            free port; when set, refused when anything holds it: no two stacks share one database)
 *   LOCAL_TABLE_PREFIX       table name prefix (default local_)
 *   RECONCILE_AFTER_SECONDS  seconds before an open task is checked upstream (default 30)
 *   TASK_DEADLINE_SECONDS    seconds before an unfinished task is failed
 *   UPSTREAM_TIMEOUT_MS, AUTHORIZER_CACHE_TTL_SECONDS, LOCAL_RECONCILE_EVERY_MS
 *   POWERTOOLS_LOG_LEVEL     handler log level (default WARN here)
 *   LOCAL_ACCESS_LOG=json    access log as JSON lines (default: one short line per request)
 *   LOCAL_STATE_FILE         where the endpoints and table names are written for `npm run client` (default .local/stack.json)
 *   AWS_XRAY_DAEMON_ADDRESS  an X-Ray daemon (host:port, UDP): the functions that trace send it their segments
 * Stopping: SIGINT (Ctrl-C), SIGTERM or SIGHUP, sent to npm, to this node
 * process or to the whole process group, stops everything: npm relays SIGINT
 * and SIGTERM to this process (`npm start` execs node, so no shell sits in
 * between), and when the process that started this one dies however it dies
 * (npm on SIGHUP, a kill -9), a watchdog sees this process re-parented and
 * stops the stack. DynamoDB Local's java exits when this process does, even
 * on a kill -9 of it: its launcher watches a pipe from this process
 * (lib/local/LoopbackDynamoDbLocal.java).
 */
import type { ChildProcess } from 'node:child_process';
import { relative } from 'node:path';
import type { AccessLogEntry } from '../lib/local/http-front';
import { removeStackState, stateFilePath, writeStackState } from '../lib/local/state-file';
import type { LocalStack } from '../lib/local/local-stack';

const launchedAt = Date.now() - Math.round(process.uptime() * 1000);
const startedAt = Date.now();

// Before any handler module is loaded (Powertools reads it at import). The access log below shows each request.
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const children = new Set<ChildProcess>();
let stack: LocalStack | undefined;
/** The state file this process wrote (lib/local/state-file.ts), removed however it stops. */
let stateFile: string | undefined;
let stopping = false;
let firstSignalAt = 0;

// Whatever happens to this process, DynamoDB Local's java must not outlive it, nor its state file.
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (stateFile) removeStackState(stateFile);
});

async function shutdown(signal: string): Promise<void> {
  if (stopping) {
    // Ctrl-C reaches this process twice (from the terminal, and relayed by npm): only a later one forces the exit.
    if (Date.now() - firstSignalAt < 2000) return;
    console.error(`\n${signal} again: exiting now`);
    process.exit(1);
  }
  stopping = true;
  firstSignalAt = Date.now();
  console.log(`\n${signal}: stopping the local stack...`);
  const force = setTimeout(() => {
    console.error('still stopping after 10 s: exiting anyway');
    process.exit(1);
  }, 10_000);
  force.unref();
  try {
    await stack?.stop();
  } finally {
    console.log('stopped');
    process.exit(0);
  }
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGHUP', () => void shutdown('SIGHUP'));

// The watchdog: a process whose parent dies is re-parented (to init or a subreaper), so process.ppid changes.
// This covers what no signal handler can: npm killed by SIGHUP (which it does not relay) or by kill -9.
const parentAtStart = process.ppid;
const parentWatch = setInterval(() => {
  if (process.ppid === parentAtStart) return;
  clearInterval(parentWatch);
  void shutdown(`the parent process (${parentAtStart}) exited`);
}, 250);
parentWatch.unref();
for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
  process.on(event, (error: unknown) => {
    console.error(`local stack: ${event}: ${(error as Error)?.message ?? String(error)}`);
    process.exit(1);
  });
}

/** A word safe to paste into a POSIX shell. */
function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

function accessLogLine(entry: AccessLogEntry): void {
  if (process.env.LOCAL_ACCESS_LOG === 'json') {
    console.log(JSON.stringify(entry));
    return;
  }
  const time = new Date().toISOString().slice(11, 23);
  const error = entry.errorResponseType ? ` (${entry.errorResponseType})` : '';
  console.log(`${time} ${entry.httpMethod} ${entry.resourcePath} ${entry.status} ${entry.responseLatency}ms${error}`);
}

async function main(): Promise<void> {
  const { startLocalStack } = await import('../lib/local/local-stack');
  const { JavaMissingError } = await import('../lib/local/dynamodb-local');
  const { PortInUseError } = await import('../lib/local/net');
  const { routes } = await import('../functions/routes');
  const { SEED_GENERATION_ID } = await import('../lib/local/upstream-simulator');
  const { LOCAL_REGION } = await import('../lib/local/lambda-runtime');
  const { localDefault } = await import('../lib/local/local-stack');
  const { parseSetting } = await import('../functions/settings');

  try {
    stack = await startLocalStack({ accessLog: accessLogLine, onChildProcess: (child) => children.add(child) });
  } catch (error) {
    if (error instanceof JavaMissingError || error instanceof PortInUseError) {
      console.error(error.message);
    } else {
      console.error(`The local stack could not start: ${(error as Error)?.message ?? String(error)}`);
    }
    process.exit(1);
  }
  if (stopping) return;

  const s = stack;
  const statePath = stateFilePath(parseSetting('stateFile', process.env.LOCAL_STATE_FILE, 'env', localDefault('stateFile'))!);
  writeStackState(statePath, {
    pid: process.pid,
    apiUrl: s.url,
    region: LOCAL_REGION,
    dynamoEndpoint: s.dynamoEndpoint,
    tables: s.tableNames,
    startedAt: new Date().toISOString(),
  });
  stateFile = statePath;
  const readyMs = Date.now() - startedAt;
  const sinceLaunchMs = Date.now() - launchedAt;
  const auth = shellQuote(`Authorization: Bearer ${s.clientKey}`);
  const extendUrl = `${s.url}/luma/generations/${SEED_GENERATION_ID}/extend`;
  const post = `curl -sS -X POST ${extendUrl} -H ${auth} -H 'Content-Type: application/json' -d '{"user_prompt":"add cat","expand_prompt":true}'`;
  const hasGet = routes.some((route) => route.method === 'GET' && route.path === '/luma/generations/{task_id}');
  const simulator = s.upstream;

  const lines = [
    '',
    `luma-gateway local stack ready in ${(readyMs / 1000).toFixed(1)} s (${(sinceLaunchMs / 1000).toFixed(1)} s since launch)`,
    '',
    `  API             ${s.url}   (routes: ${routes.map((r) => `${r.method} ${r.path}`).join(', ')})`,
    `  DynamoDB        ${s.dynamoEndpoint}   ${s.startedDynamoDb ? 'DynamoDB Local, in memory: data is gone at stop' : 'DYNAMODB_ENDPOINT'}; tables ${Object.values(s.tableNames).join(', ')}`,
    simulator
      ? `  Upstream        simulator at ${simulator.url}   (faults: curl -sS -X POST ${simulator.url}/_sim/faults -d '{"errorRate":0.5}'; see /_sim/requests)`
      : `  Upstream        ${s.upstreamUrl} (real upstream)`,
    `  Secrets Manager ${s.secrets.url}   secret ${s.upstreamSecretId} holds the upstream key`,
    `  S3              ${s.s3.url}   bucket ${s.assetBucket} holds completed tasks' media (in a temporary directory: gone at stop)`,
    `  Lambda          ${s.lambda.url}   asynchronous invocations (task-changes starts the asset worker)`,
    `  Background      ${s.background.length > 0 ? s.background.join(', ') : 'none'}`,
    '',
    `  Client id       ${s.clientId}`,
    `  Client key      ${s.clientKey}${process.env.LOCAL_CLIENT_KEY ? '' : '   (random: set LOCAL_CLIENT_KEY to keep one across restarts)'}`,
    `  Webhook secret  ${s.webhookSecret}`,
    '',
    'Try it:',
    `  ${post}`,
    ...(hasGet
      ? [
          '  # then read the task (task_id from the answer), or both at once:',
          `  TASK_ID=$(${post} | sed -E 's/.*"task_id":"([^"]+)".*/\\1/') && sleep 1 && curl -sS ${s.url}/luma/generations/$TASK_ID -H ${auth}`,
        ]
      : []),
    `  # another client (the CLI finds this stack through ${relative(process.cwd(), statePath) || statePath}): npm run client -- create my-app`,
    '',
    'Ctrl-C to stop. Requests:',
  ];
  console.log(lines.join('\n'));
}

void main();
