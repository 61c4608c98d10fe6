/**
 * The whole stack on one machine (SPEC section 5), composed from:
 *
 *   DynamoDB Local (dynamodb-local.ts)      the real engine, tables from functions/tables.ts
 *   local Secrets Manager endpoint           holds the upstream key; handlers read it through the SDK
 *   upstream simulator                       unless UPSTREAM_BASE_URL points at a real upstream
 *   HTTP front (http-front.ts)               API Gateway in front of the SAME handlers, in-process
 *   background functions                     functions/background.ts: the reconciler on a schedule, the task-changes consumer on the task stream
 *
 * The handlers build their dependencies from process.env on their first call
 * (functions/wiring.ts), so the stack sets process.env first and then
 * lets requests in. The AWS SDK finds the local endpoints through
 * AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_SECRETS_MANAGER: no local
 * code path in the handlers. Because of that, ONE stack per process (the
 * handlers keep what they built from the environment of the first stack).
 *
 * Configuration: the `local` settings of functions/settings.ts, from
 * environment variables, overridden by options (LocalStackOptions).
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ScheduledEvent } from 'aws-lambda';
import { createClientStore } from '../../functions/adapters/dynamodb/client-store';
import { backgroundFunctions, type BackgroundFunction } from '../../functions/background';
import { setCrashTrap } from '../../functions/crash-points';
import { openApiDocument, OPENAPI_LOCAL_PATH, type OpenApiDocument } from '../../functions/openapi';
import { newClientKey, newWebhookSecret } from '../../functions/domain/credentials';
import type { SubmitStep } from '../../functions/domain/submit-generation';
import { formatSetting, parseSetting, settingNames, specOf, type LocalSettingName, type SettingName, type SettingValue } from '../../functions/settings';
import { TABLES, tableRoles, type TableNames } from '../../functions/tables';
import { createTables, freePort, localDynamoClient, startDynamoDbLocal, tableNames, type RunningDynamoDb } from './dynamodb-local';
import { startHttpFront, type HttpFront, type HttpFrontOptions } from './http-front';
import { invokeFunction, killCurrentInvocation, LOCAL_ACCOUNT_ID, LOCAL_REGION } from './lambda-runtime';
import { PortInUseError, refuseTakenPort } from './net';
import { every, type Schedule } from './scheduler';
import { startSecretsManagerEndpoint, type LocalSecretsEndpoint } from './secrets-manager-endpoint';
import { startStreamPoller, type StreamPoller } from './stream-poller';
import { startUpstreamSimulator, type SimulatorOptions, type UpstreamSimulator } from './upstream-simulator';

/** The `npm start` settings (functions/settings.ts, `local`), as options: an option wins over the environment. */
export type LocalSettingOptions = { readonly [N in LocalSettingName]?: SettingValue<N> };

export interface LocalStackOptions extends LocalSettingOptions {
  /** Extra simulator options: seed, stepDelayMs, faults... */
  readonly simulator?: Omit<SimulatorOptions, 'apiKey'>;
  /**
   * Background functions (functions/background.ts): true (default) runs
   * them all, false none, or a list of your own.
   */
  readonly background?: boolean | readonly BackgroundFunction[];
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
  /**
   * Kills the next submission right after `step`, as a Lambda that crashed
   * there: the client gets API Gateway's 502, and nothing the handler would
   * have done next happens (for tests of what survives a crash).
   */
  crashNextSubmission(step: SubmitStep): void;
  /** Kills child processes at once (for process.on('exit')): no waiting, no cleanup. */
  killChildren(): void;
  stop(): Promise<void>;
}

export const LOCAL_UPSTREAM_SECRET_NAME = 'luma-gateway/local/upstream-api-key';
/** The stage of the local stack: its API's stage, and its metrics' `stage` dimension. */
export const LOCAL_STAGE = 'local';
export const DEFAULT_DYNAMODB_LOCAL_PORT = 8000;

export const localSettingNames = settingNames.filter((name) => specOf(name).local !== undefined) as LocalSettingName[];

/** A local setting's default: its `local.default` when declared (even undefined), else its default. */
export function localDefault<N extends LocalSettingName>(name: N): SettingValue<N> | undefined {
  const spec = specOf(name);
  return (spec.local && 'default' in spec.local ? spec.local.default : spec.default) as SettingValue<N> | undefined;
}

/** The `npm start` settings: each option, else its environment variable, else its local default; all checked by their kind. */
export function resolveLocalSettings(options: LocalSettingOptions, env: NodeJS.ProcessEnv): { [N in LocalSettingName]: SettingValue<N> | undefined } {
  const resolved = {} as Record<LocalSettingName, unknown>;
  for (const name of localSettingNames) {
    const option = options[name];
    resolved[name] =
      option !== undefined ? parseSetting(name, option, 'option', undefined) : parseSetting(name, env[specOf(name).env!], 'env', localDefault(name));
  }
  return resolved as { [N in LocalSettingName]: SettingValue<N> | undefined };
}

/**
 * The handlers' environment, from the same settings table as the deployed
 * stack's: every setting a function reads, with what this stack provides
 * (its upstream, secret, callback URL, hook policy) or what `npm start` was
 * given; undefined leaves the handlers' default.
 */
