import { Annotations, CfnOutput, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { ENV } from '../functions/domain/config';
import { clientsTable, idempotencyTable, tasksTable } from '../functions/domain/tables';
import { routes as allRoutes, type RouteDefinition } from '../functions/routes';
import { GatewayApi } from './api';
import type { GatewayConfig } from './config';
import { needsOf, type TableRole } from './function-needs';
import { GatewayFunction, MAX_API_FUNCTION_TIMEOUT } from './gateway-function';
import { GatewayTable } from './tables';
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

/**
 * luma-gateway: the public REST API, its functions, the task, client and
 * idempotency tables, and the upstream key secret.
 */
export class LumaGatewayStack extends Stack {
  readonly tables: Readonly<Record<TableRole, GatewayTable>>;
  readonly upstreamSecret: UpstreamSecret;
  readonly api: GatewayApi;
  /** Every function of the stack, by folder name under functions/. */
  readonly functions = new Map<string, GatewayFunction>();

  constructor(scope: Construct, id: string, props: LumaGatewayStackProps) {
    super(scope, id, props);
    const { config } = props;
    const routes = props.routes ?? allRoutes;
    const logRemovalPolicy = config.stage === 'prod' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.tables = {
      tasks: new GatewayTable(this, tasksTable.id, { definition: tasksTable, deletionProtection: config.deletionProtection }),
      clients: new GatewayTable(this, clientsTable.id, { definition: clientsTable, deletionProtection: config.deletionProtection }),
      idempotency: new GatewayTable(this, idempotencyTable.id, {
        definition: idempotencyTable,
        deletionProtection: config.deletionProtection,
      }),
    };

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

    const createFunction = (functionName: string, extraEnvironment: () => Record<string, string>) => {
      const needs = needsOf(functionName);
      const gatewayFunction = new GatewayFunction(this, `Fn-${functionName}`, {
        functionName,
        description: `luma-gateway ${config.stage}: ${needs.description}`,
        memorySize: needs.memorySize,
        timeout: needs.timeout,
        invocation: needs.invocation,
        logRetention: config.logRetentionDays,
        logRemovalPolicy,
        environment: {
          // Table names are not secrets; every function gets all three, access is what the grants allow.
          [ENV.tasksTable]: this.tables.tasks.tableName,
          [ENV.clientsTable]: this.tables.clients.tableName,
          [ENV.idempotencyTable]: this.tables.idempotency.tableName,
          ...(needs.upstream
            ? {
                [ENV.upstreamBaseUrl]: config.upstreamBaseUrl ?? PLACEHOLDER_UPSTREAM_BASE_URL,
                [ENV.upstreamSecretId]: this.upstreamSecret.secretId,
                [ENV.upstreamTimeoutMs]: UPSTREAM_TIMEOUT_MS,
                ...extraEnvironment(),
              }
            : {}),
        },
      });
      this.grantNeeds(gatewayFunction, functionName);
      this.functions.set(functionName, gatewayFunction);
      return gatewayFunction;
    };

    const authorizer = createFunction('authorizer', () => ({}));

    this.api = new GatewayApi(this, 'Api', {
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
      const routeFunction =
        this.functions.get(route.functionName) ??
        createFunction(route.functionName, () => ({ [ENV.callbackBaseUrl]: config.callbackBaseUrl ?? this.api.baseUrl }));
      const timeout = needsOf(route.functionName).timeout;
      if (timeout.toSeconds() > MAX_API_FUNCTION_TIMEOUT.toSeconds()) {
        throw new Error(`${route.functionName} serves ${route.path}: its timeout must be at most ${MAX_API_FUNCTION_TIMEOUT.toSeconds()} s`);
      }
      this.api.addRoute(route, routeFunction.function);
    }

    new CfnOutput(this, 'ApiUrl', { value: this.api.api.url, description: 'Base URL of the public API (stage included)' });
    new CfnOutput(this, 'TasksTableName', { value: this.tables.tasks.tableName });
    new CfnOutput(this, 'TasksTableStreamArn', {
      value: this.tables.tasks.table.tableStreamArn ?? '',
      description: 'Task change stream (NEW_AND_OLD_IMAGES): see docs/stream-contract.md',
    });
    new CfnOutput(this, 'ClientsTableName', { value: this.tables.clients.tableName });
    new CfnOutput(this, 'UpstreamSecretArn', {
      value: this.upstreamSecret.secret.secretArn,
      description: this.upstreamSecret.created
        ? 'Placeholder secret created by the stack: put the upstream API key in it'
        : 'Existing secret holding the upstream API key',
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
