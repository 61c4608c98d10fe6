/**
 * The functions that run outside HTTP, written once, like the route table:
 * what starts each one (a schedule, or a table's stream with its filter,
 * batch size and retries). The CDK stack builds an EventBridge rule or an
 * event source mapping from each entry (lib/luma-gateway-stack.ts); the
 * local stack runs the same entry with its scheduler or stream poller
 * (lib/local/local-stack.ts). A new background function is its handler,
 * its entry here and its needs (lib/function-needs.ts).
 */
import { routes } from './routes';
import type { ContextSettingName, LocalSettingName } from './settings';
import type { TableRole } from './tables';
import { statusChangePatterns, type FilterPattern } from './domain/task-events';

/**
 * Run every N minutes (a setting). Runs never overlap when `oneAtATime`
 * names the reserved-concurrency setting. A failed or stale run is not
 * retried: the next one does its work.
 */
export interface ScheduleTrigger {
  readonly kind: 'schedule';
  /** Minutes between runs in AWS: a stage's setting. */
  readonly everyMinutes: ContextSettingName;
  /** Milliseconds between runs in the local stack: an `npm start` setting. */
  readonly localEveryMs: LocalSettingName;
  /** The reserved concurrency that keeps runs from overlapping in AWS (its value `none`: not reserved). */
  readonly oneAtATime?: ContextSettingName;
}

/** Records of a table's stream, as a Lambda event source mapping delivers them. */
export interface StreamTrigger {
  readonly kind: 'stream';
  readonly table: TableRole;
  /** Lambda event filter patterns: a record is delivered when any matches. */
  readonly filterPatterns: readonly FilterPattern[];
  readonly batchSize: number;
  /** Retries of a failed batch (or of its failed part, with reportBatchItemFailures). */
  readonly retryAttempts: number;
  /** Records older than this are given up (to the failure queue). */
  readonly maxRecordAgeSeconds: number;
  readonly bisectBatchOnError: boolean;
  readonly reportBatchItemFailures: boolean;
}

export interface BackgroundFunction {
  /** The Lambda: a folder under functions/. */
  readonly functionName: string;
  readonly trigger: ScheduleTrigger | StreamTrigger;
}

export const backgroundFunctions: readonly BackgroundFunction[] = [
  {
    // Polls the upstream for tasks whose callbacks were lost; fails tasks past their deadline.
    functionName: 'reconciler',
    trigger: { kind: 'schedule', everyMinutes: 'reconcileIntervalMinutes', localEveryMs: 'scheduleEveryMs', oneAtATime: 'reconcilerReservedConcurrency' },
  },
  {
    // The gateway's one reader of the task stream: every status change, fanned out to its reactions (the notification first).
    functionName: 'task-changes',
    trigger: {
      kind: 'stream',
      table: 'tasks',
      filterPatterns: statusChangePatterns({ withNotifyHook: false }),
      batchSize: 10,
      retryAttempts: 3,
      maxRecordAgeSeconds: 3600,
      bisectBatchOnError: true,
      reportBatchItemFailures: true,
    },
  },
  {
    // Delivers the notification messages that are due: retries, first attempts left to it, redeliveries.
    functionName: 'delivery-worker',
    trigger: { kind: 'schedule', everyMinutes: 'deliveryWorkerIntervalMinutes', localEveryMs: 'deliveryWorkerEveryMs' },
  },
];

/** The TOKEN authorizer in front of every `client` route. */
export const AUTHORIZER_FUNCTION = 'authorizer';

/** Every Lambda of the stack, by folder name: the authorizer, each route's, each background one. */
export const functionNames: readonly string[] = [
  ...new Set([AUTHORIZER_FUNCTION, ...routes.map((route) => route.functionName), ...backgroundFunctions.map((entry) => entry.functionName)]),
];

/** The stream trigger of a stream-fed background function. */
export function streamTriggerOf(functionName: string): StreamTrigger {
  const trigger = backgroundFunctions.find((entry) => entry.functionName === functionName)?.trigger;
  if (trigger?.kind !== 'stream') throw new Error(`${functionName} is not fed by a stream`);
  return trigger;
}
