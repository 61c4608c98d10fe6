import { Annotations, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { ENV } from '../functions/domain/config';
import { statusChangePatterns } from '../functions/domain/task-events';
import { routes as allRoutes, type RouteDefinition } from '../functions/routes';
import { GatewayApi } from './api';
import type { GatewayConfig } from './config';
import { needsOf, type FunctionSetting } from './function-needs';
import { GatewayFunction, MAX_API_FUNCTION_TIMEOUT, type GatewayFunctionProps } from './gateway-function';
import { createGatewayTables, TABLE_ROLES, type GatewayTable, type TableRole } from './tables';
import { TaskEventsSubscription } from './task-events-subscription';
import { UpstreamSecret } from './upstream-secret';

/** Deployed when no upstreamBaseUrl is configured: resolves nowhere, so nothing is sent anywhere by mistake. */
export const PLACEHOLDER_UPSTREAM_BASE_URL = 'https://upstream.invalid';
/** Budget for one upstream call, inside the submit functions' 20 s timeout. */
export const UPSTREAM_TIMEOUT_MS = '10000';

export interface LumaGatewayStackProps extends StackProps {
  readonly config: GatewayConfig;
  /** Routes to serve. @default the route table of functions/routes.ts */
  readonly routes?: readonly RouteDefinition[];
}

/** Functions not behind a route: run by a schedule or by the task stream. */
export const BACKGROUND_FUNCTIONS = ['reconciler', 'notifier'] as const;

/**
 * luma-gateway: the public REST API, its functions, the task, client,
 * idempotency and delivery tables, the upstream key secret, the scheduled
 * reconciler and the stream-fed notifier.
 */
export class LumaGatewayStack extends Stack {
  readonly tables: Readonly<Record<TableRole, GatewayTable>>;
  readonly upstreamSecret: UpstreamSecret;
  readonly api: GatewayApi;
  /** Every function of the stack, by folder name under functions/. */
  readonly functions = new Map<string, GatewayFunction>();
  /** Runs the reconciler every reconcileIntervalMinutes. */
  readonly reconcileSchedule: events.Rule;
  /** The notifier's subscription to task status changes (tasks with a notify_hook). */
  readonly notifierSubscription: TaskEventsSubscription;

  constructor(scope: Construct, id: string, props: LumaGatewayStackProps) {
    super(scope, id, props);
    const { config } = props;
    const routes = props.routes ?? allRoutes;
    const logRemovalPolicy = config.stage === 'prod' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.tables = createGatewayTables(this, config.deletionProtection);

    this.upstreamSecret = new UpstreamSecret(this, 'UpstreamSecret', {
      stage: config.stage,
      existingSecretName: config.upstreamSecretName,
      existingSecretArn: config.upstreamSecretArn,
      removalPolicy: config.deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });

    if (!config.upstreamBaseUrl) {
      Annotations.of(this).addWarningV2(
        'luma-gateway:upstreamBaseUrlMissing',
        `context upstreamBaseUrl is not set: the functions get ${PLACEHOLDER_UPSTREAM_BASE_URL} and every upstream call will fail; ` +
          'deploy with -c upstreamBaseUrl=https://<upstream>',
      );
    }

    // Values of the settings functions declare in FUNCTION_NEEDS; the callback URL exists once the API does.
    let api: GatewayApi | undefined;
    const settingValue = (setting: FunctionSetting, functionName: string): string => {
      switch (setting) {
        case 'callbackBaseUrl':
          if (!api) throw new Error(`${functionName} needs the callback URL, which exists only once the API is created`);
          return config.callbackBaseUrl ?? api.baseUrl;
        case 'reconcileAfterSeconds':
          return String(config.reconcileAfterSeconds);
        case 'taskDeadlineSeconds':
          return String(config.taskDeadlineSeconds);
        case 'taskRetentionDays':
          return String(config.taskRetentionDays);
        case 'reconcileMaxTasks':
          return String(config.reconcileMaxTasks);
      }
    };

    type ExtraProps = Pick<GatewayFunctionProps, 'reservedConcurrentExecutions' | 'asyncRetries'>;
    const createFunction = (functionName: string, extraProps: ExtraProps = {}) => {
      const needs = needsOf(functionName);
      const gatewayFunction = new GatewayFunction(this, `Fn-${functionName}`, {
        functionName,
        description: `luma-gateway ${config.stage}: ${needs.description}`,
        memorySize: needs.memorySize,
        timeout: needs.timeout,
        invocation: needs.invocation,
        logRetention: config.logRetentionDays,
        logRemovalPolicy,
        ...extraProps,
        environment: {
          // Table names are not secrets; every function gets all of them, access is what the grants allow.
          ...Object.fromEntries(Object.entries(TABLE_ROLES).map(([role, { env }]) => [env, this.tables[role as TableRole].tableName])),
          ...(needs.upstream
            ? {
                [ENV.upstreamBaseUrl]: config.upstreamBaseUrl ?? PLACEHOLDER_UPSTREAM_BASE_URL,
                [ENV.upstreamSecretId]: this.upstreamSecret.secretId,
                [ENV.upstreamTimeoutMs]: UPSTREAM_TIMEOUT_MS,
              }
            : {}),
          ...Object.fromEntries((needs.settings ?? []).map((setting) => [ENV[setting], settingValue(setting, functionName)])),
        },
      });
      this.grantNeeds(gatewayFunction, functionName);
      this.functions.set(functionName, gatewayFunction);
      return gatewayFunction;
    };

    const authorizer = createFunction('authorizer');

    this.api = api = new GatewayApi(this, 'Api', {
      stageName: config.stage,
      throttleRateLimit: config.throttleRateLimit,
      throttleBurstLimit: config.throttleBurstLimit,
      authorizerFunction: authorizer.function,
      logRetention: config.logRetentionDays,
      logRemovalPolicy,
      manageCloudWatchRole: config.apiGatewayCloudWatchRole,
      webAclArn: config.webAclArn,
    });

    // One function per distinct functionName; a function may serve several routes.
    for (const route of routes) {
      const routeFunction = this.functions.get(route.functionName) ?? createFunction(route.functionName);
      const timeout = needsOf(route.functionName).timeout;
      if (timeout.toSeconds() > MAX_API_FUNCTION_TIMEOUT.toSeconds()) {
        throw new Error(`${route.functionName} serves ${route.path}: its timeout must be at most ${MAX_API_FUNCTION_TIMEOUT.toSeconds()} s`);
      }
      this.api.addRoute(route, routeFunction.function);
    }

    // Reconciler: one run per tick, one at a time. A failed or stale tick is not retried: the next one does its work.
    const reconciler = createFunction('reconciler', {
      reservedConcurrentExecutions: config.reconcilerReservedConcurrency,
      asyncRetries: { retryAttempts: 0, maxEventAge: Duration.minutes(Math.max(5, 2 * config.reconcileIntervalMinutes)) },
    });
    this.reconcileSchedule = new events.Rule(this, 'ReconcileSchedule', {
      description: `luma-gateway ${config.stage}: runs the reconciler every ${config.reconcileIntervalMinutes} min`,
      schedule: events.Schedule.rate(Duration.minutes(config.reconcileIntervalMinutes)),
      targets: [
        new targets.LambdaFunction(reconciler.function, {
          retryAttempts: 0,
          // Ticks EventBridge could not hand to Lambda land beside the function's failed runs.
          deadLetterQueue: reconciler.deadLetterQueue,
        }),
      ],
    });

    // Notifier: status changes of tasks that carry a client notify_hook, from the task stream.
    const notifier = createFunction('notifier');
    this.notifierSubscription = new TaskEventsSubscription(this, 'NotifierSubscription', {
      table: this.tables.tasks.table,
      handler: notifier.function,
      filterPatterns: statusChangePatterns({ withNotifyHook: true }),
      batchSize: 10,
      retryAttempts: 3,
      maxRecordAge: Duration.hours(1),
      bisectBatchOnError: true,
      reportBatchItemFailures: true,
    });

    this.addAlarms(reconciler);

    new CfnOutput(this, 'ApiUrl', { value: this.api.api.url, description: 'Base URL of the public API (stage included)' });
    new CfnOutput(this, 'TasksTableName', { value: this.tables.tasks.tableName });
    new CfnOutput(this, 'TasksTableStreamArn', {
      value: this.tables.tasks.table.tableStreamArn ?? '',
      description: 'Task change stream (NEW_AND_OLD_IMAGES): see docs/stream-contract.md',
    });
    new CfnOutput(this, 'ClientsTableName', { value: this.tables.clients.tableName });
    new CfnOutput(this, 'DeliveriesTableName', { value: this.tables.deliveries.tableName });
    new CfnOutput(this, 'NotifierDeadLetterQueueUrl', {
      value: this.notifierSubscription.deadLetterQueue.queueUrl,
      description: 'Stream coordinates of task notifications that could not be delivered',
    });
    new CfnOutput(this, 'UpstreamSecretArn', {
      value: this.upstreamSecret.secret.secretArn,
      description: this.upstreamSecret.created
        ? 'Placeholder secret created by the stack: put the upstream API key in it'
        : 'Existing secret holding the upstream API key',
    });
  }

  /** No SNS topic: the alarms show in the console and can get actions per deployment. */
  private addAlarms(reconciler: GatewayFunction): void {
    new cloudwatch.Alarm(this, 'NotifierDeadLetterAlarm', {
      alarmDescription: 'Task notifications were given up (retries exhausted or older than 1 h): see the notifier dead-letter queue',
      metric: this.notifierSubscription.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    new cloudwatch.Alarm(this, 'ReconcilerErrorsAlarm', {
      alarmDescription: 'The reconciler failed at least twice in 5 minutes: lost callbacks are not being caught up',
      metric: reconciler.function.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
      threshold: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /** Explicit, item-level grants from lib/function-needs.ts: no wildcard action, no index/* resource. */
  private grantNeeds(gatewayFunction: GatewayFunction, functionName: string): void {
    const needs = needsOf(functionName);
    for (const access of needs.tables) {
      const table = this.tables[access.table];
      gatewayFunction.role.addToPolicy(
        new iam.PolicyStatement({
          actions: [...access.actions],
          resources: [access.index ? table.indexArn(access.index) : table.table.tableArn],
        }),
      );
    }
    if (needs.upstream) this.upstreamSecret.grantRead(gatewayFunction.role);

    Validations.of(gatewayFunction.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only the X-Ray statement (xray:PutTraceSegments, xray:PutTelemetryRecords) added by active tracing has ' +
        'Resource *: X-Ray does not support resource-level permissions.',
    });
  }
}
