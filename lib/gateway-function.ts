import * as path from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { API_GATEWAY_INTEGRATION_TIMEOUT_MS } from '../functions/time-budget';
import { GATEWAY_SERVICE_NAME } from './gateway-metrics';

/** Repository root: entries and the lock file are resolved from here, whatever the cwd. */
export const PROJECT_ROOT = path.resolve(__dirname, '..');

/**
 * How every function is bundled (esbuild, run by NodejsFunction). Exported so
 * the benchmarks and the bundle-size budgets (test/bench, test/budgets) build
 * exactly what the stack deploys.
 */
export const FUNCTION_BUNDLING: BundlingOptions = {
  format: OutputFormat.ESM,
  target: 'node24',
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  // CommonJS dependencies bundled into ESM still call require().
  banner: "import { createRequire } from 'module';const require = createRequire(import.meta.url);",
  // Bundle the AWS SDK: the deployed version is the one tested, not the runtime's.
  externalModules: [],
};

/** Functions behind API Gateway must finish before it gives up on the integration (29 s). */
export const MAX_API_FUNCTION_TIMEOUT = Duration.millis(API_GATEWAY_INTEGRATION_TIMEOUT_MS - 1000);

export interface GatewayFunctionProps {
  /** Folder under functions/: the entry is functions/<functionName>/handler.ts, export `handler`. */
  readonly functionName: string;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default 10 seconds */
  readonly timeout?: Duration;
  /** Extra environment variables: table names and settings (functions/tables.ts, functions/settings.ts). */
  readonly environment?: Readonly<Record<string, string>>;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Removal policy of the function's log group. @default RemovalPolicy.DESTROY */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** @default 'INFO' */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  readonly description?: string;
  /**
   * How the function is invoked. `synchronous` (API Gateway, authorizer,
   * stream polling): the caller sees every failure, a dead-letter queue
   * would never receive anything. `asynchronous` (schedules, events): failed
   * events go to a dead-letter queue.
   */
  readonly invocation: 'synchronous' | 'asynchronous';
  /** Reserved concurrency (1 = one invocation at a time). @default none */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Asynchronous functions only: how often Lambda retries a failed event, and
   * how long an event may wait (e.g. while throttled) before it is given up
   * and sent to the dead-letter queue. @default Lambda's: 2 retries, 6 hours
   */
  readonly asyncRetries?: { readonly retryAttempts: number; readonly maxEventAge: Duration };
}

/**
 * Every Lambda of the gateway, with one set of defaults: Node.js 24 on arm64,
 * an ESM bundle built locally by esbuild (AWS SDK included so its version is
 * the one in package-lock.json), source maps, X-Ray, its own log group with a
 * retention, and an execution role that can write to that log group only
 * (no AWSLambdaBasicExecutionRole, whose logs:* resources are account-wide).
 */
export class GatewayFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: logs.LogGroup;
  readonly role: iam.Role;
  /** Failed asynchronous events; only for `asynchronous` functions. */
  readonly deadLetterQueue?: sqs.Queue;

  constructor(scope: Construct, id: string, props: GatewayFunctionProps) {
    super(scope, id);
    const timeout = props.timeout ?? Duration.seconds(10);

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the luma-gateway ${props.functionName} function`,
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    if (props.invocation === 'asynchronous') {
      this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      const reason = 'This queue is itself the dead-letter queue of the function: nothing redrives from it.';
      Validations.of(this.deadLetterQueue).acknowledge({ id: 'AwsSolutions-SQS3', reason }, { id: 'Serverless-SQSRedrivePolicy', reason });
    }
    if (props.asyncRetries && props.invocation !== 'asynchronous') {
      throw new Error(`${props.functionName}: asyncRetries applies to asynchronous functions only`);
    }

    this.function = new NodejsFunction(this, 'Function', {
      entry: path.join(PROJECT_ROOT, 'functions', props.functionName, 'handler.ts'),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout,
      tracing: Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      deadLetterQueue: this.deadLetterQueue,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: {
        // The logs' and traces' service, and the metrics' `service` dimension the alarms read.
        POWERTOOLS_SERVICE_NAME: GATEWAY_SERVICE_NAME,
        LOG_LEVEL: props.logLevel ?? 'INFO',
        // Stack traces point at the TypeScript sources.
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: FUNCTION_BUNDLING,
    });

    if (props.asyncRetries) {
      this.function.configureAsyncInvoke(props.asyncRetries);
      const invokeConfig = this.function.node.findChild('EventInvokeConfig');
      Validations.of(invokeConfig).acknowledge({
        id: 'Serverless-LambdaAsyncFailureDestination',
        reason:
          'Failed and expired events already go to the function\'s dead-letter queue (DeadLetterConfig, which ' +
          'Serverless-LambdaDLQ asks for); an on-failure destination as well would record every failure twice.',
      });
    }

    if (props.invocation === 'synchronous') {
      Validations.of(this.function).acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason:
          'Invoked synchronously only (API Gateway integration, authorizer or stream polling): the caller receives ' +
          'every error, and a dead-letter queue only ever receives failed asynchronous invocations.',
      });
    }
  }
}
