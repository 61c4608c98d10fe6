/**
 * cdk-nag (v3) finds nothing unacknowledged: neither errors nor warnings of
 * the AwsSolutions and Serverless packs, for the default dev stack and for a
 * prod stack with the optional branches (imported secret, WAF, open route).
 */
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks, ServerlessChecks, type NagPack } from 'cdk-nag';
import { routes, type RouteDefinition } from '../../functions/routes';
import { synthStack } from './helpers';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:luma/upstream-key-AbC123';

const openRoute: RouteDefinition = {
  functionName: 'extend',
  method: 'POST',
  path: '/luma/callbacks/{token}',
  auth: 'none',
  jsonBody: true,
  summary: 'stand-in for the callback route',
};

const variants = {
  'dev (defaults)': synthStack(),
  'prod (imported secret, WAF, no account role, an open route)': synthStack({
    context: {
      stage: 'prod',
      upstreamSecretArn: SECRET_ARN,
      upstreamBaseUrl: 'https://api.upstream.example',
      webAclArn: 'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/luma/0000',
      apiGatewayCloudWatchRole: false,
    },
    routes: [...routes, openRoute],
  }),
};

const packs: Record<string, () => NagPack> = {
  AwsSolutions: () => new AwsSolutionsChecks(),
  Serverless: () => new ServerlessChecks(),
};

describe.each(Object.entries(variants))('%s', (_name, { stack }) => {
  it.each(Object.keys(packs))('has no %s finding (error or warning)', (pack) => {
    const report = packs[pack]().validateScope(stack);
    const findings = report.violations.map(
      (violation) => `${violation.severity} ${violation.ruleName}: ${violation.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(findings).toEqual([]);
    expect(report.success).toBe(true);
  });
});

it('the packs do report an unacknowledged finding (the test would catch one)', () => {
  const { stack } = synthStack({ context: { stage: 'nagcheck' } });
  // A function without memory size or tracing, outside the GatewayFunction defaults.
  new LambdaFunction(stack, 'Bare', { runtime: Runtime.NODEJS_20_X, handler: 'index.handler', code: Code.fromInline('exports.handler=()=>1') });
  const report = new ServerlessChecks().validateScope(stack);
  expect(report.violations.map((violation) => violation.ruleName)).toEqual(expect.arrayContaining(['Serverless-LambdaTracing']));
});
