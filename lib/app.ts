import { Tags, type App, type Environment } from 'aws-cdk-lib';
import type { RouteDefinition } from '../functions/routes';
import { ApiGatewayAccountStack } from './api-gateway-account';
import { configFromContext, type GatewayConfig } from './config';
import { LumaGatewayStack } from './luma-gateway-stack';

export interface GatewayApp {
  readonly config: GatewayConfig;
  readonly gateway: LumaGatewayStack;
  /** The account-level API Gateway stack, unless context apiGatewayCloudWatchRole is false. */
  readonly account?: ApiGatewayAccountStack;
}

/**
 * The stacks of one `cdk deploy`: LumaGateway-<stage> and, unless the
 * account's API Gateway role is managed elsewhere, the LumaGatewayAccount
 * stack it depends on (deployed first by `cdk deploy LumaGateway-<stage>`).
 */
export function addGatewayStacks(app: App, options: { env?: Environment; routes?: readonly RouteDefinition[] } = {}): GatewayApp {
  const config = configFromContext(app.node);
  const account = config.apiGatewayCloudWatchRole ? new ApiGatewayAccountStack(app, undefined, { env: options.env }) : undefined;
  const gateway = new LumaGatewayStack(app, `LumaGateway-${config.stage}`, {
    config,
    routes: options.routes,
    description: `luma-gateway (${config.stage}): extends and creates Luma Dream Machine videos through an upstream video API`,
    env: options.env,
  });
  // The stage's access and execution logs need the account's role to exist first.
  if (account) gateway.addStackDependency(account, "the API stage logs through the account's API Gateway CloudWatch role");

  // Not on dashboards: CloudFormation's resource schema of AWS::CloudWatch::Dashboard has no Tags
  // (../shared/tools/cfn-schema), although aws-cdk-lib would render them.
  const tagged = { excludeResourceTypes: ['AWS::CloudWatch::Dashboard'] };
  for (const stack of [gateway, account]) if (stack) Tags.of(stack).add('project', 'luma-gateway', tagged);
  Tags.of(gateway).add('stage', config.stage, tagged);
  return { config, gateway, account };
}
