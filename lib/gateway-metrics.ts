/**
 * The gateway's own CloudWatch metrics: a contract between the functions,
 * which emit them in CloudWatch embedded metric format (EMF, e.g. with
 * Powertools Metrics), and the stack's alarms and dashboard, which read
 * them (lib/monitoring.ts). Pure data, no CDK import, so a handler can
 * import it too.
 *
 * Every metric goes to namespace `LumaGateway` with exactly the dimensions
 * `service` (= POWERTOOLS_SERVICE_NAME, `luma-gateway`; Powertools Metrics
 * adds it to every metric) and `stage` (the stack's stage). An alarm matches
 * a metric's dimension set exactly: a finer breakdown (by reason, by error
 * class) is emitted as an extra dimension set beside [service, stage], never
 * instead of it. Until a function emits a metric, its alarm stays OK
 * (missing data is not breaching) and its graph is empty.
 */
export const GATEWAY_METRICS_NAMESPACE = 'LumaGateway';

/** The `service` dimension's value: the POWERTOOLS_SERVICE_NAME every function gets (lib/gateway-function.ts). */
export const GATEWAY_SERVICE_NAME = 'luma-gateway';

export interface GatewayMetricDefinition {
  /** The EMF unit. */
  readonly unit: 'Count' | 'Milliseconds';
  /** Functions (folders under functions/) that emit it. */
  readonly emittedBy: readonly string[];
  /** When one is emitted, and what its value is. */
  readonly when: string;
}

const SUBMITTERS = ['extend', 'create'];
const UPSTREAM_CALLERS = [...SUBMITTERS, 'reconciler'];

export const GATEWAY_METRICS = {
  TasksSubmitted: { unit: 'Count', emittedBy: SUBMITTERS, when: '1 per task recorded and sent upstream' },
  TasksCompleted: { unit: 'Count', emittedBy: ['callback', 'reconciler'], when: '1 per task moved to completed' },
  TasksFailed: { unit: 'Count', emittedBy: [...UPSTREAM_CALLERS, 'callback'], when: '1 per task moved to failed, whatever the reason' },
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
  UpstreamRequests: { unit: 'Count', emittedBy: UPSTREAM_CALLERS, when: '1 per HTTP request to the upstream (submission or look-up), whatever its outcome' },
  UpstreamErrors: {
    unit: 'Count',
    emittedBy: UPSTREAM_CALLERS,
    when:
      '1 per upstream request that got no usable answer: timeout, reset, 5xx, 429, an unreadable 2xx, or 401/403 (the gateway\'s key refused); ' +
      "not a refusal of the client's request (another 4xx, an error envelope)",
  },
  UpstreamLatency: { unit: 'Milliseconds', emittedBy: UPSTREAM_CALLERS, when: 'duration of each upstream request, from send to the last byte or the error' },
  CallbacksApplied: { unit: 'Count', emittedBy: ['callback'], when: "1 per callback that moved its task forward" },
  CallbacksIgnored: { unit: 'Count', emittedBy: ['callback'], when: '1 per callback that changed nothing (late, duplicate, forged or malformed)' },
  NotificationsDelivered: { unit: 'Count', emittedBy: ['notifier'], when: "1 per notification a client's hook accepted (2xx)" },
  NotificationsFailed: { unit: 'Count', emittedBy: ['notifier'], when: '1 per delivery attempt that failed (not 2xx, timeout, refused address)' },
} as const satisfies Record<string, GatewayMetricDefinition>;

export type GatewayMetricName = keyof typeof GATEWAY_METRICS;

/** The dimensions every gateway metric carries, for one stage. */
export function gatewayMetricDimensions(stage: string): Readonly<Record<'service' | 'stage', string>> {
  return { service: GATEWAY_SERVICE_NAME, stage };
}
