/**
 * Every setting of the gateway, declared once: its kind (type and bounds),
 * default, environment variable, which functions read it, and who may set
 * it. Everything else derives from this table:
 *
 *   handlers        parse process.env through it (readSettings, functions/wiring.ts)
 *   the CDK stack   reads the `context` settings from CDK context (lib/config.ts) and
 *                   writes each function the settings it `readBy` (lib/luma-gateway-stack.ts)
 *   the local stack reads the `local` settings from its environment (npm start) and
 *                   writes the handlers' environment from the same table
 *   the README      its configuration tables are checked against it (test/unit/readme.test.ts)
 *
 * A new setting is one entry here (and its row in the README).
 * Table names are settings too, declared on the table definitions (functions/tables.ts).
 */
import { flag, integer, listOf, oneOf, orNone, positiveNumber, text, url, type SettingKind } from './setting-kinds';

export interface SettingSpec<T> {
  readonly kind: SettingKind<T>;
  /** One line for the README. */
  readonly description: string;
  /**
   * The value when nothing sets it. Without one, a function that reads the
   * setting fails at its first use when it is missing; a stage or the local
   * stack may leave it unset (undefined).
   */
  readonly default?: T;
  /** How the README states a default that is not a plain value ("the API's own URL"). */
  readonly defaultText?: string;
  /** The environment variable that carries it to functions and to the local stack. */
  readonly env?: string;
  /** Functions (folders under functions/) whose environment carries it. */
  readonly readBy?: readonly string[];
  /** A stage may set it: CDK context key = the setting's name (`-c name=value` or cdk.json). */
  readonly context?: true;
  /** Only the local stack ever sets it; the deployed stack never does. */
  readonly localOnly?: true;
  /** `npm start` reads it from its environment, with this default (when given; else `default`). */
  readonly local?: { readonly default?: T; readonly defaultText?: string };
}

/** A setting of `kind`; its default (and local default) are checked against the kind's type. */
function setting<T, const S extends Omit<SettingSpec<T>, 'kind'>>(kind: SettingKind<T>, spec: S): S & { readonly kind: SettingKind<T> } {
  return { ...spec, kind };
}

const SUBMITTERS = ['extend', 'create'];
const UPSTREAM_CALLERS = [...SUBMITTERS, 'reconciler'];
/** Every Lambda of the stack (functions/background.ts's functionNames; a test holds them equal). */
export const EVERY_FUNCTION = [
  'authorizer',
  'extend',
  'create',
  'get-task',
  'list-deliveries',
  'callback',
  'reconciler',
  'task-changes',
  'delivery-worker',
  'resend-notification',
  'recover-notifications',
  'list-endpoints',
  'enable-endpoint',
  'list-tasks',
  'batch-get-tasks',
  'get-usage',
  'asset-worker',
] as const;
/**
 * The functions that send notifications: the stream consumer's first attempt, the worker's retries, a client's
 * resend, and the asset worker's first attempt of a `completed` notification once the task's media are stored.
 */
const DELIVERERS = ['task-changes', 'delivery-worker', 'resend-notification', 'asset-worker'];
/** The functions that hand out links to the stored media (presigned GET URLs): the reads of tasks, and whatever sends a `completed` notification with them. */
const PRESIGNERS = ['get-task', 'list-tasks', 'batch-get-tasks', 'delivery-worker', 'resend-notification', 'asset-worker'];

