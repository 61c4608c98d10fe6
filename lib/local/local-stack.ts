/**
 * The whole stack on one machine (SPEC section 5), composed from:
 *
 *   DynamoDB Local (dynamodb-local.ts)      the real engine, tables from functions/domain/tables.ts
 *   local Secrets Manager endpoint           holds the upstream key; handlers read it through the SDK
 *   upstream simulator                       unless UPSTREAM_BASE_URL points at a real upstream
 *   HTTP front (http-front.ts)               API Gateway in front of the SAME handlers, in-process
 *   background functions                     reconciler on a schedule, notifier on the task stream
 *
 * The handlers build their dependencies from process.env on their first call
 * (functions/domain/wiring.ts), so the stack sets process.env first and then
 * lets requests in. The AWS SDK finds the local endpoints through
 * AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_SECRETS_MANAGER: no local
 * code path in the handlers. Because of that, ONE stack per process (the
 * handlers keep what they built from the environment of the first stack).
 *
 * Configuration: environment variables, overridden by options (see
 * LocalStackOptions and README of `npm start` in bin/local.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ScheduledEvent } from 'aws-lambda';
import { createClientStore } from '../../functions/domain/client-store';
import { ENV } from '../../functions/domain/config';
import { newClientKey, newWebhookSecret } from '../../functions/domain/credentials';
import { statusChangePatterns, type FilterPattern } from '../../functions/domain/task-events';
import { createTables, freePort, localDynamoClient, startDynamoDbLocal, tableNames, type RunningDynamoDb, type TableNames } from './dynamodb-local';
import { startHttpFront, type HttpFront, type HttpFrontOptions } from './http-front';
import { invokeFunction, LOCAL_ACCOUNT_ID, LOCAL_REGION } from './lambda-runtime';
import { PortInUseError, refuseTakenPort } from './net';
import { every, type Schedule } from './scheduler';
import { startSecretsManagerEndpoint, type LocalSecretsEndpoint } from './secrets-manager-endpoint';
import { startStreamPoller, type StreamPoller } from './stream-poller';
import { startUpstreamSimulator, type SimulatorOptions, type UpstreamSimulator } from './upstream-simulator';

// ---------------------------------------------------------------------------
// EXTENSION POINT: functions that run outside HTTP.
//
// Each entry runs functions/<functionName>/handler.ts in-process, the way AWS
// runs it (see lib/luma-gateway-stack.ts for the deployed twins):
//   kind 'schedule': an EventBridge rule; invoked every `everyMs` with a
//                    Scheduled Event; runs never overlap, a failing run is
//                    logged and the schedule goes on.
//   kind 'stream':   an event source mapping on a table's stream; the local
//                    stream poller (stream-poller.ts) reads DynamoDB Local's
//                    stream and invokes the handler with {Records}, filtered
//                    by `filterPatterns`, in batches of `batchSize`, retried
//                    `maxRetries` times (batchItemFailures honoured).
// A new background function: add one line here. An entry whose handler file
// does not exist yet is skipped, so this list may run ahead of functions/.
// Routes need nothing here: the front dispatches from functions/routes.ts.
// ---------------------------------------------------------------------------
export type BackgroundFunction =
  | { readonly kind: 'schedule'; readonly functionName: string; readonly everyMs: number }
  | {
      readonly kind: 'stream';
      readonly functionName: string;
      readonly table: keyof TableNames;
      readonly filterPatterns?: readonly FilterPattern[];
      readonly batchSize?: number;
      readonly maxRetries?: number;
    };

export const BACKGROUND_FUNCTIONS: readonly BackgroundFunction[] = [
  // EventBridge rate(N minutes) in AWS; every few seconds locally (LOCAL_RECONCILE_EVERY_MS).
  { kind: 'schedule', functionName: 'reconciler', everyMs: 5_000 },
  // Same filter, batch size and retries as the NotifierSubscription of the deployed stack.
  { kind: 'stream', functionName: 'notifier', table: 'tasks', filterPatterns: statusChangePatterns({ withNotifyHook: true }), batchSize: 10, maxRetries: 3 },
];

export interface LocalStackOptions {
  /** PORT; default 3000; 0 = a free port (tests). */
  readonly port?: number;
  /** UPSTREAM_BASE_URL: a real upstream; unset = start the simulator. */
  readonly upstreamBaseUrl?: string;
  /** UPSTREAM_API_KEY: the upstream key (required with a real upstream; random for the simulator). */
  readonly upstreamApiKey?: string;
  /** LOCAL_CLIENT_KEY: the local client's API key (generated when unset). */
  readonly clientKey?: string;
  /** LOCAL_WEBHOOK_SECRET: the local client's whsec_ signing secret (generated when unset). */
  readonly webhookSecret?: string;
  /** DYNAMODB_ENDPOINT: use a running DynamoDB instead of starting DynamoDB Local (tables are created if missing). */
  readonly dynamoEndpoint?: string;
  /** DYNAMODB_LOCAL_PORT: port of the DynamoDB Local started (refused when taken; 0 = a free one); default 8000 when free, else a free one. */
  readonly dynamoPort?: number;
  /** LOCAL_TABLE_PREFIX; default 'local_'. */
  readonly tablePrefix?: string;
  /** RECONCILE_AFTER_SECONDS; default 30. */
  readonly reconcileAfterSeconds?: number;
  /** TASK_DEADLINE_SECONDS; the handlers' default when unset. */
  readonly taskDeadlineSeconds?: number;
  /** UPSTREAM_TIMEOUT_MS; the handlers' default when unset. */
  readonly upstreamTimeoutMs?: number;
  /** AUTHORIZER_CACHE_TTL_SECONDS: API Gateway's resultsCacheTtl; default 300. */
  readonly authorizerCacheTtlSeconds?: number;
  /** Extra simulator options: seed, stepDelayMs, faults... */
  readonly simulator?: Omit<SimulatorOptions, 'apiKey'>;
  /**
   * Background functions (reconciler, notifier): true (default) runs
   * BACKGROUND_FUNCTIONS, false none, or a list of your own.
   */
  readonly background?: boolean | readonly BackgroundFunction[];
  /** LOCAL_RECONCILE_EVERY_MS: overrides everyMs of the scheduled entries. */
  readonly scheduleEveryMs?: number;
  readonly accessLog?: HttpFrontOptions['accessLog'];
  /** Where the stack reports problems (handler crashes, background failures); stderr by default. */
  readonly errorLog?: (line: string) => void;
  /** The environment configuration is read from; process.env by default. */
  readonly env?: NodeJS.ProcessEnv;
  /** Told of every child process as soon as it is spawned (to kill it if the process dies during startup). */
  readonly onChildProcess?: (child: ChildProcess) => void;
}

