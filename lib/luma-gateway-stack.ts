import { Annotations, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { AUTHORIZER_FUNCTION, backgroundFunctions, type ScheduleTrigger, type StreamTrigger } from '../functions/background';
import { frontOf, routes as allRoutes, type RouteDefinition } from '../functions/routes';
import { SETTINGS, settingsReadBy } from '../functions/settings';
import { TABLES, tableOutputName, tableRoles } from '../functions/tables';
import { AlarmTopic } from './alarm-topic';
import { GatewayApi } from './api';
import { settingsEnvironment, type GatewayConfig, type StackProvidedValues } from './config';
import { needsOf } from './function-needs';
import { FunctionUrlFront } from './function-url-front';
import { GatewayFunction, MAX_API_FUNCTION_TIMEOUT, type GatewayFunctionProps } from './gateway-function';
import { GatewayMonitoring, type MonitoredSchedule, type MonitoredStream } from './monitoring';
import { createGatewayTables, type GatewayTable, type TableRole } from './tables';
import { TaskEventsSubscription } from './task-events-subscription';
import { UpstreamSecret } from './upstream-secret';

export interface LumaGatewayStackProps extends StackProps {
  readonly config: GatewayConfig;
  /** Routes to serve. @default the route table of functions/routes.ts */
  readonly routes?: readonly RouteDefinition[];
}

/**
 * luma-gateway: the public REST API, its functions, the task, client,
 * idempotency, delivery, message and endpoint tables, the upstream key
 * secret, the scheduled reconciler and delivery worker, and the stream-fed
 * task-changes consumer; alarms to an SNS topic and a dashboard.
 *
 * A failed first create must leave nothing that blocks the retry: no
 * retained resource has a fixed name, and what is retained on delete is
 * removed by the rollback of its own create (RETAIN_ON_UPDATE_OR_DELETE),
 * except the deletion-protected tables: DynamoDB refuses to delete them,
 * rollback included, so they are plainly retained (with generated names,
 * the retry creates new ones; docs/operations.md says how to remove the
 * empty ones left behind).
 */
export class LumaGatewayStack extends Stack {
  readonly tables: Readonly<Record<TableRole, GatewayTable>>;
  readonly upstreamSecret: UpstreamSecret;
  readonly api: GatewayApi;
  /** The open routes served by their function's own URL (the upstream's callback), by `METHOD /path`. */
  readonly functionUrlFronts = new Map<string, FunctionUrlFront>();
  /** Every function of the stack, by folder name under functions/. */
  readonly functions = new Map<string, GatewayFunction>();
  /** The EventBridge rule of each scheduled background function, by function name. */
  readonly schedules = new Map<string, events.Rule>();
  /** The stream subscription of each stream-fed background function, by function name. */
  readonly subscriptions = new Map<string, TaskEventsSubscription>();
  readonly alarmTopic: AlarmTopic;
  readonly monitoring: GatewayMonitoring;

  private readonly config: GatewayConfig;
  private readonly logRemovalPolicy: RemovalPolicy;
  /** Settings whose values are this stack's own resources. */
  private readonly provided: StackProvidedValues;

  constructor(scope: Construct, id: string, props: LumaGatewayStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.config = config;
    const routes = props.routes ?? allRoutes;
    this.logRemovalPolicy = config.stage === 'prod' ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE : RemovalPolicy.DESTROY;

    this.tables = createGatewayTables(this, config.deletionProtection);

    this.upstreamSecret = new UpstreamSecret(this, 'UpstreamSecret', {
      existingSecretName: config.upstreamSecretName,
      existingSecretArn: config.upstreamSecretArn,
      removalPolicy: config.deletionProtection ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE : RemovalPolicy.DESTROY,
    });

    if (config.upstreamBaseUrl === SETTINGS.upstreamBaseUrl.default) {
      Annotations.of(this).addWarningV2(
        'luma-gateway:upstreamBaseUrlMissing',
        `context upstreamBaseUrl is not set: the functions get ${config.upstreamBaseUrl} and every upstream call will fail; ` +
          'deploy with -c upstreamBaseUrl=https://<upstream>',
      );
    }

    this.provided = {
      upstreamSecretId: () => this.upstreamSecret.secretId,
      // The callback's own front when it has one (its function URL), else the REST API, once it exists.
      callbackBaseUrl: () => {
        const callbackFront = [...this.functionUrlFronts.values()][0];
        if (callbackFront) return callbackFront.baseUrl;
        if (!this.api) throw new Error('the callback URL exists only once the API is created');
        return this.api.baseUrl;
      },
    };

    // Routes on a function URL first: the submitters' callback URL is theirs.
    for (const route of routes.filter((candidate) => frontOf(candidate) === 'function-url')) {
      const routeFunction = this.createFunction(route.functionName, { reservedConcurrentExecutions: config.callbackReservedConcurrency });
      this.functionUrlFronts.set(`${route.method} ${route.path}`, new FunctionUrlFront(this, `${pascal(route.functionName)}Url`, { route, handler: routeFunction.function }));
    }
    // A function-url route stays on the REST API too while callbackRestRoute is on (its deprecation period).
    const restRoutes = routes.filter((route) => frontOf(route) === 'rest-api' || config.callbackRestRoute);

    const authorizer = this.createFunction(AUTHORIZER_FUNCTION);

    this.api = new GatewayApi(this, 'Api', {
      stageName: config.stage,
      throttleRateLimit: config.throttleRateLimit,
      throttleBurstLimit: config.throttleBurstLimit,
      // Open routes (the upstream's callback) get their own bucket: a flood of forged callbacks
      // is held there, at a rate that also caps the Lambda concurrency it can take from clients.
      methodThrottles: restRoutes
        .filter((route) => route.auth === 'none')
        .map((route) => ({
          method: route.method,
          path: route.path,
          rateLimit: config.callbackThrottleRateLimit,
          burstLimit: config.callbackThrottleBurstLimit,
        })),
      authorizerFunction: authorizer.function,
      authorizerCacheTtl: Duration.seconds(config.authorizerCacheTtlSeconds),
      logRetention: config.logRetentionDays as number,
      logRemovalPolicy: this.logRemovalPolicy,
      webAclArn: config.webAclArn,
    });

    // One function per distinct functionName; a function may serve several routes.
    for (const route of restRoutes) {
      const routeFunction = this.functions.get(route.functionName) ?? this.createFunction(route.functionName);
      const timeout = needsOf(route.functionName).timeout;
      if (timeout.toSeconds() > MAX_API_FUNCTION_TIMEOUT.toSeconds()) {
        throw new Error(`${route.functionName} serves ${route.path}: its timeout must be at most ${MAX_API_FUNCTION_TIMEOUT.toSeconds()} s`);
      }
      this.api.addRoute(route, routeFunction.function);
    }

    // Background functions (functions/background.ts): a schedule or a stream subscription each.
    for (const { functionName, trigger } of backgroundFunctions) {
      if (trigger.kind === 'schedule') this.addSchedule(functionName, trigger);
      else this.addStreamSubscription(functionName, trigger);
    }

    this.alarmTopic = new AlarmTopic(this, 'AlarmTopic', {
      stage: config.stage,
      emails: config.alarmEmails,
      existingTopicArn: config.alarmTopicArn,
    });
    if (!config.alarmEmails?.length && !config.alarmTopicArn) {
      Annotations.of(this).addWarningV2(
        'luma-gateway:noAlarmSubscriber',
        'neither context alarmEmails nor alarmTopicArn is set: the alarms go to the stack\'s topic, which nobody receives; ' +
          'deploy with -c alarmEmails=oncall@example.com (or -c alarmTopicArn=arn:aws:sns:...)',
      );
    }
    this.monitoring = new GatewayMonitoring(this, 'Monitoring', {
      stage: config.stage,
      api: this.api,
      functions: this.functions,
      schedules: this.monitoredSchedules(),
      streams: this.monitoredStreams(),
      tables: this.tables,
      actions: this.alarmTopic.actions,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.api.url, description: 'Base URL of the public API (stage included)' });
    const callbackFront = [...this.functionUrlFronts.values()][0];
    if (callbackFront) {
      new CfnOutput(this, 'CallbackBaseUrl', {
        value: callbackFront.baseUrl,
        description: "Base URL of the upstream's callbacks (the callback function's URL, auth NONE: the per-task token is the credential)",
      });
    }
    // Every table's name (ClientsTableName, TasksTableName...): the client CLI finds them by the stack's name.
    for (const role of tableRoles) new CfnOutput(this, tableOutputName(role), { value: this.tables[role].tableName });
    new CfnOutput(this, 'TasksTableStreamArn', {
      value: this.tables.tasks.table.tableStreamArn ?? '',
      description: 'Task change stream (NEW_AND_OLD_IMAGES): see docs/stream-contract.md',
    });
    new CfnOutput(this, 'TaskChangesDeadLetterQueueUrl', {
      value: this.taskChangesQueue().queueUrl,
      description: 'Stream coordinates of status changes whose notification message could not be written',
    });
    new CfnOutput(this, 'UpstreamSecretArn', {
      value: this.upstreamSecret.secret.secretArn,
      description: this.upstreamSecret.created
        ? 'Placeholder secret created by the stack: put the upstream API key in it'
        : 'Existing secret holding the upstream API key',
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: this.alarmTopic.topic.topicArn,
      description: 'Every alarm of the stack notifies this topic (subscribers: context alarmEmails)',
    });
    new CfnOutput(this, 'DashboardName', {
      value: this.monitoring.dashboard.dashboardName,
      description: 'The CloudWatch dashboard of the stage (CloudWatch console, Dashboards)',
    });
  }

  private monitoredSchedules(): MonitoredSchedule[] {
    const config = this.config as unknown as Record<string, unknown>;
    return backgroundFunctions.flatMap(({ functionName, trigger }) =>
      trigger.kind === 'schedule' ? [{ functionName, everyMinutes: config[trigger.everyMinutes] as number }] : [],
    );
  }

  private monitoredStreams(): MonitoredStream[] {
    return backgroundFunctions.flatMap(({ functionName, trigger }) =>
      trigger.kind === 'stream'
        ? [{ functionName, failureQueue: this.subscriptions.get(functionName)!.deadLetterQueue, maxRecordAge: Duration.seconds(trigger.maxRecordAgeSeconds) }]
        : [],
    );
  }

  private taskChangesQueue() {
    return this.subscriptions.get('task-changes')!.deadLetterQueue;
  }

  /** A function of functions/, with its needs (lib/function-needs.ts), its settings and every table's name. */
  private createFunction(functionName: string, extraProps: Pick<GatewayFunctionProps, 'reservedConcurrentExecutions' | 'asyncRetries'> = {}): GatewayFunction {
    const needs = needsOf(functionName);
    const gatewayFunction = new GatewayFunction(this, `Fn-${functionName}`, {
      functionName,
      description: `luma-gateway ${this.config.stage}: ${needs.description}`,
      memorySize: needs.memorySize,
      timeout: needs.timeout,
      invocation: needs.invocation,
      logRetention: this.config.logRetentionDays as number,
      logRemovalPolicy: this.logRemovalPolicy,
      ...extraProps,
      environment: {
        // Table names are not secrets; every function gets all of them, access is what the grants allow.
        ...Object.fromEntries(tableRoles.map((role) => [TABLES[role].env, this.tables[role].tableName])),
        ...settingsEnvironment(functionName, this.config, this.provided),
      },
    });
    this.grantNeeds(gatewayFunction, functionName);
    this.functions.set(functionName, gatewayFunction);
    return gatewayFunction;
  }

  /**
   * Runs a function every N minutes, one run at a time when its trigger says
   * so. A failed or stale run is not retried: the next one does its work.
   */
  private addSchedule(functionName: string, trigger: ScheduleTrigger): void {
    const config = this.config as unknown as Record<string, unknown>;
    const minutes = config[trigger.everyMinutes] as number;
    const scheduled = this.createFunction(functionName, {
      reservedConcurrentExecutions: trigger.oneAtATime === undefined ? undefined : (config[trigger.oneAtATime] as number | undefined),
      asyncRetries: { retryAttempts: 0, maxEventAge: Duration.minutes(Math.max(5, 2 * minutes)) },
    });
    this.schedules.set(
      functionName,
      new events.Rule(this, `${pascal(functionName)}Schedule`, {
        description: `luma-gateway ${this.config.stage}: runs the ${functionName} every ${minutes} min`,
        schedule: events.Schedule.rate(Duration.minutes(minutes)),
        targets: [
          new targets.LambdaFunction(scheduled.function, {
            retryAttempts: 0,
            // Ticks EventBridge could not hand to Lambda land beside the function's failed runs.
            deadLetterQueue: scheduled.deadLetterQueue,
          }),
        ],
      }),
    );
  }

  /** Feeds a function with a table's stream records, through the public TaskEventsSubscription construct. */
  private addStreamSubscription(functionName: string, trigger: StreamTrigger): void {
    const subscriber = this.createFunction(functionName);
    this.subscriptions.set(
      functionName,
      new TaskEventsSubscription(this, `${pascal(functionName)}Subscription`, {
        table: this.tables[trigger.table].table,
        handler: subscriber.function,
        filterPatterns: trigger.filterPatterns,
        batchSize: trigger.batchSize,
        retryAttempts: trigger.retryAttempts,
        maxRecordAge: Duration.seconds(trigger.maxRecordAgeSeconds),
        bisectBatchOnError: trigger.bisectBatchOnError,
        reportBatchItemFailures: trigger.reportBatchItemFailures,
      }),
    );
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
    if (settingsReadBy(functionName).includes('upstreamSecretId')) this.upstreamSecret.grantRead(gatewayFunction.role);

    Validations.of(gatewayFunction.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only the X-Ray statement (xray:PutTraceSegments, xray:PutTelemetryRecords) added by active tracing has ' +
        'Resource *: X-Ray does not support resource-level permissions.',
    });
  }
}

/** reconciler -> Reconciler, list-deliveries -> ListDeliveries: logical ids of per-function resources. */
function pascal(functionName: string): string {
  return functionName.replace(/(^|-)([a-z0-9])/g, (_, __, letter: string) => letter.toUpperCase());
}
