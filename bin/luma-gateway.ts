/**
 * The CDK app (cdk.json runs it with tsx). Settings come from context:
 *   stage, deletionProtection, upstreamBaseUrl, upstreamSecretName | upstreamSecretArn,
 *   callbackBaseUrl, throttleRateLimit, throttleBurstLimit, logRetentionDays,
 *   apiGatewayCloudWatchRole, webAclArn,
 *   reconcileIntervalMinutes (1), reconcileAfterSeconds (300), taskDeadlineSeconds (7200),
 *   reconcileMaxTasks (100), taskRetentionDays (90), reconcilerReservedConcurrency (1, or none)
 * e.g. npx cdk deploy -c stage=prod -c upstreamBaseUrl=https://api.example.com
 */
import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { configFromContext } from '../lib/config';
import { LumaGatewayStack } from '../lib/luma-gateway-stack';

const app = new App();
const config = configFromContext(app.node);

const stack = new LumaGatewayStack(app, `LumaGateway-${config.stage}`, {
  config,
  description: `luma-gateway (${config.stage}): extends and creates Luma Dream Machine videos through an upstream video API`,
  // Environment-agnostic unless the CLI knows the account and region.
  env:
    process.env.CDK_DEFAULT_ACCOUNT && process.env.CDK_DEFAULT_REGION
      ? { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION }
      : undefined,
});
Tags.of(stack).add('project', 'luma-gateway');
Tags.of(stack).add('stage', config.stage);

// cdk-nag v3: rule packs are policy-validation plugins; findings fail the synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
