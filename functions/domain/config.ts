/**
 * Environment variables the Lambda functions read. The CDK stack sets them
 * (lib/), the local stack sets them (lib/local/), the handlers read them here.
 */
export const ENV = {
  tasksTable: 'TASKS_TABLE',
  clientsTable: 'CLIENTS_TABLE',
  idempotencyTable: 'IDEMPOTENCY_TABLE',
  deliveriesTable: 'DELIVERIES_TABLE',
  upstreamBaseUrl: 'UPSTREAM_BASE_URL',
  /** Name or ARN of the Secrets Manager secret holding the upstream key. */
  upstreamSecretId: 'UPSTREAM_SECRET_ID',
  upstreamTimeoutMs: 'UPSTREAM_TIMEOUT_MS',
  /** Public base URL of this API; callback URLs are built from it. */
  callbackBaseUrl: 'CALLBACK_BASE_URL',
  secretCacheTtlSeconds: 'SECRET_CACHE_TTL_SECONDS',
  /** Local stack only: lets a notify_hook be plain http on loopback. Never set in AWS. */
  allowLoopbackHooks: 'ALLOW_LOOPBACK_HOOKS',
  /** Seconds a task may stay open before the reconciler asks the upstream. */
  reconcileAfterSeconds: 'RECONCILE_AFTER_SECONDS',
  /** Seconds after which an unfinished task is failed. */
  taskDeadlineSeconds: 'TASK_DEADLINE_SECONDS',
  /** Most tasks the reconciler looks at in one run. */
  reconcileMaxTasks: 'RECONCILE_MAX_TASKS',
  /** Notifier: milliseconds between delivery attempts in one invocation, comma-separated. */
  notifyRetryDelaysMs: 'NOTIFY_RETRY_DELAYS_MS',
  /** Notifier: timeout of one delivery attempt. */
  notifyTimeoutMs: 'NOTIFY_TIMEOUT_MS',
  /** Days a task is kept before DynamoDB TTL removes it. */
  taskRetentionDays: 'TASK_RETENTION_DAYS',
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];

export function requireEnv(name: EnvName, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') {
    throw new Error(`Missing required environment variable ${name}`);
  }
  return value;
}

export function numberEnv(name: EnvName, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`Environment variable ${name} must be a positive number, got ${JSON.stringify(raw)}`);
  }
  return value;
}
