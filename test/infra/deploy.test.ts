/**
 * The README's deploy works on a brand-new account, and again after a failed
 * first create: no reserved concurrency unless asked, no fixed name on
 * anything retained, create-time retention where a rollback can clean up;
 * API Gateway's account role in its own stack, once per account; no X-Ray
 * on the stage (the callback token is the URL's path); the callback route's
 * own throttle; and a CLI that stays offline on synth.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { routes } from '../../functions/routes';
import { API_GATEWAY_ACCOUNT_STACK_NAME } from '../../lib/api-gateway-account';
import { GatewayApi } from '../../lib/api';
import { functionNamed, methodsByRoute, resourcesOf, synthStack } from './helpers';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:luma/upstream-key-AbC123';

/** The properties that give each retained type a physical name. */
const NAME_PROPERTIES: Record<string, string> = {
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::SecretsManager::Secret': 'Name',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::KMS::Key': 'Alias',
};

const stages = {
  'dev (defaults)': synthStack(),
  'prod (defaults: placeholder secret, protected tables)': synthStack({ context: { stage: 'prod' } }),
  'staging (deletionProtection)': synthStack({ context: { stage: 'staging', deletionProtection: true } }),
  'prod (imported secret, subscribers, reserved reconciler)': synthStack({
    context: { stage: 'prod', upstreamSecretArn: SECRET_ARN, alarmEmails: 'oncall@example.com', reconcilerReservedConcurrency: 1 },
  }),
};

describe.each(Object.entries(stages))('%s', (_name, { template, account }) => {
  const templates = [template, ...(account ? [Template.fromStack(account)] : [])];
  const resources = templates.flatMap((t) => Object.entries(t.toJSON().Resources as Record<string, { Type: string; Properties?: any; DeletionPolicy?: string }>));
  const retained = resources.filter(([, r]) => r.DeletionPolicy === 'Retain' || r.DeletionPolicy === 'RetainExceptOnCreate');

  it('retains nothing with a fixed physical name (a failed create would leave it and block the retry)', () => {
    for (const [id, resource] of retained) {
      const nameProperty = NAME_PROPERTIES[resource.Type];
      expect({ id, name: nameProperty && resource.Properties?.[nameProperty] }).toEqual({ id, name: undefined });
    }
  });

  it('keeps on rollback of its own create only what DynamoDB would refuse to delete (protected tables)', () => {
    for (const [id, resource] of retained) {
      const plainRetain = resource.DeletionPolicy === 'Retain';
      expect({ id, plainRetain }).toEqual({ id, plainRetain: resource.Type === 'AWS::DynamoDB::Table' && resource.Properties.DeletionProtectionEnabled === true });
    }
  });

  it('creates no AWS::ApiGateway::Account in the stage stack', () => {
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
  });
});

describe('retention per stage', () => {
  const policiesOf = (t: Template, type: string) => Object.values(resourcesOf(t, type)).map((r) => r.DeletionPolicy);

  it('prod keeps its log groups and placeholder secret on delete and update, not after a failed create', () => {
    const { template } = stages['prod (defaults: placeholder secret, protected tables)'];
    expect(new Set(policiesOf(template, 'AWS::Logs::LogGroup'))).toEqual(new Set(['RetainExceptOnCreate']));
    expect(policiesOf(template, 'AWS::SecretsManager::Secret')).toEqual(['RetainExceptOnCreate']);
    for (const resource of [...Object.values(resourcesOf(template, 'AWS::Logs::LogGroup')), ...Object.values(resourcesOf(template, 'AWS::SecretsManager::Secret'))]) {
      expect((resource as { UpdateReplacePolicy?: string }).UpdateReplacePolicy).toBe('Retain');
    }
    expect(new Set(policiesOf(template, 'AWS::DynamoDB::Table'))).toEqual(new Set(['Retain']));
  });

  it('dev deletes everything with the stack', () => {
    const { template } = stages['dev (defaults)'];
    for (const type of ['AWS::Logs::LogGroup', 'AWS::SecretsManager::Secret', 'AWS::DynamoDB::Table']) {
      expect(new Set(policiesOf(template, type))).toEqual(new Set(['Delete']));
    }
  });
});