export interface LocalStack {
  /** The API's base URL, e.g. http://127.0.0.1:3000 */
  readonly url: string;
  readonly port: number;
  readonly clientKey: string;
  readonly clientId: string;
  readonly webhookSecret: string;
  /** The simulator, or undefined with a real upstream. */
  readonly upstream: UpstreamSimulator | undefined;
  readonly upstreamUrl: string;
  readonly secrets: LocalSecretsEndpoint;
  /** The Secrets Manager secret holding the upstream key (UPSTREAM_SECRET_ID). */
  readonly upstreamSecretId: string;
  readonly dynamoEndpoint: string;
  /** True when the stack started DynamoDB Local itself (in-memory: gone at stop). */
  readonly startedDynamoDb: boolean;
  readonly tableNames: TableNames;
  readonly front: HttpFront;
  /** Background functions running, by name. */
  readonly background: readonly string[];
  /** Child processes (DynamoDB Local's java), for a synchronous kill on abnormal exit. */
  readonly childProcesses: readonly ChildProcess[];
  /** Kills child processes at once (for process.on('exit')): no waiting, no cleanup. */
  killChildren(): void;
  stop(): Promise<void>;
}

export const LOCAL_UPSTREAM_SECRET_NAME = 'luma-gateway/local/upstream-api-key';
export const DEFAULT_TABLE_PREFIX = 'local_';
export const DEFAULT_PORT = 3000;
export const DEFAULT_DYNAMODB_LOCAL_PORT = 8000;

