/**
 * cdk-nag (v3) finds nothing unacknowledged: neither errors nor warnings of
 * the AwsSolutions and Serverless packs, for every stage the README deploys
 * (dev, prod, a protected staging) and for a prod stack with the optional
 * branches (imported secret, WAF, no account role, reserved concurrency,
 * alarm subscribers), and for the API Gateway account stack; the open
 * callback route is in all of them.
 */
import { Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks, ServerlessChecks, type NagPack } from 'cdk-nag';
import { routes } from '../../functions/routes';
import { TaskEventsSubscription } from '../../lib/task-events-subscription';
import { synthStack } from './helpers';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:luma/upstream-key-AbC123';

const variants = {
  'dev (defaults)': synthStack(),
  'prod (imported secret, WAF, no account role, no reserved concurrency)': synthStack({
    context: {
      stage: 'prod',
      upstreamSecretArn: SECRET_ARN,
      upstreamBaseUrl: 'https://api.upstream.example',
      webAclArn: 'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/luma/0000',
      apiGatewayCloudWatchRole: false,
      reconcilerReservedConcurrency: 'none',
    },
  }),
  'prod (defaults: placeholder secret, account stack)': synthStack({ context: { stage: 'prod', upstreamBaseUrl: 'https://api.upstream.example' } }),
  'staging (deletion protection, reserved reconciler, alarm e-mails and topic)': synthStack({
    context: {
      stage: 'staging',
      deletionProtection: true,
      reconcilerReservedConcurrency: 1,
      alarmEmails: 'oncall@example.com',
      alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:pager',
    },
  }),
  'prod (callbacks on the function URL only, its concurrency reserved)': synthStack({
    context: { stage: 'prod', upstreamBaseUrl: 'https://api.upstream.example', callbackRestRoute: false, callbackReservedConcurrency: 5 },
  }),
};
const accountStack = variants['dev (defaults)'].account!;

it('the variants include an open route', () => {
  expect(routes.some((route) => route.auth === 'none')).toBe(true);
});

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

it.each(Object.keys(packs))('the API Gateway account stack has no %s finding (error or warning)', (pack) => {
  const report = packs[pack]().validateScope(accountStack);
  expect(report.violations.map((violation) => `${violation.severity} ${violation.ruleName}`)).toEqual([]);
});

it.each(Object.keys(packs))('TaskEventsSubscription brings no %s finding of its own into another stack', (pack) => {
  const stack = new Stack();
  const table = dynamodb.Table.fromTableAttributes(stack, 'Tasks', {
    tableName: 'tasks',
    tableStreamArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/tasks/stream/2026-01-01T00:00:00.000',
  });
  const handler = new LambdaFunction(stack, 'Consumer', { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline('exports.handler=()=>({})') });
  const subscription = new TaskEventsSubscription(stack, 'TaskEvents', { table, handler });
  const report = packs[pack]().validateScope(subscription);
  expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
});

it('the packs do report an unacknowledged finding (the test would catch one)', () => {
  const { stack } = synthStack({ context: { stage: 'nagcheck' } });
  // A function without memory size or tracing, outside the GatewayFunction defaults.
  new LambdaFunction(stack, 'Bare', { runtime: Runtime.NODEJS_20_X, handler: 'index.handler', code: Code.fromInline('exports.handler=()=>1') });
  const report = new ServerlessChecks().validateScope(stack);
  expect(report.violations.map((violation) => violation.ruleName)).toEqual(expect.arrayContaining(['Serverless-LambdaTracing']));
});