describe('reserved concurrency', () => {
  it('is reserved by no function by default, in any stage (AWS refuses it on accounts with fewer than 100 unreserved)', () => {
    for (const { template } of Object.values(stages).slice(0, 3)) {
      for (const fn of Object.values(resourcesOf(template, 'AWS::Lambda::Function'))) expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
    }
  });

  it('is reserved for the reconciler only, when asked', () => {
    const { template } = stages['prod (imported secret, subscribers, reserved reconciler)'];
    const reserved = Object.entries(resourcesOf(template, 'AWS::Lambda::Function')).filter(([, fn]) => fn.Properties.ReservedConcurrentExecutions !== undefined);
    expect(reserved.map(([id, fn]) => [id, fn.Properties.ReservedConcurrentExecutions])).toEqual([[functionNamed(template, 'reconciler').id, 1]]);
  });
});

describe('the API Gateway account stack', () => {
  const { app, stack, account } = synthStack();
  const accountTemplate = Template.fromStack(account!);

  it('is one stack, LumaGatewayAccount, whatever the stage, which every stage stack depends on', () => {
    expect(account!.stackName).toBe(API_GATEWAY_ACCOUNT_STACK_NAME);
    expect(synthStack({ context: { stage: 'prod' } }).account!.stackName).toBe(API_GATEWAY_ACCOUNT_STACK_NAME);
    expect(stack.dependencies).toContain(account);
    const manifest = app.synth().manifest.artifacts!;
    expect(manifest[stack.artifactId].dependencies).toContain(account!.artifactId);
  });

  it("sets the account's CloudWatch role, kept on delete and update, removed by a failed create's rollback", () => {
    const roleId = Object.keys(resourcesOf(accountTemplate, 'AWS::IAM::Role'))[0];
    accountTemplate.hasResource('AWS::ApiGateway::Account', {
      Properties: { CloudWatchRoleArn: { 'Fn::GetAtt': [roleId, 'Arn'] } },
      DeletionPolicy: 'RetainExceptOnCreate',
      UpdateReplacePolicy: 'Retain',
    });
    accountTemplate.hasResource('AWS::IAM::Role', {
      Properties: {
        AssumeRolePolicyDocument: { Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'apigateway.amazonaws.com' } }] },
        ManagedPolicyArns: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs']] }],
      },
      DeletionPolicy: 'RetainExceptOnCreate',
    });
    expect(Object.keys(accountTemplate.toJSON().Resources).filter((id) => id !== 'CDKMetadata')).toHaveLength(2);
  });

  it('is left out when the account role is managed elsewhere', () => {
    const without = synthStack({ context: { apiGatewayCloudWatchRole: 'false' } });
    expect(without.account).toBeUndefined();
    expect(without.app.node.tryFindChild(API_GATEWAY_ACCOUNT_STACK_NAME)).toBeUndefined();
    expect(without.stack.dependencies).toEqual([]);
  });
});

describe('tracing', () => {
  const { template } = stages['dev (defaults)'];

  it('is off on the API stage (trace segments record the URL, whose path is the callback token)', () => {
    for (const stage of Object.values(resourcesOf(template, 'AWS::ApiGateway::Stage'))) expect(stage.Properties.TracingEnabled).toBe(false);
  });

  it('is active on every function', () => {
    for (const fn of Object.values(resourcesOf(template, 'AWS::Lambda::Function'))) expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
  });

  it('leaves no X-Ray field in the access log (it would always be empty)', () => {
    const stage = Object.values(resourcesOf(template, 'AWS::ApiGateway::Stage'))[0];
    expect(stage.Properties.AccessLogSetting.Format).not.toContain('xrayTraceId');
  });
});

