import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { NOTIFICATION_LOG_EVENTS } from '../functions/domain/message';
import { settingsReadBy } from '../functions/settings';
import type { GatewayApi } from './api';
import type { GatewayFunction } from './gateway-function';
import { GATEWAY_METRICS_NAMESPACE, gatewayMetricDimensions, type GatewayMetricName } from './gateway-metrics';
import type { GatewayTable } from './tables';

/**
 * The runbook sections of docs/operations.md (`### <id>`), one per kind of
 * alarm: every alarm's description points at its section, and a test checks
 * that each section exists.
 */
export const RUNBOOKS = [
  'api-5xx-rate',
  'api-p99-latency',
  'function-errors',
  'function-throttles',
  'schedule-not-running',
  'stream-iterator-age',
  'failure-queue',
  'dynamodb-throttles',
  'tasks-failed-past-deadline',
  'tasks-failed-unconfirmed',
  'tasks-stuck-open',
  'upstream-error-rate',
  'notifications-exhausted',
  'endpoints-disabled',
  'asset-copies-failed',
] as const;
export type Runbook = (typeof RUNBOOKS)[number];

/**
 * Every threshold, in one place (docs/operations.md states and explains each).
 * Periods are 5 minutes unless said otherwise.
 */
export const THRESHOLDS = {
  /** API 5xx answers, % of requests, in each of 2 consecutive periods with at least `api5xxMinRequests` requests. */
  api5xxPercent: 5,
  api5xxMinRequests: 20,
  /** API p99 latency, ms, in each of 3 consecutive periods (the upstream's budget is 10 s per call). */
  apiP99LatencyMs: 8000,
  /** Unhandled errors and timeouts of an API or stream function in one period. */
  functionErrors: 3,
  /** Failed runs of a scheduled function within two of its intervals (at least 5 minutes). */
  scheduledFunctionErrors: 2,
  /** Throttled invocations of a function: at least this many in each of 2 consecutive periods. */
  functionThrottles: 1,
  /** The stream consumer's oldest record, as a share of its maximum record age (after which records go to the failure queue). */
  iteratorAgeShareOfMaxRecordAge: 1 / 6,
  /** Messages in a failure queue: any. */
  failureQueueMessages: 0,
  /** DynamoDB read + write throttle events on a table and its indexes: at least this many in each of 2 consecutive periods. */
  dynamoThrottleEvents: 1,
  /** Tasks failed at their deadline, per hour. */
  tasksFailedPastDeadlinePerHour: 3,
  /** Tasks failed because the upstream never confirmed them, per hour. */
  tasksFailedUnconfirmedPerHour: 1,
  /** Open tasks past their deadline that a reconciler run saw and could not fail (its maximum), in each of 3 consecutive periods. */
  openTasksPastDeadline: 1,
  /** Upstream requests without a usable answer, % of requests, in each of 2 consecutive periods with at least `upstreamMinRequests`. */
  upstreamErrorPercent: 20,
  upstreamMinRequests: 10,
  /** Notifications that exhausted their retry schedule undelivered, per hour. */
  notificationsExhaustedPerHour: 1,
  /** Client endpoints disabled (a 410, or failing for webhookDisableAfterSeconds), per hour. */
  endpointsDisabledPerHour: 1,
  /** Completed tasks whose media copy failed for good, per hour. */
  assetCopiesFailedPerHour: 1,
} as const;

/**
 * What the functions that send notifications log when a notification is
 * exhausted or an endpoint disabled (functions/domain/message.ts), counted
 * by CloudWatch Logs metric filters on their log groups: measured from the
 * log lines they already write, one namespace per stage.
 */
export const LOG_EVENT_METRICS = {
  NotificationsExhausted: NOTIFICATION_LOG_EVENTS.exhausted,
  EndpointsDisabled: NOTIFICATION_LOG_EVENTS.endpointDisabled,
} as const;
export type LogEventMetricName = keyof typeof LOG_EVENT_METRICS;

export const logEventNamespace = (stage: string) => `LumaGateway/LogEvents/${stage}`;

