/**
 * The gateway's own CloudWatch metrics: a contract between the functions,
 * which emit them in CloudWatch embedded metric format (EMF, with
 * Powertools Metrics: functions/adapters/metrics.ts), and the stack's alarms
 * and dashboard, which read them (lib/monitoring.ts). Pure data, no CDK
 * import, so a handler can import it too (the functions import its types
 * only: nothing of it reaches a bundle).
 *
 * Every metric goes to namespace `LumaGateway` with exactly the dimensions
 * `service` (`luma-gateway`) and `stage` (the stack's stage). An alarm
 * matches a metric's dimension set exactly: a finer breakdown (by reason, by
 * error class) is emitted as an extra dimension set beside [service, stage],
 * never instead of it (`breakdown` below). Until a function emits a metric,
 * its alarm stays OK (missing data is not breaching) and its graph is empty.
 */
export const GATEWAY_METRICS_NAMESPACE = 'LumaGateway';

/** The `service` dimension's value, and the POWERTOOLS_SERVICE_NAME every function gets (lib/gateway-function.ts). */
export const GATEWAY_SERVICE_NAME = 'luma-gateway';

/** The dimensions every gateway metric carries. */
export const BASE_DIMENSIONS = ['service', 'stage'] as const;

export type GatewayMetricUnit = 'Count' | 'Milliseconds' | 'Seconds';

export interface GatewayMetricDefinition {
  /** The EMF unit. */
  readonly unit: GatewayMetricUnit;
  /** Functions (folders under functions/) that emit it. */
  readonly emittedBy: readonly string[];
  /** When one is emitted, and what its value is. */
  readonly when: string;
  /**
   * Dimensions of the extra dimension set it is also emitted under, beside
   * [service, stage] (e.g. TasksFailed by failure_code). Only on rare
   * events: each breakdown is one more EMF line.
   */
  readonly breakdown?: readonly string[];
}

// Written out, not spread: a literal without spreads lets esbuild drop this table from the bundles that only need the names above.
const SUBMITTERS = ['extend', 'create'];
const UPSTREAM_CALLERS = ['extend', 'create', 'reconciler'];
const TASK_MOVERS = ['extend', 'create', 'reconciler', 'callback'];