/** CloudWatch Logs' retention periods, in days. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

export const SETTINGS = {
  // --- the upstream ------------------------------------------------------------------------------
  upstreamBaseUrl: setting(url({ schemes: ['http', 'https'] }), {
    env: 'UPSTREAM_BASE_URL',
    readBy: UPSTREAM_CALLERS,
    context: true,
    // Resolves nowhere: a stack deployed without an upstream sends nothing anywhere by mistake.
    default: 'https://upstream.invalid',
    defaultText: '— (required to deploy)',
    local: { default: undefined, defaultText: 'the simulator' },
    description: "the upstream's https base URL",
  }),
  upstreamSecretId: setting(text(), {
    env: 'UPSTREAM_SECRET_ID',
    readBy: UPSTREAM_CALLERS,
    description: 'name or ARN of the Secrets Manager secret holding the upstream key (set by the stack)',
  }),
  upstreamTimeoutMs: setting(integer({ min: 1, max: 25_000 }), {
    env: 'UPSTREAM_TIMEOUT_MS',
    readBy: UPSTREAM_CALLERS,
    default: 10_000,
    local: {},
    description: 'budget of one upstream call, in milliseconds',
  }),
  secretCacheTtlSeconds: setting(integer({ min: 0 }), {
    env: 'SECRET_CACHE_TTL_SECONDS',
    readBy: UPSTREAM_CALLERS,
    default: 300,
    description: 'how long the upstream key is cached before Secrets Manager is read again',
  }),
  callbackBaseUrl: setting(url({ schemes: ['http', 'https'] }), {
    env: 'CALLBACK_BASE_URL',
    readBy: SUBMITTERS,
    context: true,
    defaultText: "the callback function's URL",
    description: 'public base URL for callbacks (a custom domain in front of the callback front)',
  }),

  // --- the task lifecycle ------------------------------------------------------------------------
  reconcileAfterSeconds: setting(integer({ min: 1 }), {
    env: 'RECONCILE_AFTER_SECONDS',
    readBy: UPSTREAM_CALLERS,
    context: true,
    default: 300,
    local: { default: 30 },
    description: 'how long a task stays open before the reconciler asks the upstream (and between two asks)',
  }),
  taskDeadlineSeconds: setting(integer({ min: 1 }), {
    env: 'TASK_DEADLINE_SECONDS',
    readBy: UPSTREAM_CALLERS,
    context: true,
    default: 7200,
    local: {},
    description: 'when an unfinished task is failed',
  }),
  confirmDeadlineSeconds: setting(integer({ min: 1 }), {
    env: 'CONFIRM_DEADLINE_SECONDS',
    readBy: UPSTREAM_CALLERS,
    context: true,
    default: 900,
    local: { default: 120 },
    description: "when a submission whose answer was lost (a timeout, a reset, a 5xx) is failed if no callback confirmed it; a later callback still revives it",
  }),
  reconcileMaxTasks: setting(integer({ min: 1, max: 1000 }), {
    env: 'RECONCILE_MAX_TASKS',
    readBy: ['reconciler'],
    context: true,
    default: 100,
    description: 'tasks per reconciler run',
  }),
  reconcileIntervalMinutes: setting(integer({ min: 1, max: 1440 }), {
    context: true,
    default: 1,
    description: 'reconciler schedule',
  }),
  // Not reserved by default: AWS refuses a reservation that leaves the account under 100 unreserved
  // executions (new accounts often have 10 in all). Overlapping runs are safe: every task write is conditional.
  reconcilerReservedConcurrency: setting(orNone(integer({ min: 1 })), {
    context: true,
    defaultText: 'none (`1`: one run at a time)',
    description: "reserved concurrency of the reconciler (the account must keep 100 unreserved)",
  }),
  taskRetentionDays: setting(integer({ min: 1 }), {
    env: 'TASK_RETENTION_DAYS',
    readBy: [...UPSTREAM_CALLERS, ...DELIVERERS],
    context: true,
    default: 90,
    description: 'TTL of tasks, notification messages, delivery records and asset jobs, and the lifetime of the stored media (the bucket expires them)',
  }),

  // --- notifications -----------------------------------------------------------------------------
  allowLoopbackHooks: setting(flag(), {
    env: 'ALLOW_LOOPBACK_HOOKS',
    readBy: [...SUBMITTERS, ...DELIVERERS],
    localOnly: true,
    default: false,
    description: 'lets a notify_hook be plain http on loopback, and the asset worker fetch media there (set by the local stack only)',
  }),
  notifyFirstAttemptTimeoutMs: setting(integer({ min: 100, max: 5000 }), {
    env: 'NOTIFY_FIRST_ATTEMPT_TIMEOUT_MS',
    readBy: ['task-changes', 'resend-notification', 'asset-worker'],
    context: true,
    default: 2000,
    description: "timeout of the first attempt, made by the stream consumer (or a resend, or the asset worker for a completed notification) at once; a hook that does not answer in time is retried by the delivery worker",
  }),
  notifyTimeoutMs: setting(integer({ min: 1, max: 30_000 }), {
    env: 'NOTIFY_TIMEOUT_MS',
    readBy: ['delivery-worker'],
    default: 5000,
    description: "timeout of one delivery worker's attempt",
  }),
  webhookRetrySchedule: setting(listOf(integer({ min: 0, max: 86_400 }), { minItems: 1 }), {
    env: 'WEBHOOK_RETRY_SCHEDULE',
    readBy: DELIVERERS,
    context: true,
    default: [0, 60, 300, 1800, 7200, 18_000, 36_000, 36_000],
    local: {},
    description: 'seconds before each attempt of a notification, each after the one before (with up to 10% jitter); after the last, the notification is exhausted',
  }),
  webhookDisableAfterSeconds: setting(integer({ min: 1 }), {
    env: 'WEBHOOK_DISABLE_AFTER_SECONDS',
    readBy: DELIVERERS,
    context: true,
    default: 432_000,
    defaultText: '432000 (5 days)',
    local: { defaultText: '432000 (5 days)' },
    description: 'an endpoint (a hook URL) failing every attempt for this long is disabled (a 410 answer disables it at once)',
  }),
  webhookSecretOverlapSeconds: setting(integer({ min: 0 }), {
    env: 'WEBHOOK_SECRET_OVERLAP_SECONDS',
    readBy: DELIVERERS,
    context: true,
    default: 86_400,
    local: {},
    description: "after a client's webhook secret is rotated, how long notifications are signed with the old secret too",
  }),
  deliveryWorkerIntervalMinutes: setting(integer({ min: 1, max: 60 }), {
    context: true,
    default: 1,
    description: 'delivery worker schedule (retries of notifications)',
  }),

  // --- stored media (issue 10) ----------------------------------------------------------------------
  assetBucket: setting(text(), {
    env: 'ASSET_BUCKET',
    readBy: PRESIGNERS,
    defaultText: "the stack's bucket (output AssetBucketName)",
    description: 'the bucket holding the stored media (set by the stack)',
  }),
  assetWorkerFunction: setting(text(), {
    env: 'ASSET_WORKER_FUNCTION',
    readBy: ['task-changes'],
    defaultText: "the asset worker's name",
    description: 'the function that copies a completed task\'s media, invoked asynchronously per task (set by the stack)',
  }),
  assetMaxBytes: setting(integer({ min: 1024 * 1024, max: 5 * 1024 ** 3 }), {
    env: 'ASSET_MAX_BYTES',
    readBy: ['asset-worker'],
    context: true,
    default: 2 * 1024 ** 3,
    defaultText: '2147483648 (2 GiB)',
    local: { defaultText: '2147483648 (2 GiB)' },
    description: 'the largest medium the gateway stores, in bytes (checked while streaming, whatever the upstream declares); a larger one fails its copy for good',
  }),
  assetLinkTtlSeconds: setting(integer({ min: 60, max: 43_200 }), {
    env: 'ASSET_LINK_TTL_SECONDS',
    readBy: PRESIGNERS,
    context: true,
    default: 3600,
    local: {},
    description: "lifetime of the stored media's presigned URLs, signed afresh at every read of a task (GET, listing, batch read) and every notification attempt (a URL also stops working when the role session that signed it ends)",
  }),
  assetRetrySchedule: setting(listOf(integer({ min: 0, max: 86_400 }), { minItems: 1 }), {
    env: 'ASSET_RETRY_SCHEDULE',
    readBy: ['asset-worker'],
    context: true,
    default: [0, 30, 120, 300, 900, 1800],
    local: {},
    description: "seconds before each attempt of a task's media copy, each after the one before (with up to 10% jitter; the upstream's links usually last an hour); after the last, the copy has failed",
  }),
  assetWorkerIntervalMinutes: setting(integer({ min: 1, max: 60 }), {
    context: true,
    default: 1,
    description: 'schedule of the asset worker\'s sweep (retries of copies; copies whose first invocation was lost)',
  }),
  // --- clients: keys, limits, usage --------------------------------------------------------------
  clientKeyOverlapSeconds: setting(integer({ min: 0, max: 604_800 }), {
    env: 'CLIENT_KEY_OVERLAP_SECONDS',
    readBy: ['authorizer'],
    context: true,
    default: 86_400,
    local: {},
    description: "after a client's API key is rotated, how long the old key is still accepted (at most 7 days)",
  }),
  usageRetentionDays: setting(integer({ min: 1, max: 3660 }), {
    env: 'USAGE_RETENTION_DAYS',
    // The writers of usage: the submitters (the day's submission) and the task-changes consumer (final states).
    readBy: [...SUBMITTERS, 'task-changes'],
    context: true,
    default: 400,
    description: "TTL of each client's usage per day (GET /luma/usage, npm run client -- usage)",
  }),

  // --- the deployed stack --------------------------------------------------------------------------
  stage: setting(text({ pattern: /^[A-Za-z0-9_-]{1,64}$/, describe: 'letters, digits, - or _ (it names the API stage)' }), {
    // The functions' metrics carry it as their `stage` dimension (lib/gateway-metrics.ts).
    env: 'GATEWAY_STAGE',
    readBy: EVERY_FUNCTION,
    context: true,
    default: 'dev',
    description: 'stack `LumaGateway-<stage>` and the API stage',
  }),
  deletionProtection: setting(flag(), {
    context: true,
    defaultText: 'on for `prod`, else off',
    description: "tables' deletion protection (cannot be off for `prod`)",
  }),
  upstreamSecretName: setting(text(), {
    context: true,
    defaultText: '—',
    description: 'import the secret holding the upstream key by name (see `upstreamSecretArn`)',
  }),
  upstreamSecretArn: setting(text(), {
    context: true,
    defaultText: '—',
    description: 'or by complete ARN; neither: a placeholder secret is created',
  }),
  throttleRateLimit: setting(positiveNumber(), { context: true, default: 50, description: 'stage throttling, requests per second' }),
  throttleBurstLimit: setting(integer({ min: 1 }), { context: true, default: 100, description: 'stage throttling, burst' }),
  logRetentionDays: setting(oneOf(LOG_RETENTION_DAYS), {
    context: true,
    default: 30,
    description: 'Lambda and access log retention',
  }),
  authorizerCacheTtlSeconds: setting(integer({ min: 0, max: 3600 }), {
    env: 'AUTHORIZER_CACHE_TTL_SECONDS',
    context: true,
    default: 300,
    local: {},
    description: "how long API Gateway caches the authorizer's verdict on a key",
  }),
  webAclArn: setting(text(), { context: true, defaultText: '—', description: 'attach an AWS WAF web ACL to the stage' }),
  apiGatewayCloudWatchRole: setting(flag(), {
    context: true,
    default: true,
    description: "deploy the stack `LumaGatewayAccount` first: API Gateway's account-level logging role, one per account and region",
  }),
  callbackThrottleRateLimit: setting(positiveNumber(), {
    context: true,
    default: 20,
    description: "the open callback route's own throttle, requests per second",
  }),
  callbackThrottleBurstLimit: setting(integer({ min: 1 }), {
    context: true,
    default: 40,
    description: "the open callback route's own throttle, burst",
  }),
  callbackRestRoute: setting(flag(), {
    context: true,
    default: true,
    description:
      'also serve the callback route on the REST API, for tasks submitted before the callbacks moved to the function URL (off once none of those is open: taskDeadlineSeconds after the upgrade)',
  }),
  // Not reserved by default, as the reconciler: AWS refuses a reservation that leaves the account under 100 unreserved.
  callbackReservedConcurrency: setting(orNone(integer({ min: 1 })), {
    context: true,
    defaultText: 'none',
    description: "reserved concurrency of the callback function, the cap of its URL (the account must keep 100 unreserved)",
  }),
  alarmEmails: setting(listOf(text({ pattern: /^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/, describe: 'an e-mail' }), { minItems: 1 }), {
    context: true,
    defaultText: '—',
    description: "e-mail addresses subscribed to the stack's alarm topic (comma-separated; each confirms once)",
  }),
  alarmTopicArn: setting(
    text({ pattern: /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, describe: 'a standard (not FIFO) SNS topic ARN' }),
    {
      context: true,
      defaultText: '—',
      description: 'an existing SNS topic (same account and region) that also receives every alarm',
    },
  ),

  // --- the local stack (npm start) ----------------------------------------------------------------
  port: setting(integer({ min: 0, max: 65_535 }), {
    env: 'PORT',
    local: { default: 3000 },
    description: "the API's port (0: any free port); refused when anything holds it",
  }),
  upstreamApiKey: setting(text(), {
    env: 'UPSTREAM_API_KEY',
    local: { defaultText: 'random' },
    description: 'the upstream key, served by the local Secrets Manager endpoint',
  }),
  clientKey: setting(text({ pattern: /^[\x21-\x7e]{16,512}$/, describe: '16 to 512 printable ASCII characters without spaces' }), {
    env: 'LOCAL_CLIENT_KEY',
    local: { defaultText: 'generated' },
    description: 'a client key registered at start',
  }),
  webhookSecret: setting(text({ pattern: /^whsec_[A-Za-z0-9+/]{22,}={0,2}$/, describe: 'a Standard Webhooks secret: whsec_ followed by base64 of at least 16 bytes' }), {
    env: 'LOCAL_WEBHOOK_SECRET',
    local: { defaultText: 'generated' },
    description: "that client's `whsec_` signing secret",
  }),
  dynamoEndpoint: setting(url({ schemes: ['http', 'https'] }), {
    env: 'DYNAMODB_ENDPOINT',
    local: { defaultText: 'start DynamoDB Local' },
    description: 'use a running DynamoDB instead',
  }),
  dynamoPort: setting(integer({ min: 0, max: 65_535 }), {
    env: 'DYNAMODB_LOCAL_PORT',
    local: { defaultText: '8000 when free, else any free port' },
    description: "DynamoDB Local's port (0: any free port); when set, refused when anything holds it, so two stacks never share one database",
  }),
  tablePrefix: setting(text({ pattern: /^[A-Za-z0-9_.-]{1,200}$/, describe: 'letters, digits, _ . or -' }), {
    env: 'LOCAL_TABLE_PREFIX',
    local: { default: 'local_' },
    description: 'prefix of the local table names',
  }),
  scheduleEveryMs: setting(integer({ min: 100 }), {
    env: 'LOCAL_RECONCILE_EVERY_MS',
    local: { default: 5000 },
    description: 'how often the local reconciler runs',
  }),
  deliveryWorkerEveryMs: setting(integer({ min: 100 }), {
    env: 'LOCAL_DELIVERY_EVERY_MS',
    local: { default: 1000 },
    description: 'how often the local delivery worker runs',
  }),
  assetSweepEveryMs: setting(integer({ min: 100 }), {
    env: 'LOCAL_ASSET_SWEEP_EVERY_MS',
    local: { default: 2000 },
    description: "how often the local asset worker's sweep runs (retries of copies)",
  }),
  mediaLinkTtlSeconds: setting(integer({ min: 1 }), {
    env: 'LOCAL_MEDIA_LINK_TTL_SECONDS',
    local: { default: 3600 },
    description: "how long the simulator's media links work before they answer 403, as the upstreams' presigned links do",
  }),
  accessLogFormat: setting(oneOf(['line', 'json']), {
    env: 'LOCAL_ACCESS_LOG',
    local: { default: 'line' },
    description: 'the access log: one short line per request, or JSON lines',
  }),
  logLevel: setting(oneOf(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT']), {
    env: 'POWERTOOLS_LOG_LEVEL',
    local: { default: 'WARN' },
    description: "the handlers' log level",
  }),
  stateFile: setting(text(), {
    env: 'LOCAL_STATE_FILE',
    local: { default: '.local/stack.json' },
    description: "where `npm start` writes its endpoints and table names for `npm run client` (no key, no secret), removed at stop",
  }),
  xrayDaemonAddress: setting(text({ pattern: /^[A-Za-z0-9.-]+:\d{1,5}$/, describe: 'host:port' }), {
    env: 'AWS_XRAY_DAEMON_ADDRESS',
    local: { defaultText: 'none: no tracing' },
    description: 'an X-Ray daemon (UDP): the functions that trace send their segments there, as in Lambda',
  }),
} as const satisfies Record<string, SettingSpec<any>>;

type Settings = typeof SETTINGS;
export type SettingName = keyof Settings;
/** The setting's type, as a function reads it (a setting it reads without a default is required). */
export type SettingValue<N extends SettingName> = Settings[N]['kind'] extends SettingKind<infer T> ? T : never;
/** The setting's type where it may be left unset: a stage's context, the local stack. */
export type OptionalValue<N extends SettingName> = 'default' extends keyof Settings[N] ? SettingValue<N> : SettingValue<N> | undefined;

