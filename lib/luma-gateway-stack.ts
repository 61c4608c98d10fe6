import { Annotations, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { AUTHORIZER_FUNCTION, backgroundFunctions, type ScheduleTrigger, type StreamTrigger } from '../functions/background';
import { routes as allRoutes, type RouteDefinition } from '../functions/routes';
import { SETTINGS, settingsReadBy } from '../functions/settings';
import { TABLES, tableRoles } from '../functions/tables';
import { GatewayApi } from './api';
import { settingsEnvironment, type GatewayConfig, type StackProvidedValues } from './config';
import { needsOf } from './function-needs';
import { GatewayFunction, MAX_API_FUNCTION_TIMEOUT, type GatewayFunctionProps } from './gateway-function';
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
 * idempotency and delivery tables, the upstream key secret, the scheduled
 * reconciler and the stream-fed notifier.
 */
export class LumaGatewayStack extends Stack {
  readonly tables: Readonly<Record<TableRole, GatewayTable>>;
  readonly upstreamSecret: UpstreamSecret;
  readonly api: GatewayApi;
  /** Every function of the stack, by folder name under functions/. */
  readonly functions = new Map<string, GatewayFunction>();
  /** The EventBridge rule of each scheduled background function, by function name. */
  readonly schedules = new Map<string, events.Rule>();
  /** The stream subscription of each stream-fed background function, by function name. */
  readonly subscriptions = new Map<string, TaskEventsSubscription>();

  private readonly config: GatewayConfig;
  private readonly logRemovalPolicy: RemovalPolicy;
  /** Settings whose values are this stack's own resources. */
  private readonly provided: StackProvidedValues;

  constructor(scope: Construct, id: string, props: LumaGatewayStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.config = config;
    const routes = props.routes ?? allRoutes;
    this.logRemovalPolicy = config.stage === 'prod' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.tables = createGatewayTables(this, config.deletionProtection);

    this.upstreamSecret = new UpstreamSecret(this, 'UpstreamSecret', {
      stage: config.stage,
      existingSecretName: config.upstreamSecretName,
      existingSecretArn: config.upstreamSecretArn,
      removalPolicy: config.deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
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
      // The callback URL exists once the API does.
      callbackBaseUrl: () => {
        if (!this.api) throw new Error('the callback URL exists only once the API is created');
        return this.api.baseUrl;
      },
    };

    const authorizer = this.createFunction(AUTHORIZER_FUNCTION);

    this.api = new GatewayApi(this, 'Api', {
      stageName: config.stage,
      throttleRateLimit: config.throttleRateLimit,
      throttleBurstLimit: config.throttleBurstLimit,
      authorizerFunction: authorizer.function,
      authorizerCacheTtl: Duration.seconds(config.authorizerCacheTtlSeconds),
      logRetention: config.logRetentionDays as number,
      logRemovalPolicy: this.logRemovalPolicy,
      manageCloudWatchRole: config.apiGatewayCloudWatchRole,
      webAclArn: config.webAclArn,
    });

    // One function per distinct functionName; a function may serve several routes.
    for (const route of routes) {
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
    const reconciler = this.functions.get('reconciler')!;

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
      value: this.notifierQueue().queueUrl,
      description: 'Stream coordinates of task notifications that could not be delivered',
    });
    new CfnOutput(this, 'UpstreamSecretArn', {
      value: this.upstreamSecret.secret.secretArn,
      description: this.upstreamSecret.created
        ? 'Placeholder secret created by the stack: put the upstream API key in it'
        : 'Existing secret holding the upstream API key',
    });
  }

  private notifierQueue() {
    return this.subscriptions.get('notifier')!.deadLetterQueue;
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

  /** No SNS topic: the alarms show in the console and can get actions per deployment. */
  private addAlarms(reconciler: GatewayFunction): void {
    new cloudwatch.Alarm(this, 'NotifierDeadLetterAlarm', {
      alarmDescription: 'Task notifications were given up (retries exhausted or older than 1 h): see the notifier dead-letter queue',
      metric: this.notifierQueue().metricApproximateNumberOfMessagesVisible({
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