function numberSetting(name: string, raw: string | undefined, fallback: number | undefined, min = 0): number | undefined {
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number >= ${min}, got ${JSON.stringify(raw)}`);
  return value;
}

/** The options after reading the environment. */
function resolve(options: LocalStackOptions) {
  const env = options.env ?? process.env;
  const text = (value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value.trim());
  return {
    port: options.port ?? numberSetting('PORT', env.PORT, DEFAULT_PORT)!,
    upstreamBaseUrl: options.upstreamBaseUrl ?? text(env.UPSTREAM_BASE_URL),
    upstreamApiKey: options.upstreamApiKey ?? text(env.UPSTREAM_API_KEY),
    clientKey: options.clientKey ?? text(env.LOCAL_CLIENT_KEY),
    webhookSecret: options.webhookSecret ?? text(env.LOCAL_WEBHOOK_SECRET),
    dynamoEndpoint: options.dynamoEndpoint ?? text(env.DYNAMODB_ENDPOINT),
    dynamoPort: options.dynamoPort ?? numberSetting('DYNAMODB_LOCAL_PORT', env.DYNAMODB_LOCAL_PORT, undefined),
    tablePrefix: options.tablePrefix ?? text(env.LOCAL_TABLE_PREFIX) ?? DEFAULT_TABLE_PREFIX,
    reconcileAfterSeconds: options.reconcileAfterSeconds ?? numberSetting(ENV.reconcileAfterSeconds, env[ENV.reconcileAfterSeconds], 30, 1)!,
    taskDeadlineSeconds: options.taskDeadlineSeconds ?? numberSetting(ENV.taskDeadlineSeconds, env[ENV.taskDeadlineSeconds], undefined, 1),
    upstreamTimeoutMs: options.upstreamTimeoutMs ?? numberSetting(ENV.upstreamTimeoutMs, env[ENV.upstreamTimeoutMs], undefined, 1),
    authorizerCacheTtlSeconds: options.authorizerCacheTtlSeconds ?? numberSetting('AUTHORIZER_CACHE_TTL_SECONDS', env.AUTHORIZER_CACHE_TTL_SECONDS, 300),
    scheduleEveryMs: options.scheduleEveryMs ?? numberSetting('LOCAL_RECONCILE_EVERY_MS', env.LOCAL_RECONCILE_EVERY_MS, undefined, 100),
  };
}

function checkClientKey(key: string): void {
  // What the authorizer accepts after "Bearer " (functions/authorizer/handler.ts).
  if (!/^[\x21-\x7e]{16,512}$/.test(key)) {
    throw new Error('LOCAL_CLIENT_KEY must be 16 to 512 printable ASCII characters without spaces');
  }
}

function checkWebhookSecret(secret: string): void {
  if (!/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(secret) || Buffer.from(secret.slice(6), 'base64').length < 16) {
    throw new Error('LOCAL_WEBHOOK_SECRET must be a Standard Webhooks secret: whsec_ followed by base64 of at least 16 bytes');
  }
}

/**
 * DYNAMODB_LOCAL_PORT when set (startDynamoDbLocal refuses it when taken: two
 * stacks must never share one database; 0: any free port); else 8000 when
 * nothing holds it (so `npm run client` finds it), else any free port.
 */
async function dynamoLocalPort(requested: number | undefined): Promise<number> {
  if (requested === 0) return freePort();
  if (requested !== undefined) return requested;
  try {
    await refuseTakenPort(DEFAULT_DYNAMODB_LOCAL_PORT, 'DynamoDB Local');
    return DEFAULT_DYNAMODB_LOCAL_PORT;
  } catch (error) {
    if (error instanceof PortInUseError) return freePort();
    throw error;
  }
}

function scheduledEvent(functionName: string): ScheduledEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: LOCAL_ACCOUNT_ID,
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: LOCAL_REGION,
    resources: [`arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:rule/luma-gateway-local-${functionName}`],
    detail: {},
  };
}

const handlerExists = (functionName: string) =>
  /^[a-z0-9-]+$/.test(functionName) && existsSync(join(__dirname, '..', '..', 'functions', functionName, 'handler.ts'));

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  // Node 20 here, nodejs24.x in Lambda: the SDK's notice about Node 22 is noise locally.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const settings = resolve(options);
  const errorLog = options.errorLog ?? ((line: string) => console.error(line));
  if (settings.upstreamBaseUrl !== undefined && settings.upstreamApiKey === undefined) {
    throw new Error('UPSTREAM_BASE_URL points at a real upstream: set UPSTREAM_API_KEY to its key too');
  }
  if (settings.upstreamBaseUrl !== undefined && !/^https?:\/\//.test(settings.upstreamBaseUrl)) {
    throw new Error(`UPSTREAM_BASE_URL must be an http(s) URL, got ${JSON.stringify(settings.upstreamBaseUrl)}`);
  }
  if (settings.clientKey !== undefined) checkClientKey(settings.clientKey);
  if (settings.webhookSecret !== undefined) checkWebhookSecret(settings.webhookSecret);

  const cleanups: (() => Promise<unknown>)[] = [];
  const children: ChildProcess[] = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((error: unknown) => errorLog(`local stack: stopping failed: ${(error as Error)?.message ?? String(error)}`));
    }
  };

  try {
    // The front first: a port in use fails at once, before Java starts. Requests wait for `ready`.
    let open!: () => void;
    const ready = new Promise<void>((resolveReady) => (open = resolveReady));
    const front = await startHttpFront({
      port: settings.port,
      authorizerCacheTtlSeconds: settings.authorizerCacheTtlSeconds,
      accessLog: options.accessLog,
      errorLog,
      ready,
    });
    cleanups.push(() => front.stop());

    const upstreamApiKey = settings.upstreamApiKey ?? `sk-local-${randomBytes(24).toString('base64url')}`;
    const dynamoPort = settings.dynamoEndpoint === undefined ? await dynamoLocalPort(settings.dynamoPort) : undefined;
    const dynamoEndpoint = settings.dynamoEndpoint ?? `http://127.0.0.1:${dynamoPort}`;
    const names = tableNames(settings.tablePrefix);

    // Started side by side; each one's cleanup is registered as soon as it runs, so a failure leaks nothing.
    const started = await Promise.allSettled([
      settings.dynamoEndpoint === undefined
        ? startDynamoDbLocal({ port: dynamoPort, onSpawn: (child) => (children.push(child), options.onChildProcess?.(child)) }).then((running) => {
            cleanups.push(() => running.stop());
            return running;
          })
        : Promise.resolve(undefined),
      startSecretsManagerEndpoint({ secrets: { [LOCAL_UPSTREAM_SECRET_NAME]: upstreamApiKey }, region: LOCAL_REGION }).then((endpoint) => {
        cleanups.push(() => endpoint.stop());
        return endpoint;
      }),
      settings.upstreamBaseUrl === undefined
        ? startUpstreamSimulator({ ...options.simulator, apiKey: upstreamApiKey }).then((simulator) => {
            cleanups.push(() => simulator.stop());
            return simulator;
          })
        : Promise.resolve(undefined),
    ] as const);
    for (const result of started) if (result.status === 'rejected') throw result.reason;
    const [dynamo, secrets, upstream] = started.map((result) => (result as PromiseFulfilledResult<unknown>).value) as [
      RunningDynamoDb | undefined,
      LocalSecretsEndpoint,
      UpstreamSimulator | undefined,
    ];
    const upstreamUrl = settings.upstreamBaseUrl ?? upstream!.url;

    // What the handlers read (functions/domain/config.ts), before the first request.
    const env: Record<string, string | undefined> = {
      AWS_REGION: LOCAL_REGION,
      AWS_DEFAULT_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_SESSION_TOKEN: undefined,
      AWS_PROFILE: undefined,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
      AWS_ENDPOINT_URL_DYNAMODB_STREAMS: dynamoEndpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
      [ENV.tasksTable]: names.tasks,
      [ENV.clientsTable]: names.clients,
      [ENV.idempotencyTable]: names.idempotency,
      [ENV.deliveriesTable]: names.deliveries,
      [ENV.upstreamBaseUrl]: upstreamUrl,
      [ENV.upstreamSecretId]: LOCAL_UPSTREAM_SECRET_NAME,
      [ENV.callbackBaseUrl]: front.url,
      [ENV.allowLoopbackHooks]: 'true',
      [ENV.reconcileAfterSeconds]: String(settings.reconcileAfterSeconds),
      ...(settings.taskDeadlineSeconds !== undefined && { [ENV.taskDeadlineSeconds]: String(settings.taskDeadlineSeconds) }),
      ...(settings.upstreamTimeoutMs !== undefined && { [ENV.upstreamTimeoutMs]: String(settings.upstreamTimeoutMs) }),
    };
    for (const [name, value] of Object.entries(env)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }

    // Tables, the local client, and a warm import of every handler.
    const raw = localDynamoClient(dynamoEndpoint);
    cleanups.push(async () => raw.destroy());
    const [client] = await Promise.all([
      (async () => {
        await createTables(raw, names);
        const clients = createClientStore({ client: DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } }), clientsTable: names.clients });
        const apiKey = settings.clientKey ?? newClientKey();
        const existingId = settings.clientKey === undefined ? undefined : await clients.clientIdForKey(apiKey);
        const existing = existingId === undefined ? undefined : await clients.get(existingId);
        if (existing) {
          if (settings.webhookSecret !== undefined && settings.webhookSecret !== existing.webhookSecret) {
            errorLog('local stack: LOCAL_CLIENT_KEY is already registered with another webhook secret; keeping the stored one');
          }
          return { clientId: existing.clientId, apiKey, webhookSecret: existing.webhookSecret };
        }
        const created = await clients.create('local', { apiKey, webhookSecret: settings.webhookSecret ?? newWebhookSecret() });
        return { clientId: created.clientId, apiKey: created.apiKey, webhookSecret: created.webhookSecret };
      })(),
      front.preload(),
    ]);

    // Background functions, once the tables exist.
    const backgroundNames: string[] = [];
    const entries = options.background === false ? [] : options.background === true || options.background === undefined ? BACKGROUND_FUNCTIONS : options.background;
    for (const entry of entries) {
      if (!handlerExists(entry.functionName)) continue;
      backgroundNames.push(entry.functionName);
      if (entry.kind === 'schedule') {
        const schedule: Schedule = every(settings.scheduleEveryMs ?? entry.everyMs, () => invokeFunction(entry.functionName, scheduledEvent(entry.functionName)), {
          onError: (error) => errorLog(`${entry.functionName} (scheduled) failed: ${(error as Error)?.message ?? String(error)}`),
        });
        cleanups.push(() => schedule.stop());
      } else {
        const poller: StreamPoller = await startStreamPoller({
          endpoint: dynamoEndpoint,
          tableName: names[entry.table],
          filterPatterns: entry.filterPatterns,
          batchSize: entry.batchSize,
          maxRetries: entry.maxRetries,
          onRecords: (records) => invokeFunction(entry.functionName, { Records: records }),
          onError: (message) => errorLog(`${entry.functionName} (stream of ${entry.table}): ${message}`),
        });
        cleanups.push(() => poller.stop());
      }
    }

    open();
    let stopped: Promise<void> | undefined;
    return {
      url: front.url,
      port: front.port,
      clientKey: client.apiKey,
      clientId: client.clientId,
      webhookSecret: client.webhookSecret,
      upstream,
      upstreamUrl,
      secrets,
      upstreamSecretId: LOCAL_UPSTREAM_SECRET_NAME,
      dynamoEndpoint,
      startedDynamoDb: dynamo !== undefined,
      tableNames: names,
      front,
      background: backgroundNames,
      childProcesses: children,
      killChildren: () => {
        for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      },
      stop: () => (stopped ??= stopAll()),
    };
  } catch (error) {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await stopAll();
    throw error;
  }
}
