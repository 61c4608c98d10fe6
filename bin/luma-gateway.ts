/**
 * The CDK app (cdk.json runs it with tsx). Every setting a stage may set is
 * a context key declared in functions/settings.ts (`context: true`) and
 * listed in the README, e.g.
 *   npx cdk deploy LumaGateway-prod -c stage=prod -c upstreamBaseUrl=https://api.example.com
 * deploys LumaGateway-prod, after the account stack LumaGatewayAccount it
 * depends on (API Gateway's logging role; lib/app.ts).
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { addGatewayStacks } from '../lib/app';

const app = new App();
addGatewayStacks(app, {
  // Environment-agnostic unless the CLI knows the account and region.
  env:
    process.env.CDK_DEFAULT_ACCOUNT && process.env.CDK_DEFAULT_REGION
      ? { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION }
      : undefined,
});

// cdk-nag v3: rule packs are policy-validation plugins; findings fail the synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
