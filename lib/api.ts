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
  /** Steady-state requests per second for the whole stage. */
  readonly throttleRateLimit: number;
  /** Burst capacity for the whole stage. */
  readonly throttleBurstLimit: number;
  /** The Lambda TOKEN authorizer checking `Authorization: Bearer <key>`. */
  readonly authorizerFunction: lambda.IFunction;
  /** How long API Gateway caches the authorizer's verdict on a key (0: not cached). */
  readonly authorizerCacheTtl: Duration;
  readonly logRetention: logs.RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
  /**
   * Create the account-level role API Gateway needs to write logs
   * (AWS::ApiGateway::Account). Turn off when the account already has one.
   */
  readonly manageCloudWatchRole: boolean;
  /** Associate this WAFv2 web ACL with the stage. @default none */
  readonly webAclArn?: string;
}

/**
 * Access log fields. Only values that can never carry a secret: the TEMPLATE
 * resource path (/luma/callbacks/{token}), never $context.path, which holds
 * the callback token itself; no header (Authorization carries client keys);
 * the principal the authorizer returned (the client id, never the key).
 */
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
  xrayTraceId: '$context.xrayTraceId',
};

/** A gateway response body in the API envelope, as a VTL template. */
export function gatewayResponseTemplate(definition: GatewayResponseDefinition): string {
  if (/[$#"\\]/.test(definition.message)) {
    throw new Error(`gateway response ${definition.type}: message must not contain $, #, " or \\ (VTL template)`);
  }
  return `{"code":${definition.code},"message":"${definition.message}","request_id":"$context.requestId","data":null}`;
}

/**
 * The public REST API: one regional stage with throttling, JSON access logs
 * that never hold keys or callback tokens, X-Ray, error-only execution logs
 * without data trace, the Bearer-key authorizer, and gateway responses in the
 * API's envelope. Routes are added from functions/routes.ts by addRoute().
 */
export class GatewayApi extends Construct {
  readonly api: apigateway.RestApi;
  readonly authorizer: apigateway.TokenAuthorizer;
  readonly accessLogGroup: logs.LogGroup;
  readonly stageName: string;

  constructor(scope: Construct, id: string, props: GatewayApiProps) {
    super(scope, id);
    this.stageName = props.stageName;

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });

    this.api = new apigateway.RestApi(this, 'Api', {
      restApiName: `luma-gateway-${props.stageName}`,
      description: 'luma-gateway: extend and create Luma Dream Machine videos through an upstream video API',
      endpointTypes: [apigateway.EndpointType.REGIONAL],
      cloudWatchRole: props.manageCloudWatchRole,
      // The role is account-wide (every API of the region logs through it): never delete it with this stack.
      cloudWatchRoleRemovalPolicy: props.manageCloudWatchRole ? RemovalPolicy.RETAIN : undefined,
      deployOptions: {
        stageName: props.stageName,
        throttlingRateLimit: props.throttleRateLimit,
        throttlingBurstLimit: props.throttleBurstLimit,
        tracingEnabled: true,
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

    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG2',
      reason:
        'No API Gateway request validators on purpose: their errors cannot say which field is wrong; each Lambda ' +
        'validates its input and answers 400/415 in the API envelope with an actionable message.',
    });

    if (props.manageCloudWatchRole) {
      const cloudWatchRole = this.api.node.findChild('CloudWatchRole');
      Validations.of(cloudWatchRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          'AmazonAPIGatewayPushToCloudWatchLogs is the AWS-documented policy for the account-level role API Gateway ' +
          'uses to write access and execution logs; only apigateway.amazonaws.com can assume the role.',
      });
    }
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
