import { Duration, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { gatewayResponses, type GatewayResponseDefinition } from '../functions/http/gateway-responses';
import type { RouteDefinition } from '../functions/routes';

export interface GatewayApiProps {
  readonly stageName: string;
  /**
   * Default throttle of the stage, requests per second. API Gateway applies a
   * stage's limits per method: each method gets its own bucket of this size.
   */
  readonly throttleRateLimit: number;
  /** Default burst of each method of the stage. */
  readonly throttleBurstLimit: number;
  /**
   * Methods with their own throttle instead of the stage's (the open
   * callback route), each with its own token bucket.
   */
  readonly methodThrottles?: readonly MethodThrottle[];
  /** The Lambda TOKEN authorizer checking `Authorization: Bearer <key>`. */
  readonly authorizerFunction: lambda.IFunction;
  /** How long API Gateway caches the authorizer's verdict on a key (0: not cached). */
  readonly authorizerCacheTtl: Duration;
  readonly logRetention: logs.RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
  /** Associate this WAFv2 web ACL with the stage. @default none */
  readonly webAclArn?: string;
}

/**
 * Access log fields. Only values that can never carry a secret: the TEMPLATE
 * resource path (/luma/callbacks/{token}), never $context.path, which holds
 * the callback token itself; no header (Authorization carries client keys);
 * the principal the authorizer returned (the client id, never the key).
 */
/** One method's own throttle: `path` as in functions/routes.ts. */
export interface MethodThrottle {
  readonly method: string;
  readonly path: string;
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export const ACCESS_LOG_FIELDS: Readonly<Record<string, string>> = {
  requestId: '$context.requestId',
  extendedRequestId: '$context.extendedRequestId',
  requestTime: '$context.requestTime',
  requestTimeEpoch: '$context.requestTimeEpoch',
  ip: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  httpMethod: '$context.httpMethod',
  resourcePath: '$context.resourcePath',
  protocol: '$context.protocol',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationStatus: '$context.integration.status',
  principalId: '$context.authorizer.principalId',
  errorMessage: '$context.error.message',
  errorResponseType: '$context.error.responseType',
};

/** A gateway response body in the API envelope, as a VTL template. */
export function gatewayResponseTemplate(definition: GatewayResponseDefinition): string {
  if (/[$#"\\]/.test(definition.message)) {
    throw new Error(`gateway response ${definition.type}: message must not contain $, #, " or \\ (VTL template)`);
  }
  return `{"code":${definition.code},"message":"${definition.message}","request_id":"$context.requestId","data":null}`;
}

/**
 * The public REST API: one regional stage with throttling (and the methods
 * that have their own), JSON access logs that never hold keys or callback
 * tokens, error-only execution logs without data trace, the Bearer-key
 * authorizer, and gateway responses in the API's envelope. Routes are added
 * from functions/routes.ts by addRoute().
 *
 * No X-Ray tracing on the stage: API Gateway's trace segments record the
 * request URL, and the callback URL's path is the task's token. The
 * functions trace themselves (active tracing), without the URL.
 *
 * Access and execution logs need the account's API Gateway CloudWatch role
 * (AWS::ApiGateway::Account), which this construct never creates: it is one
 * per account and region (lib/api-gateway-account.ts).
 */
export class GatewayApi extends Construct {
  readonly api: apigateway.RestApi;
  readonly authorizer: apigateway.TokenAuthorizer;
  readonly accessLogGroup: logs.LogGroup;
  readonly stageName: string;
  /** `METHOD /path` of every route added. */
  private readonly routeKeys = new Set<string>();

  constructor(scope: Construct, id: string, props: GatewayApiProps) {
    super(scope, id);
    this.stageName = props.stageName;
    // A method setting for a method that does not exist fails the deployment: refuse it at synth.
    this.node.addValidation({
      validate: () =>
        (props.methodThrottles ?? [])
          .filter((throttle) => !this.routeKeys.has(`${throttle.method} ${throttle.path}`))
          .map((throttle) => `throttle for ${throttle.method} ${throttle.path}, which is not a route of this API`),
    });

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });

    this.api = new apigateway.RestApi(this, 'Api', {
      restApiName: `luma-gateway-${props.stageName}`,
      description: 'luma-gateway: extend and create Luma Dream Machine videos through an upstream video API',
      endpointTypes: [apigateway.EndpointType.REGIONAL],
      // Account-wide: one stack per account manages it (lib/api-gateway-account.ts).
      cloudWatchRole: false,
      deployOptions: {
        stageName: props.stageName,
        throttlingRateLimit: props.throttleRateLimit,
        throttlingBurstLimit: props.throttleBurstLimit,
        // Trace segments would record the URL, and with it the callback token.
        tracingEnabled: false,
        methodOptions: Object.fromEntries(
          (props.methodThrottles ?? []).map((throttle) => [
            `${throttle.path}/${throttle.method}`,
            {
              throttlingRateLimit: throttle.rateLimit,
              throttlingBurstLimit: throttle.burstLimit,
              // Stated, not left to what an overridden method inherits from the stage.
              loggingLevel: apigateway.MethodLoggingLevel.ERROR,
              dataTraceEnabled: false,
              metricsEnabled: false,
            },
          ]),
        ),
        accessLogDestination: new apigateway.LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: apigateway.AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
        // Execution logs: errors only, and never the data trace, which would
        // write request bodies, headers (client keys) and paths (callback tokens).
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: false,
      },
    });

    // The stack exports the URL once, as ApiUrl.
    this.api.node.tryRemoveChild('Endpoint');

    this.authorizer = new apigateway.TokenAuthorizer(this, 'BearerKeyAuthorizer', {
      handler: props.authorizerFunction,
      identitySource: apigateway.IdentitySource.header('Authorization'),
      // A key's verdict is cached per Authorization value: one DynamoDB read per key per TTL.
      resultsCacheTtl: props.authorizerCacheTtl,
    });

    for (const definition of gatewayResponses) {
      this.api.addGatewayResponse(`Response${definition.type}`, {
        type: apigateway.ResponseType.of(definition.type),
        statusCode: definition.statusCode === undefined ? undefined : String(definition.statusCode),
        responseHeaders: Object.fromEntries(
          Object.entries(definition.headers ?? {}).map(([name, value]) => [name, `'${value}'`]),
        ),
        templates: { 'application/json': gatewayResponseTemplate(definition) },
      });
    }

    if (props.webAclArn) {
      new wafv2.CfnWebACLAssociation(this, 'WebAcl', {
        resourceArn: this.api.deploymentStage.stageArn,
        webAclArn: props.webAclArn,
      });
    } else {
      Validations.of(this.api.deploymentStage).acknowledge({
        id: 'AwsSolutions-APIG3',
        reason:
          'No WAF web ACL by default (cost per ACL and rule): every route but the callback needs a client key, the stage is ' +
          'throttled, and a web ACL can be attached with the webAclArn context key.',
      });
    }

    Validations.of(this.api.deploymentStage).acknowledge({
      id: 'Serverless-APIGWXrayEnabled',
      reason:
        "Stage tracing is off on purpose: API Gateway's trace segments record the request URL, and the callback " +
        "route's path is the task's token (its credential). Every function traces itself (Lambda active tracing), without the URL.",
    });

    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG2',
      reason:
        'No API Gateway request validators on purpose: their errors cannot say which field is wrong; each Lambda ' +
        'validates its input and answers 400/415 in the API envelope with an actionable message.',
    });
  }

  /**
   * Public base URL of the stage, built from the API id only: referencing the
   * stage resource from a function would create a dependency cycle
   * (function -> stage -> deployment -> method -> function).
   */
  get baseUrl(): string {
    const stack = Stack.of(this);
    return Fn.join('', ['https://', this.api.restApiId, '.execute-api.', stack.region, '.', stack.urlSuffix, '/', this.stageName]);
  }

  /** Adds one route of functions/routes.ts, served by `handler` through a Lambda proxy integration. */
  addRoute(route: RouteDefinition, handler: lambda.IFunction): apigateway.Method {
    this.routeKeys.add(`${route.method} ${route.path}`);
    const resource = this.api.root.resourceForPath(route.path);
    // No test-invoke permission: only the deployed stage may call the function.
    const integration = new apigateway.LambdaIntegration(handler, { allowTestInvoke: false });
    if (route.auth === 'client') {
      const method = resource.addMethod(route.method, integration, {
        authorizer: this.authorizer,
        authorizationType: apigateway.AuthorizationType.CUSTOM,
      });
      Validations.of(method).acknowledge({
        id: 'AwsSolutions-COG4',
        reason:
          'Clients are applications holding API keys (Authorization: Bearer <key>), verified by the Lambda TOKEN ' +
          'authorizer against hashed keys in the clients table; there are no end users for a Cognito user pool.',
      });
      return method;
    }
    const method = resource.addMethod(route.method, integration, {
      authorizationType: apigateway.AuthorizationType.NONE,
    });
    const reason =
      `${route.method} ${route.path} is open by design (auth 'none' in functions/routes.ts): its handler authenticates ` +
      'the caller itself, e.g. the callback compares the per-task token in the path with its stored hash.';
    Validations.of(method).acknowledge({ id: 'AwsSolutions-APIG4', reason });
    Validations.of(method).acknowledge({ id: 'AwsSolutions-COG4', reason });
    return method;
  }
}