/** The functions that send notifications: those that read the retry schedule. */
export const notificationSenders = (functionNames: Iterable<string>) => [...functionNames].filter((name) => settingsReadBy(name).includes('webhookRetrySchedule'));

const PERIOD = Duration.minutes(5);

/** Every alarm of a stack is named `<stack name>-<key>`: readable in a notification, and a pattern for policies. */
export function alarmNamePrefix(scope: Construct): string {
  return `${Stack.of(scope).stackName}-`;
}

/** A function run by a schedule, every `everyMinutes`. */
export interface MonitoredSchedule {
  readonly functionName: string;
  readonly everyMinutes: number;
}

/** A function fed by a stream, whose given-up records go to `failureQueue` once older than `maxRecordAge`. */
export interface MonitoredStream {
  readonly functionName: string;
  readonly failureQueue: sqs.IQueue;
  readonly maxRecordAge: Duration;
}

export interface GatewayMonitoringProps {
  readonly stage: string;
  readonly api: GatewayApi;
  /** Every function of the stack, by folder name under functions/. */
  readonly functions: ReadonlyMap<string, GatewayFunction>;
  readonly schedules: readonly MonitoredSchedule[];
  readonly streams: readonly MonitoredStream[];
  /** Every table, by role. */
  readonly tables: Readonly<Record<string, GatewayTable>>;
  /** Where each alarm goes when it fires and when it recovers. */
  readonly actions: readonly cloudwatch.IAlarmAction[];
}

export interface GatewayAlarm {
  /** Unique in the stack; the alarm is named `<stack name>-<key>`. */
  readonly key: string;
  readonly runbook: Runbook;
  readonly alarm: cloudwatch.Alarm;
}

interface AlarmSpec {
  readonly key: string;
  readonly runbook: Runbook;
  /** What it means, one sentence; the threshold and the runbook are appended. */
  readonly summary: string;
  readonly metric: cloudwatch.IMetric;
  readonly threshold: number;
  readonly comparison?: cloudwatch.ComparisonOperator;
  readonly evaluationPeriods?: number;
  readonly treatMissingData?: cloudwatch.TreatMissingData;
}

/** Minutes, as a CloudWatch period within an alarm's limits (1 minute to 1 day). */
const periodOf = (minutes: number) => Duration.minutes(Math.min(1440, Math.max(1, Math.ceil(minutes))));

/**
 * What needs a person, as CloudWatch alarms to the alarm topic, and a
 * dashboard of the same: the API (5xx rate, p99 latency), each function
 * (errors, throttles), the scheduled functions still running, the stream
 * consumer's lag, the failure queues, DynamoDB throttling, and the gateway's
 * own metrics (lib/gateway-metrics.ts: tasks failed at their deadline or
 * unconfirmed, open tasks stuck past their deadline, upstream error rate).
 */
export class GatewayMonitoring extends Construct {
  readonly alarms: GatewayAlarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;
  private readonly props: GatewayMonitoringProps;