/** Settings a stage may set by CDK context. */
export type ContextSettingName = { [N in SettingName]: Settings[N] extends { readonly context: true } ? N : never }[SettingName];
/** Settings `npm start` reads from its environment. */
export type LocalSettingName = { [N in SettingName]: Settings[N] extends { readonly local: object } ? N : never }[SettingName];

export const settingNames = Object.keys(SETTINGS) as SettingName[];

export const specOf = (name: SettingName): SettingSpec<unknown> => SETTINGS[name] as SettingSpec<unknown>;

/** Where a raw value came from, for messages: `environment variable X`, `context x` or `option x`. */
export type SettingSource = 'env' | 'context' | 'option';

function label(name: SettingName, source: SettingSource): string {
  const spec = specOf(name);
  return source === 'env' && spec.env ? `environment variable ${spec.env}` : `${source === 'option' ? 'option' : 'context'} ${name}`;
}

/** A setting's declared default (undefined when it has none). */
export const defaultOf = <N extends SettingName>(name: N) => specOf(name).default as SettingValue<N> | undefined;

/**
 * One setting from a raw value; undefined or empty gives `fallback` (the
 * caller's default: the declared one, or the local stack's). Throws a
 * message naming the setting and what was wrong.
 */
export function parseSetting<N extends SettingName>(name: N, raw: unknown, source: SettingSource, fallback: SettingValue<N> | undefined): SettingValue<N> | undefined {
  if (raw === undefined || raw === null || raw === '') return fallback;
  try {
    return specOf(name).kind.parse(raw) as SettingValue<N>;
  } catch (error) {
    throw new Error(`${label(name, source)} ${(error as Error).message}`);
  }
}

