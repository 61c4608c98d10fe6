import * as logs from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';

/** Per-stage settings of the stack, read from CDK context (cdk.json or `-c key=value`). */
export interface GatewayConfig {
  /** Stage name: API Gateway stage, stack name suffix, resource names. */
  readonly stage: string;
  /** DynamoDB deletion protection (and RETAIN on stack deletion). Always on for prod. */
  readonly deletionProtection: boolean;
  /** Upstream video API base URL; undefined = not configured (a placeholder is deployed, with a warning). */
  readonly upstreamBaseUrl?: string;
  /** Existing Secrets Manager secret holding the upstream key, by name... */
  readonly upstreamSecretName?: string;
  /** ...or by complete ARN. Neither: the stack creates a placeholder secret. */
  readonly upstreamSecretArn?: string;
  /** Public base URL for callback URLs (e.g. a custom domain); default: the stage's execute-api URL. */
  readonly callbackBaseUrl?: string;
  readonly throttleRateLimit: number;
  readonly throttleBurstLimit: number;
  readonly logRetentionDays: logs.RetentionDays;
  /** Create API Gateway's account-level CloudWatch Logs role (needed once per account and region). */
  readonly apiGatewayCloudWatchRole: boolean;
  /** WAFv2 web ACL to associate with the API stage. */
  readonly webAclArn?: string;
  /** Minutes between two runs of the reconciler (EventBridge schedule). */
  readonly reconcileIntervalMinutes: number;
  /** Seconds a task may stay open before the reconciler asks the upstream about it (and between two asks). */
  readonly reconcileAfterSeconds: number;
  /** Seconds after which an unfinished task is failed; stamped on each task when it is created. */
  readonly taskDeadlineSeconds: number;
  /** Most tasks the reconciler looks at in one run. */
  readonly reconcileMaxTasks: number;
  /** Days a task (and its delivery records) is kept before DynamoDB TTL removes it. */
  readonly taskRetentionDays: number;
  /**
   * Reserved concurrency of the reconciler: 1 = one run at a time. Undefined
   * (context `none`) reserves nothing, for accounts whose concurrency limit
   * leaves no room for a reservation.
   */
  readonly reconcilerReservedConcurrency?: number;
}

export const DEFAULTS = {
  stage: 'dev',
  throttleRateLimit: 50,
  throttleBurstLimit: 100,
  logRetentionDays: logs.RetentionDays.ONE_MONTH,
  reconcileIntervalMinutes: 1,
  reconcileAfterSeconds: 300,
  taskDeadlineSeconds: 7200,
  reconcileMaxTasks: 100,
  taskRetentionDays: 90,
  reconcilerReservedConcurrency: 1,
} as const;

/** Context values come from cdk.json (typed) or the command line (strings). */
function optionalString(node: Node, key: string): string | undefined {
  const value = node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new Error(`context ${key} must be a string, got ${JSON.stringify(value)}`);
  return value.trim();
}

function optionalBoolean(node: Node, key: string): boolean | undefined {
  const value = node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new Error(`context ${key} must be true or false, got ${JSON.stringify(value)}`);
}

function positiveNumber(node: Node, key: string, fallback: number): number {
  const value = node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) {
    throw new Error(`context ${key} must be a positive number, got ${JSON.stringify(value)}`);
  }
  return parsed;
}

function positiveInteger(node: Node, key: string, fallback: number): number {
  const value = positiveNumber(node, key, fallback);
  if (!Number.isInteger(value)) throw new Error(`context ${key} must be a whole number, got ${JSON.stringify(node.tryGetContext(key))}`);
  return value;
}

function httpsUrl(key: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`context ${key} must be a URL, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'https:') throw new Error(`context ${key} must be an https URL, got ${value}`);
  return value.replace(/\/+$/, '');
}

export function configFromContext(node: Node): GatewayConfig {
  const stage = optionalString(node, 'stage') ?? DEFAULTS.stage;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(stage)) {
    throw new Error(`context stage must be letters, digits, - or _ (it names the API stage), got ${stage}`);
  }
  const deletionProtectionContext = optionalBoolean(node, 'deletionProtection');
  if (stage === 'prod' && deletionProtectionContext === false) {
    throw new Error('deletionProtection cannot be turned off for stage prod: the task table is the system of record');
  }

  const logRetentionDays = positiveNumber(node, 'logRetentionDays', DEFAULTS.logRetentionDays);
  if (!(Object.values(logs.RetentionDays) as number[]).includes(logRetentionDays)) {
    throw new Error(`context logRetentionDays must be a CloudWatch Logs retention (1, 3, 5, 7, 14, 30, 60, 90, ...), got ${logRetentionDays}`);
  }

  const throttleRateLimit = positiveNumber(node, 'throttleRateLimit', DEFAULTS.throttleRateLimit);
  const throttleBurstLimit = positiveNumber(node, 'throttleBurstLimit', DEFAULTS.throttleBurstLimit);
  if (!Number.isInteger(throttleBurstLimit)) throw new Error('context throttleBurstLimit must be an integer');

  const reconcileAfterSeconds = positiveInteger(node, 'reconcileAfterSeconds', DEFAULTS.reconcileAfterSeconds);
  const taskDeadlineSeconds = positiveInteger(node, 'taskDeadlineSeconds', DEFAULTS.taskDeadlineSeconds);
  const taskRetentionDays = positiveInteger(node, 'taskRetentionDays', DEFAULTS.taskRetentionDays);
  if (taskDeadlineSeconds <= reconcileAfterSeconds) {
    throw new Error(
      `context taskDeadlineSeconds (${taskDeadlineSeconds}) must be greater than reconcileAfterSeconds (${reconcileAfterSeconds}): ` +
        'a task must get a chance to be reconciled before it is failed',
    );
  }
  if (taskRetentionDays * 86_400 <= taskDeadlineSeconds) {
    throw new Error(`context taskRetentionDays (${taskRetentionDays}) must keep tasks longer than taskDeadlineSeconds (${taskDeadlineSeconds})`);
  }
  const reservedConcurrency = node.tryGetContext('reconcilerReservedConcurrency');

  return {
    stage,
    deletionProtection: stage === 'prod' ? true : (deletionProtectionContext ?? false),
    upstreamBaseUrl: httpsUrl('upstreamBaseUrl', optionalString(node, 'upstreamBaseUrl')),
    upstreamSecretName: optionalString(node, 'upstreamSecretName'),
    upstreamSecretArn: optionalString(node, 'upstreamSecretArn'),
    callbackBaseUrl: httpsUrl('callbackBaseUrl', optionalString(node, 'callbackBaseUrl')),
    throttleRateLimit,
    throttleBurstLimit,
    logRetentionDays: logRetentionDays as logs.RetentionDays,
    apiGatewayCloudWatchRole: optionalBoolean(node, 'apiGatewayCloudWatchRole') ?? true,
    webAclArn: optionalString(node, 'webAclArn'),
    reconcileIntervalMinutes: positiveInteger(node, 'reconcileIntervalMinutes', DEFAULTS.reconcileIntervalMinutes),
    reconcileAfterSeconds,
    taskDeadlineSeconds,
    reconcileMaxTasks: positiveInteger(node, 'reconcileMaxTasks', DEFAULTS.reconcileMaxTasks),
    taskRetentionDays,
    reconcilerReservedConcurrency:
      reservedConcurrency === 'none'
        ? undefined
        : positiveInteger(node, 'reconcilerReservedConcurrency', DEFAULTS.reconcilerReservedConcurrency),
  };
}