  constructor(scope: Construct, id: string, props: GatewayMonitoringProps) {
    super(scope, id);
    this.props = props;
    const stage = props.api.api.deploymentStage;

    // --- the API ---------------------------------------------------------------------------------
    const api5xxRate = new cloudwatch.MathExpression({
      expression: `IF(api_requests >= ${THRESHOLDS.api5xxMinRequests}, 100 * FILL(api_errors, 0) / api_requests, 0)`,
      usingMetrics: {
        api_requests: stage.metricCount({ statistic: cloudwatch.Stats.SUM, period: PERIOD }),
        api_errors: stage.metricServerError({ statistic: cloudwatch.Stats.SUM, period: PERIOD }),
      },
      label: 'API 5xx answers, % of requests',
      period: PERIOD,
    });
    this.addAlarm({
      key: 'Api5xxRate',
      runbook: 'api-5xx-rate',
      summary: 'More than 5% of API requests answered 5xx for 10 minutes (periods with at least 20 requests).',
      metric: api5xxRate,
      threshold: THRESHOLDS.api5xxPercent,
      evaluationPeriods: 2,
    });
    // No labels on alarm metrics: a labelled metric renders as metric math, unreadable in the alarm's console page.
    const apiP99 = stage.metricLatency({ statistic: 'p99', period: PERIOD });
    this.addAlarm({
      key: 'ApiLatencyP99',
      runbook: 'api-p99-latency',
      summary: 'API p99 latency above 8 s for 15 minutes: requests are close to the upstream timeout (10 s).',
      metric: apiP99,
      threshold: THRESHOLDS.apiP99LatencyMs,
      evaluationPeriods: 3,
    });

    // --- each function ---------------------------------------------------------------------------
    const scheduled = new Map(props.schedules.map((schedule) => [schedule.functionName, schedule]));
    for (const [name, gatewayFunction] of props.functions) {
      const fn = gatewayFunction.function;
      const schedule = scheduled.get(name);
      if (schedule) {
        const window = periodOf(Math.max(5, 2 * schedule.everyMinutes));
        const silence = periodOf(Math.max(10, 2 * schedule.everyMinutes));
        this.addAlarm({
          key: `Errors-${name}`,
          runbook: 'function-errors',
          summary: `The ${name} failed ${THRESHOLDS.scheduledFunctionErrors} runs within ${window.toMinutes()} minutes.`,
          metric: fn.metricErrors({ statistic: cloudwatch.Stats.SUM, period: window }),
          threshold: THRESHOLDS.scheduledFunctionErrors,
        });
        this.addAlarm({
          key: `NotRunning-${name}`,
          runbook: 'schedule-not-running',
          summary: `The ${name}, scheduled every ${schedule.everyMinutes} min, did not start once in ${silence.toMinutes()} minutes.`,
          metric: fn.metricInvocations({ statistic: cloudwatch.Stats.SUM, period: silence }),
          threshold: 1,
          comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          // No invocation, no data point: missing data is the failure here.
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        });
      } else {
        this.addAlarm({
          key: `Errors-${name}`,
          runbook: 'function-errors',
          summary: `The ${name} function had ${THRESHOLDS.functionErrors} or more unhandled errors or timeouts in 5 minutes.`,
          metric: fn.metricErrors({ statistic: cloudwatch.Stats.SUM, period: PERIOD }),
          threshold: THRESHOLDS.functionErrors,
        });
      }
      this.addAlarm({
        key: `Throttles-${name}`,
        runbook: 'function-throttles',
        summary: `The ${name} function was throttled in each of 2 consecutive 5-minute periods: the account's Lambda concurrency is exhausted.`,
        metric: fn.metricThrottles({ statistic: cloudwatch.Stats.SUM, period: PERIOD }),
        threshold: THRESHOLDS.functionThrottles,
        evaluationPeriods: 2,
      });
      if (gatewayFunction.deadLetterQueue) {
        this.addAlarm({
          key: `DeadLetterQueue-${name}`,
          runbook: 'failure-queue',
          summary: `Runs of the ${name} failed or were dropped: see its dead-letter queue.`,
          metric: gatewayFunction.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM, period: PERIOD }),
          threshold: THRESHOLDS.failureQueueMessages,
          comparison: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        });
      }
    }

    // --- stream consumers ------------------------------------------------------------------------
    for (const stream of props.streams) {
      const fn = this.functionNamed(stream.functionName).function;
      const maxAgeMs = Math.round(stream.maxRecordAge.toMilliseconds() * THRESHOLDS.iteratorAgeShareOfMaxRecordAge);
      this.addAlarm({
        key: `IteratorAge-${stream.functionName}`,
        runbook: 'stream-iterator-age',
        summary:
          `The ${stream.functionName} is behind the task stream by more than ${Math.round(maxAgeMs / 60_000)} minutes, for 10 minutes; ` +
          `records older than ${stream.maxRecordAge.toMinutes()} minutes go to its failure queue unprocessed.`,
        metric: fn.metric('IteratorAge', { statistic: cloudwatch.Stats.MAXIMUM, period: PERIOD }),
        threshold: maxAgeMs,
        evaluationPeriods: 2,
      });
      this.addAlarm({
        key: `FailureQueue-${stream.functionName}`,
        runbook: 'failure-queue',
        summary: `The ${stream.functionName} gave records up (retries exhausted or too old): see its failure queue.`,
        metric: stream.failureQueue.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM, period: PERIOD }),
        threshold: THRESHOLDS.failureQueueMessages,
        comparison: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      });
    }

    // --- DynamoDB --------------------------------------------------------------------------------
    for (const [role, table] of Object.entries(props.tables)) {
      this.addAlarm({
        key: `DynamoDBThrottles-${role}`,
        runbook: 'dynamodb-throttles',
        summary: `Requests to the ${role} table (or its indexes) were throttled in each of 2 consecutive 5-minute periods.`,
        metric: throttleEventsOf(table, role),
        threshold: THRESHOLDS.dynamoThrottleEvents,
        evaluationPeriods: 2,
      });
    }

    // --- the gateway's own metrics (emitted by the functions; see lib/gateway-metrics.ts) ---------
    this.addAlarm({
      key: 'TasksFailedPastDeadline',
      runbook: 'tasks-failed-past-deadline',
      summary: `${THRESHOLDS.tasksFailedPastDeadlinePerHour} or more tasks failed in an hour because they had no final state at their deadline.`,
      metric: this.gatewayMetric('TasksFailedPastDeadline', { period: Duration.hours(1) }),
      threshold: THRESHOLDS.tasksFailedPastDeadlinePerHour,
    });
    this.addAlarm({
      key: 'TasksFailedUnconfirmed',
      runbook: 'tasks-failed-unconfirmed',
      summary: 'A task failed because the upstream never confirmed its submission: the upstream may have created (and charged) a generation the gateway does not track.',
      metric: this.gatewayMetric('TasksFailedUnconfirmed', { period: Duration.hours(1) }),
      threshold: THRESHOLDS.tasksFailedUnconfirmedPerHour,
    });
    this.addAlarm({
      key: 'AssetCopiesFailed',
      runbook: 'asset-copies-failed',
      summary:
        "A completed task's media could not be stored in the gateway's bucket (a medium refused, too large, not a video or image, or every planned attempt failed): its client got the upstream's short-lived links.",
      metric: this.gatewayMetric('AssetCopiesFailed', { period: Duration.hours(1) }),
      threshold: THRESHOLDS.assetCopiesFailedPerHour,
    });
    // --- notifications (log events of the functions that send them) -------------------------------
    this.countLogEvents();
    this.addAlarm({
      key: 'NotificationsExhausted',
      runbook: 'notifications-exhausted',
      summary: "A client's notification exhausted its retry schedule (about 27 hours by default) without a 2xx from its hook.",
      metric: this.logEventMetric('NotificationsExhausted'),
      threshold: THRESHOLDS.notificationsExhaustedPerHour,
    });
    this.addAlarm({
      key: 'EndpointsDisabled',
      runbook: 'endpoints-disabled',
      summary: "A client's endpoint (notify_hook URL) was disabled: it answered 410, or failed every attempt for webhookDisableAfterSeconds.",
      metric: this.logEventMetric('EndpointsDisabled'),
      threshold: THRESHOLDS.endpointsDisabledPerHour,
    });
    this.addAlarm({
      key: 'OpenTasksPastDeadline',
      runbook: 'tasks-stuck-open',
      summary:
        'For 15 minutes the reconciler has seen open tasks past their deadline that it could not fail (the upstream throttling it, failing writes, or more due tasks than a run takes).',
      metric: this.gatewayMetric('OpenTasksPastDeadline', { statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: THRESHOLDS.openTasksPastDeadline,
      evaluationPeriods: 3,
    });
    this.addAlarm({
      key: 'UpstreamErrorRate',
      runbook: 'upstream-error-rate',
      summary: 'More than 20% of upstream requests got no usable answer for 10 minutes (periods with at least 10 requests).',
      metric: this.upstreamErrorRate(),
      threshold: THRESHOLDS.upstreamErrorPercent,
      evaluationPeriods: 2,
    });

    this.dashboard = this.createDashboard(api5xxRate);
  }

  private functionNamed(name: string): GatewayFunction {
    const gatewayFunction = this.props.functions.get(name);
    if (!gatewayFunction) throw new Error(`monitoring: no function ${name} in the stack`);
    return gatewayFunction;
  }

  private addAlarm(spec: AlarmSpec): cloudwatch.Alarm {
    if (this.alarms.some((existing) => existing.key === spec.key)) throw new Error(`monitoring: two alarms ${spec.key}`);
    const alarm = new cloudwatch.Alarm(this, spec.key, {
      // Readable in a notification; unique per stack and region. Alarms are never retained, so the name cannot block a retry.
      alarmName: `${alarmNamePrefix(this)}${spec.key}`,
      alarmDescription: `${spec.summary} Runbook: docs/operations.md#${spec.runbook}`,
      metric: spec.metric,
      threshold: spec.threshold,
      comparisonOperator: spec.comparison ?? cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: spec.evaluationPeriods ?? 1,
      // Quiet without traffic (a metric without data is not a failure), except where said.
      treatMissingData: spec.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(...this.props.actions);
    alarm.addOkAction(...this.props.actions);
    this.alarms.push({ key: spec.key, runbook: spec.runbook, alarm });
    return alarm;
  }

  /** One metric filter per log event and sending function: each matching line counts 1. */
  private countLogEvents(): void {
    for (const name of notificationSenders(this.props.functions.keys())) {
      const { logGroup } = this.functionNamed(name);
      for (const [metricName, message] of Object.entries(LOG_EVENT_METRICS)) {
        new logs.MetricFilter(this, `${metricName}-${name}`, {
          logGroup,
          metricNamespace: logEventNamespace(this.props.stage),
          metricName,
          // Powertools' JSON lines carry the log message in `message`.
          filterPattern: logs.FilterPattern.stringValue('$.message', '=', message),
          metricValue: '1',
        });
      }
    }
  }

  private logEventMetric(name: LogEventMetricName): cloudwatch.Metric {
    return new cloudwatch.Metric({ namespace: logEventNamespace(this.props.stage), metricName: name, statistic: cloudwatch.Stats.SUM, period: Duration.hours(1) });
  }

  private gatewayMetric(name: GatewayMetricName, options: { statistic?: string; period?: Duration; label?: string } = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: GATEWAY_METRICS_NAMESPACE,
      metricName: name,
      dimensionsMap: gatewayMetricDimensions(this.props.stage),
      statistic: options.statistic ?? cloudwatch.Stats.SUM,
      period: options.period ?? PERIOD,
      label: options.label,
    });
  }

  private upstreamErrorRate(): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression: `IF(upstream_requests >= ${THRESHOLDS.upstreamMinRequests}, 100 * FILL(upstream_errors, 0) / upstream_requests, 0)`,
      usingMetrics: { upstream_requests: this.gatewayMetric('UpstreamRequests'), upstream_errors: this.gatewayMetric('UpstreamErrors') },
      label: 'Upstream errors, % of requests',
      period: PERIOD,
    });
  }

  /** One dashboard of what the alarms watch, in the order an operator reads it: alarms, API, tasks, functions, background, tables. */
  private createDashboard(api5xxRate: cloudwatch.IMetric): cloudwatch.Dashboard {
    const stack = Stack.of(this);
    const stage = this.props.api.api.deploymentStage;
    const functions = [...this.props.functions.entries()];
    const perFunction = (title: string, metric: (fn: GatewayFunction, name: string) => cloudwatch.IMetric) =>
      new cloudwatch.GraphWidget({ title, width: 8, left: functions.map(([name, fn]) => metric(fn, name)) });
    const tables = Object.entries(this.props.tables);
    const failureQueues = [
      ...this.props.streams.map((stream) => stream.failureQueue.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM, label: `${stream.functionName} failure queue` })),
      ...functions.flatMap(([name, fn]) =>
        fn.deadLetterQueue ? [fn.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM, label: `${name} dead-letter queue` })] : [],
      ),
    ];
    const annotation = (value: number, label: string): cloudwatch.HorizontalAnnotation => ({ value, label, color: cloudwatch.Color.RED });

    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      // Dashboards are global to the account: the region keeps two regions' stacks apart.
      dashboardName: `${stack.stackName}-${stack.region}`,
      defaultInterval: Duration.hours(3),
    });
    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          `# luma-gateway ${this.props.stage}\n` +
          'Every alarm links its runbook in its description (docs/operations.md, "Alarms"). ' +
          'Gateway metrics come from the functions (namespace `LumaGateway`, lib/gateway-metrics.ts).',
        width: 24,
        height: 2,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        alarms: this.alarms.map((entry) => entry.alarm),
        width: 24,
        height: Math.min(12, 2 + Math.ceil(this.alarms.length / 4)),
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'API requests and errors',
        width: 8,
        left: [
          stage.metricCount({ statistic: cloudwatch.Stats.SUM, label: 'requests' }),
          stage.metricClientError({ statistic: cloudwatch.Stats.SUM, label: '4xx' }),
          stage.metricServerError({ statistic: cloudwatch.Stats.SUM, label: '5xx' }),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'API 5xx rate (%)',
        width: 8,
        left: [api5xxRate],
        leftAnnotations: [annotation(THRESHOLDS.api5xxPercent, 'alarm')],
      }),
      new cloudwatch.GraphWidget({
        title: 'API latency (ms)',
        width: 8,
        left: [
          stage.metricLatency({ statistic: 'p50', label: 'p50' }),
          stage.metricLatency({ statistic: 'p99', label: 'p99' }),
          stage.metricIntegrationLatency({ statistic: 'p99', label: 'integration p99' }),
        ],
        leftAnnotations: [annotation(THRESHOLDS.apiP99LatencyMs, 'p99 alarm')],
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Tasks',
        width: 8,
        left: [this.gatewayMetric('TasksSubmitted'), this.gatewayMetric('TasksCompleted'), this.gatewayMetric('TasksFailed'), this.gatewayMetric('TasksConfirmed')],
        right: [this.gatewayMetric('TasksFailedPastDeadline'), this.gatewayMetric('TasksFailedUnconfirmed')],
      }),
      new cloudwatch.GraphWidget({
        title: 'Upstream requests and error rate (%)',
        width: 8,
        left: [this.gatewayMetric('UpstreamRequests'), this.gatewayMetric('UpstreamErrors'), this.gatewayMetric('UpstreamRefusals')],
        right: [this.upstreamErrorRate()],
        rightAnnotations: [annotation(THRESHOLDS.upstreamErrorPercent, 'alarm')],
      }),
      new cloudwatch.GraphWidget({
        title: 'Upstream latency (ms) and callbacks',
        width: 8,
        left: [
          this.gatewayMetric('UpstreamLatency', { statistic: 'p50', label: 'upstream p50' }),
          this.gatewayMetric('UpstreamLatency', { statistic: 'p99', label: 'upstream p99' }),
        ],
        right: [this.gatewayMetric('CallbacksApplied'), this.gatewayMetric('CallbacksIgnored')],
      }),
    );
    dashboard.addWidgets(
      perFunction('Lambda errors', (fn, name) => fn.function.metricErrors({ statistic: cloudwatch.Stats.SUM, label: name })),
      perFunction('Lambda throttles', (fn, name) => fn.function.metricThrottles({ statistic: cloudwatch.Stats.SUM, label: name })),
      perFunction('Lambda duration p99 (ms)', (fn, name) => fn.function.metricDuration({ statistic: 'p99', label: name })),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Stream consumers: iterator age (ms)',
        width: 8,
        left: this.props.streams.map((stream) =>
          this.functionNamed(stream.functionName).function.metric('IteratorAge', { statistic: cloudwatch.Stats.MAXIMUM, label: stream.functionName }),
        ),
      }),
      new cloudwatch.GraphWidget({ title: 'Failure queues (messages)', width: 8, left: failureQueues }),
      new cloudwatch.GraphWidget({
        title: 'Scheduled runs, notifications and stored media',
        width: 8,
        left: this.props.schedules.map((schedule) =>
          this.functionNamed(schedule.functionName).function.metricInvocations({ statistic: cloudwatch.Stats.SUM, label: `${schedule.functionName} runs` }),
        ),
        right: [
          this.gatewayMetric('NotificationsDelivered'),
          this.gatewayMetric('NotificationsFailed'),
          this.logEventMetric('NotificationsExhausted').with({ period: PERIOD }),
          this.logEventMetric('EndpointsDisabled').with({ period: PERIOD }),
          this.gatewayMetric('AssetCopiesStored', { label: 'media stored' }),
          this.gatewayMetric('AssetCopiesFailed', { label: 'media copies failed' }),
        ],
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Reconciler: what its runs did',
        width: 12,
        left: (['ReconcilerAdvanced', 'ReconcilerFailed', 'ReconcilerDeferred', 'ReconcilerErrors', 'ReconcilerThrottled'] as const).map((name) => this.gatewayMetric(name)),
      }),
      new cloudwatch.GraphWidget({
        title: 'Open tasks the reconciler saw: oldest (s), past deadline, unconfirmed',
        width: 12,
        left: [this.gatewayMetric('OpenTasksOldestAgeSeconds', { statistic: cloudwatch.Stats.MAXIMUM, label: 'oldest open task (s)' })],
        right: [
          this.gatewayMetric('OpenTasksPastDeadline', { statistic: cloudwatch.Stats.MAXIMUM, label: 'past deadline' }),
          this.gatewayMetric('OpenTasksUnconfirmed', { statistic: cloudwatch.Stats.MAXIMUM, label: 'awaiting confirmation' }),
        ],
        rightAnnotations: [annotation(THRESHOLDS.openTasksPastDeadline, 'alarm (15 min)')],
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'DynamoDB throttle events',
        width: 12,
        left: tables.map(([role, table]) => throttleEventsOf(table, role)),
      }),
      new cloudwatch.GraphWidget({
        title: 'DynamoDB consumed capacity units',
        width: 12,
        left: tables.map(([role, table]) => table.table.metricConsumedReadCapacityUnits({ statistic: cloudwatch.Stats.SUM, label: `${role} read` })),
        right: tables.map(([role, table]) => table.table.metricConsumedWriteCapacityUnits({ statistic: cloudwatch.Stats.SUM, label: `${role} write` })),
      }),
    );
    return dashboard;
  }
}

/** Read and write throttle events of a table and of each of its global secondary indexes, summed. */
function throttleEventsOf(table: GatewayTable, role: string): cloudwatch.MathExpression {
  const usingMetrics: Record<string, cloudwatch.IMetric> = {};
  const indexes = [undefined, ...table.definition.globalSecondaryIndexes.map((index) => index.indexName)];
  indexes.forEach((indexName, i) => {
    for (const [kind, metricName] of [
      ['r', 'ReadThrottleEvents'],
      ['w', 'WriteThrottleEvents'],
    ] as const) {
      // Ids are unique per graph, and one graph shows every table.
      usingMetrics[`${role}_${kind}${i}`] = new cloudwatch.Metric({
        namespace: 'AWS/DynamoDB',
        metricName,
        dimensionsMap: indexName ? { TableName: table.tableName, GlobalSecondaryIndexName: indexName } : { TableName: table.tableName },
        statistic: cloudwatch.Stats.SUM,
        period: PERIOD,
      });
    }
  });
  return new cloudwatch.MathExpression({
    expression: Object.keys(usingMetrics)
      .map((id) => `FILL(${id}, 0)`)
      .join(' + '),
    usingMetrics,
    label: `${role} throttle events`,
    period: PERIOD,
  });
}