/** The text of a value as its environment variable carries it. */
export function formatSetting<N extends SettingName>(name: N, value: SettingValue<N>): string {
  return (SETTINGS[name].kind as SettingKind<SettingValue<N>>).format(value);
}

/** Settings a function reads, by its folder name under functions/. */
export function settingsReadBy(functionName: string): SettingName[] {
  return settingNames.filter((name) => specOf(name).readBy?.includes(functionName));
}

export type FunctionSettings = { readonly [N in SettingName]: SettingValue<N> };

/**
 * The settings a handler reads, parsed from its environment on first use
 * and kept (a container's environment does not change). A missing setting
 * without a default fails at first use, naming its variable.
 */
export function readSettings(env: NodeJS.ProcessEnv = process.env): FunctionSettings {
  const values = new Map<SettingName, unknown>();
  const settings = {} as Record<SettingName, unknown>;
  for (const name of settingNames) {
    const spec = specOf(name);
    if (spec.env === undefined) continue;
    Object.defineProperty(settings, name, {
      enumerable: true,
      get: () => {
        if (!values.has(name)) {
          const value = parseSetting(name, env[spec.env!], 'env', defaultOf(name));
          if (value === undefined) throw new Error(`environment variable ${spec.env} is required (${spec.kind.describe})`);
          values.set(name, value);
        }
        return values.get(name);
      },
    });
  }
  return settings as FunctionSettings;
}