function handlerEnvironment(settings: ReturnType<typeof resolveLocalSettings>, provided: { readonly [N in SettingName]?: string }) {
  const env: Record<string, string | undefined> = {};
  for (const name of settingNames) {
    const spec = specOf(name);
    if (spec.env === undefined || spec.readBy === undefined) continue;
    const given = spec.local ? (settings as Record<string, unknown>)[name] : undefined;
    env[spec.env] = provided[name] ?? (given === undefined ? undefined : formatSetting(name, given as SettingValue<typeof name>));
  }
  return env;
}

/**
 * With an X-Ray daemon, what Lambda's environment has when a function has
 * active tracing (the Tracer is off anywhere else): its execution
 * environment, task root and handler, and the daemon's address. The X-Ray
 * SDK reads these when a traced handler is first imported. One process, one
 * X-Ray SDK: untraced functions' DynamoDB calls show up in the traces here
 * too, and overlapping invocations may share a trace id.
 */
function tracingEnvironment(daemonAddress: string | undefined): Record<string, string | undefined> {
  if (daemonAddress === undefined) return {};
  return {
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    LAMBDA_TASK_ROOT: resolve(__dirname, '..', '..'),
    _HANDLER: 'index.handler',
    AWS_XRAY_DAEMON_ADDRESS: daemonAddress,
    AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
  };
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

/** The OpenAPI document the front serves, built from the code on first request (what `npm run openapi` commits). */
let openApiBuilt: OpenApiDocument | undefined;
const openApiDocumentOnce = () => (openApiBuilt ??= openApiDocument());

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

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  // Node 20 here, nodejs24.x in Lambda: the SDK's notice about Node 22 is noise locally.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const settings = resolveLocalSettings(options, options.env ?? process.env);
  const errorLog = options.errorLog ?? ((line: string) => console.error(line));
  if (settings.upstreamBaseUrl !== undefined && settings.upstreamApiKey === undefined) {
    throw new Error('UPSTREAM_BASE_URL points at a real upstream: set UPSTREAM_API_KEY to its key too');
  }

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
      port: settings.port!,
      authorizerCacheTtlSeconds: settings.authorizerCacheTtlSeconds,
      accessLog: options.accessLog,
      errorLog,
      ready,
      stage: LOCAL_STAGE,
      documents: new Map([[OPENAPI_LOCAL_PATH, openApiDocumentOnce]]),
    });
    cleanups.push(() => front.stop());

    const upstreamApiKey = settings.upstreamApiKey ?? `sk-local-${randomBytes(24).toString('base64url')}`;
    const dynamoPort = settings.dynamoEndpoint === undefined ? await dynamoLocalPort(settings.dynamoPort) : undefined;
    const dynamoEndpoint = settings.dynamoEndpoint ?? `http://127.0.0.1:${dynamoPort}`;
    const names = tableNames(settings.tablePrefix!);

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

    // What the handlers read (functions/settings.ts, functions/tables.ts), before the first request.
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
      ...Object.fromEntries(tableRoles.map((role) => [TABLES[role].env, names[role]])),
      ...handlerEnvironment(settings, {
        upstreamBaseUrl: upstreamUrl,
        upstreamSecretId: LOCAL_UPSTREAM_SECRET_NAME,
        callbackBaseUrl: front.url,
        allowLoopbackHooks: 'true',
        stage: LOCAL_STAGE,
      }),
      ...tracingEnvironment(settings.xrayDaemonAddress),
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
    const entries = options.background === false ? [] : options.background === true || options.background === undefined ? backgroundFunctions : options.background;
    for (const { functionName, trigger } of entries) {
      backgroundNames.push(functionName);
      if (trigger.kind === 'schedule') {
        // EventBridge rate(N minutes) in AWS; every few seconds here. Runs never overlap, as with reserved concurrency 1.
        const everyMs = settings[trigger.localEveryMs] as number;
        const schedule: Schedule = every(everyMs, () => invokeFunction(functionName, scheduledEvent(functionName)), {
          onError: (error) => errorLog(`${functionName} (scheduled) failed: ${(error as Error)?.message ?? String(error)}`),
        });
        cleanups.push(() => schedule.stop());
      } else {
        // The same filter, batch size and retries as the deployed event source mapping.
        const poller: StreamPoller = await startStreamPoller({
          endpoint: dynamoEndpoint,
          tableName: names[trigger.table],
          filterPatterns: trigger.filterPatterns,
          batchSize: trigger.batchSize,
          maxRetries: trigger.retryAttempts,
          onRecords: (records) => invokeFunction(functionName, { Records: records }),
          onError: (message) => errorLog(`${functionName} (stream of ${trigger.table}): ${message}`),
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
      crashNextSubmission: (armed) =>
        setCrashTrap((step) => {
          if (step !== armed) return undefined;
          setCrashTrap(undefined);
          return killCurrentInvocation(`crashed after ${step}`);
        }),
      killChildren: () => {
        for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      },
      stop: () => (stopped ??= (setCrashTrap(undefined), stopAll())),
    };
  } catch (error) {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await stopAll();
    throw error;
  }
}