export const GATEWAY_METRICS = {
  // --- tasks ---------------------------------------------------------------------------------------
  TasksSubmitted: { unit: 'Count', emittedBy: SUBMITTERS, when: '1 per task recorded and sent upstream (a replayed Idempotency-Key is not a new task)' },
  TasksConfirmed: {
    unit: 'Count',
    emittedBy: ['callback'],
    when: "1 per unconfirmed task (the upstream's answer to its submission was lost) that a callback confirmed, a task already failed as unconfirmed included",
  },
  TasksCompleted: { unit: 'Count', emittedBy: TASK_MOVERS, when: '1 per task moved to completed' },
  TasksFailed: {
    unit: 'Count',
    emittedBy: TASK_MOVERS,
    when: '1 per task moved to failed, whatever the reason; also by failure_code (refused, upstream_failed, unconfirmed, deadline, unknown_to_upstream)',
    breakdown: ['failure_code'],
  },
  TasksFailedPastDeadline: {
    unit: 'Count',
    emittedBy: ['reconciler'],
    when: '1 per task the reconciler failed because it had no final state at its deadline (taskDeadlineSeconds)',
  },
  TasksFailedUnconfirmed: {
    unit: 'Count',
    emittedBy: ['reconciler'],
    when: '1 per task failed because the upstream never confirmed its submission (no upstream id by its confirmation deadline)',
  },
  SubmissionsLimited: {
    unit: 'Count',
    emittedBy: SUBMITTERS,
    when: "1 per submission refused (429) by its client's limits, which wrote nothing; also by limit (open_tasks, tasks_per_day)",
    breakdown: ['limit'],
  },

  // --- the upstream --------------------------------------------------------------------------------
  UpstreamRequests: { unit: 'Count', emittedBy: UPSTREAM_CALLERS, when: '1 per HTTP request to the upstream (submission or look-up), whatever its outcome' },
  UpstreamErrors: {
    unit: 'Count',
    emittedBy: UPSTREAM_CALLERS,
    when:
      "1 per upstream request that got no usable answer: timeout, reset, unreachable, 5xx, 429, an unreadable 2xx, or 401/403 (the gateway's key refused); " +
      "not a refusal of the client's request (UpstreamRefusals); also by outcome (refused: nothing was created; unknown: it may have been) and kind",
    breakdown: ['outcome', 'kind'],
  },
  UpstreamRefusals: {
    unit: 'Count',
    emittedBy: UPSTREAM_CALLERS,
    when: "1 per upstream answer refusing the client's request (a 4xx with a reason, an error envelope, 404); also by kind (upstream-rejected, upstream-content-refused, upstream-balance, upstream-quota, not-found)",
    breakdown: ['kind'],
  },
  UpstreamLatency: { unit: 'Milliseconds', emittedBy: UPSTREAM_CALLERS, when: 'duration of each upstream request, from send to the last byte or the error' },

  // --- callbacks -----------------------------------------------------------------------------------
  CallbacksApplied: { unit: 'Count', emittedBy: ['callback'], when: '1 per callback that moved its task forward' },
  CallbacksIgnored: {
    unit: 'Count',
    emittedBy: ['callback'],
    when: '1 per callback that changed nothing; also by reason (no-op: late or duplicate; unknown-state; unknown-token: forged or for no task; malformed; other-generation)',
    breakdown: ['reason'],
  },

  // --- notifications -------------------------------------------------------------------------------
  NotificationsDelivered: { unit: 'Count', emittedBy: ['task-changes'], when: "1 per notification a client's hook accepted (2xx)" },
  NotificationsFailed: { unit: 'Count', emittedBy: ['task-changes'], when: '1 per delivery attempt that failed (not 2xx, timeout, refused address)' },
  NotificationsExhausted: {
    unit: 'Count',
    emittedBy: ['task-changes'],
    when: '1 per status change whose delivery attempts all failed: handed back to the stream for a retry (and after the last, to the failure queue)',
  },

  // --- stored media ----------------------------------------------------------------------------------
  AssetCopiesStored: { unit: 'Count', emittedBy: ['asset-worker'], when: "1 per completed task whose every medium is stored in the gateway's bucket" },
  AssetCopiesFailed: {
    unit: 'Count',
    emittedBy: ['asset-worker'],
    when: '1 per completed task whose media copy failed for good (a medium refused, too large, not a video or image, or every planned attempt failed)',
  },

  // --- the reconciler (one of each per run) --------------------------------------------------------
  ReconcilerAdvanced: { unit: 'Count', emittedBy: ['reconciler'], when: 'tasks a run moved forward by what the upstream said' },
  ReconcilerFailed: { unit: 'Count', emittedBy: ['reconciler'], when: 'tasks a run failed (deadline, unconfirmed, unknown to the upstream)' },
  ReconcilerDeferred: { unit: 'Count', emittedBy: ['reconciler'], when: 'tasks a run looked at and left open, to look at again later' },
  ReconcilerErrors: { unit: 'Count', emittedBy: ['reconciler'], when: 'tasks a run could not reconcile (an upstream or store error; looked at again later)' },
  ReconcilerThrottled: { unit: 'Count', emittedBy: ['reconciler'], when: '1 when a run stopped early because the upstream answered 429, else 0' },
  OpenTasksOldestAgeSeconds: {
    unit: 'Seconds',
    emittedBy: ['reconciler'],
    when:
      'age of the oldest task a run looked at that is still open after it (every open task is looked at at least every reconcileAfterSeconds: ' +
      'the maximum over that window is the oldest open task); not emitted when the run looked at none',
  },
  OpenTasksPastDeadline: { unit: 'Count', emittedBy: ['reconciler'], when: 'tasks a run looked at that are past their deadline and still open after it (it could not fail them)' },
  OpenTasksUnconfirmed: {
    unit: 'Count',
    emittedBy: ['reconciler'],
    when: 'tasks a run looked at that still wait for the upstream to confirm their submission (no upstream id yet, before their confirmation deadline)',
  },
} as const satisfies Record<string, GatewayMetricDefinition>;

export type GatewayMetricName = keyof typeof GATEWAY_METRICS;

/** The metrics of one unit, for the emitters' types (functions/domain/ports.ts). */
export type GatewayMetricOfUnit<U extends GatewayMetricUnit> = { [N in GatewayMetricName]: (typeof GATEWAY_METRICS)[N]['unit'] extends U ? N : never }[GatewayMetricName];

/** The breakdown dimensions of a metric (never for a metric without one). */
export type BreakdownOf<N extends GatewayMetricName> = (typeof GATEWAY_METRICS)[N] extends { readonly breakdown: readonly (infer D extends string)[] }
  ? { readonly [K in D]: string }
  : never;

/**
 * Powertools Metrics' own cold-start metric, in the same namespace: 1 per
 * cold start, dimensions [service, stage, function_name] only.
 */
export const COLD_START_METRIC = 'ColdStart';

/** The dimensions every gateway metric carries, for one stage. */
export function gatewayMetricDimensions(stage: string): Readonly<Record<'service' | 'stage', string>> {
  return { service: GATEWAY_SERVICE_NAME, stage };
}

/** Every dimension set a metric is emitted under: [service, stage], and its breakdown's. */
export function dimensionSetsOf(name: GatewayMetricName): readonly (readonly string[])[] {
  const definition: GatewayMetricDefinition = GATEWAY_METRICS[name];
  return definition.breakdown ? [BASE_DIMENSIONS, [...BASE_DIMENSIONS, ...definition.breakdown]] : [BASE_DIMENSIONS];
}