describe('the callback route throttle', () => {
  const callbackRoute = routes.find((route) => route.functionName === 'callback')!;
  const callbackSetting = (template: Template) =>
    Object.values(resourcesOf(template, 'AWS::ApiGateway::Stage'))[0].Properties.MethodSettings.filter((s: any) => s.ResourcePath !== '/*');

  it('is the open route (auth none)', () => {
    expect(callbackRoute.auth).toBe('none');
  });

  it('has its own bucket, 20/s burst 40 by default, with the stage’s logging settings', () => {
    expect(callbackSetting(stages['dev (defaults)'].template)).toEqual([
      {
        HttpMethod: 'POST',
        ResourcePath: '/~1luma~1callbacks~1{token}',
        ThrottlingRateLimit: 20,
        ThrottlingBurstLimit: 40,
        LoggingLevel: 'ERROR',
        DataTraceEnabled: false,
        MetricsEnabled: false,
      },
    ]);
  });

  it('takes its rate and burst from context, apart from the client routes', () => {
    const { template } = synthStack({ context: { callbackThrottleRateLimit: '5.5', callbackThrottleBurstLimit: 11, throttleRateLimit: 200 } });
    expect(callbackSetting(template)).toEqual([expect.objectContaining({ ThrottlingRateLimit: 5.5, ThrottlingBurstLimit: 11 })]);
    expect(Object.values(resourcesOf(template, 'AWS::ApiGateway::Stage'))[0].Properties.MethodSettings[0]).toMatchObject({ ResourcePath: '/*', ThrottlingRateLimit: 200 });
  });

  it('refuses a rate of 0 or a burst below 1', () => {
    expect(() => synthStack({ context: { callbackThrottleRateLimit: 0 } })).toThrow(/callbackThrottleRateLimit/);
    expect(() => synthStack({ context: { callbackThrottleBurstLimit: 0 } })).toThrow(/callbackThrottleBurstLimit/);
  });

  it('is not set when no route is open', () => {
    const { template } = synthStack({ routes: routes.filter((route) => route.auth !== 'none') });
    expect(callbackSetting(template)).toEqual([]);
    expect(methodsByRoute(template)[`${callbackRoute.method} ${callbackRoute.path}`]).toBeUndefined();
  });

  it('must name a route of the API (a method setting for a missing method fails the deploy)', () => {
    const app = new App();
    const stack = new Stack(app, 'ThrottleCheck');
    const handler = new lambda.Function(stack, 'Fn', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler=()=>1') });
    const api = new GatewayApi(stack, 'Api', {
      stageName: 'check',
      throttleRateLimit: 1,
      throttleBurstLimit: 1,
      methodThrottles: [{ method: 'POST', path: '/nowhere', rateLimit: 1, burstLimit: 1 }],
      authorizerFunction: handler,
      authorizerCacheTtl: Duration.seconds(0),
      logRetention: 1,
      logRemovalPolicy: RemovalPolicy.DESTROY,
    });
    api.addRoute(callbackRoute, handler);
    expect(api.node.validate()).toEqual(['throttle for POST /nowhere, which is not a route of this API']);
  });
});

describe('cdk.json', () => {
  const cdkJson = JSON.parse(readFileSync(join(__dirname, '..', '..', 'cdk.json'), 'utf8'));
  // The CLI's own bundle (its package exports no subpath).
  const cli = readFileSync(join(__dirname, '..', '..', 'node_modules', 'aws-cdk', 'lib', 'index.js'), 'utf8');

  it('turns the CLI telemetry off, by the context key the installed CLI reads', () => {
    expect(cdkJson.context['cli-telemetry']).toBe(false);
    expect(cli).toContain('["false", false].includes(context.get("cli-telemetry"))');
  });

  it('turns the CLI notices off, by the setting the installed CLI reads', () => {
    expect(cdkJson.notices).toBe(false);
    expect(cli).toContain('configuration.settings.get(["notices"])');
  });
});
