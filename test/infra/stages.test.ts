/**
 * What the context changes: stage, deletion protection, secret import,
 * upstream and callback URLs, throttling, retention, and routes added later.
 * Bundling is skipped here: only the template matters.
 */
import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { backgroundFunctions } from '../../functions/background';
import { routes, type RouteDefinition } from '../../functions/routes';
import { configFromContext } from '../../lib/config';
import { ENV, functionNamed, methodsByRoute, resourcesOf, statementsOfFunction, synthStack } from './helpers';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:luma/upstream-key-AbC123';

describe('deletion protection', () => {
  const tablesOf = (context: Record<string, unknown>) => Object.values(resourcesOf(synthStack({ context }).template, 'AWS::DynamoDB::Table'));

  it('is on for prod, and the tables are retained', () => {
    for (const table of tablesOf({ stage: 'prod' })) {
      expect(table.Properties.DeletionProtectionEnabled).toBe(true);
      expect(table.DeletionPolicy).toBe('Retain');
    }
  });

  it('can be turned on for another stage through context', () => {
    for (const table of tablesOf({ stage: 'staging', deletionProtection: 'true' })) {
      expect(table.Properties.DeletionProtectionEnabled).toBe(true);
      expect(table.DeletionPolicy).toBe('Retain');
    }
  });

  it('is off by default outside prod', () => {
    for (const table of tablesOf({ stage: 'staging' })) {
      expect(table.Properties.DeletionProtectionEnabled).toBe(false);
      expect(table.DeletionPolicy).toBe('Delete');
    }
  });

  it('cannot be turned off for prod', () => {
    expect(() => synthStack({ context: { stage: 'prod', deletionProtection: false } })).toThrow(/prod/);
  });
});

describe('upstream secret', () => {
  // Issue 11: the placeholder had the fixed name luma-gateway/<stage>/upstream-api-key; retained in prod,
  // a failed first create left it behind and the retry failed on "already exists". Its name is generated now.
  it('is a generated placeholder by default, described as such, with a generated name', () => {
    const { template } = synthStack();
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: Match.absent(),
      Description: Match.stringLikeRegexp('put the upstream key here'),
      GenerateSecretString: Match.objectLike({ PasswordLength: 32 }),
    });
  });

  it('is imported by name: no secret created, SecretId is the name, the grant matches its ARN suffix', () => {
    const { template } = synthStack({ context: { upstreamSecretName: 'luma/upstream-key' } });
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(functionNamed(template, 'extend').properties.Environment.Variables[ENV.upstreamSecretId]).toBe('luma/upstream-key');
    const grant = statementsOfFunction(template, 'extend').find((s) => s.Action === 'secretsmanager:GetSecretValue');
    expect(JSON.stringify(grant?.Resource)).toContain(':secret:luma/upstream-key-??????');
    expect(template.findOutputs('UpstreamSecretArn').UpstreamSecretArn).toBeDefined();
  });

  it('is imported by complete ARN: no secret created, SecretId and grant are the ARN', () => {
    const { template } = synthStack({ context: { upstreamSecretArn: SECRET_ARN } });
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(functionNamed(template, 'extend').properties.Environment.Variables[ENV.upstreamSecretId]).toBe(SECRET_ARN);
    expect(statementsOfFunction(template, 'extend')).toContainEqual({ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: SECRET_ARN });
    expect(template.findOutputs('UpstreamSecretArn').UpstreamSecretArn.Value).toBe(SECRET_ARN);
  });

  it('refuses a partial ARN, or both a name and an ARN', () => {
    expect(() => synthStack({ context: { upstreamSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:luma' } })).toThrow(/complete/);
    expect(() => synthStack({ context: { upstreamSecretArn: SECRET_ARN, upstreamSecretName: 'x' } })).toThrow(/either/);
  });

  it('is never readable by the authorizer', () => {
    const { template } = synthStack({ context: { upstreamSecretArn: SECRET_ARN } });
    expect(JSON.stringify(statementsOfFunction(template, 'authorizer'))).not.toContain('secretsmanager');
  });
});

describe('URLs, throttling and retention from context', () => {
  const { stack, template } = synthStack({
    context: {
      stage: 'staging',
      upstreamBaseUrl: 'https://api.upstream.example/',
      callbackBaseUrl: 'https://hooks.example.com/luma',
      throttleRateLimit: '20',
      throttleBurstLimit: 40,
      logRetentionDays: '90',
    },
  });
  const variables = functionNamed(template, 'extend').properties.Environment.Variables;

  it('passes the upstream and callback base URLs (trailing slash removed)', () => {
    expect(variables[ENV.upstreamBaseUrl]).toBe('https://api.upstream.example');
    expect(variables[ENV.callbackBaseUrl]).toBe('https://hooks.example.com/luma');
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('upstreamBaseUrl'));
  });

  it('applies throttling and log retention', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'staging',
      // The stage default; the callback route has its own entry besides it (issue 11).
      MethodSettings: Match.arrayWith([Match.objectLike({ ResourcePath: '/*', ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 })]),
    });
    for (const logGroup of Object.values(resourcesOf(template, 'AWS::Logs::LogGroup'))) {
      expect(logGroup.Properties.RetentionInDays).toBe(90);
    }
  });

  it('rejects bad values with a message naming the key', () => {
    const config = (context: Record<string, unknown>) => () => configFromContext(new App({ context }).node);
    expect(config({ upstreamBaseUrl: 'http://plain.example' })).toThrow(/upstreamBaseUrl/);
    expect(config({ throttleRateLimit: '-1' })).toThrow(/throttleRateLimit/);
    expect(config({ logRetentionDays: 31 })).toThrow(/logRetentionDays/);
    expect(config({ deletionProtection: 'maybe' })).toThrow(/deletionProtection/);
    expect(config({ stage: 'no spaces' })).toThrow(/stage/);
  });
});

describe('routes added later', () => {
  // A stand-in for a coming route, served by an existing handler so its entry exists.
  const laterRoute: RouteDefinition = {
    functionName: 'get-task',
    method: 'GET',
    path: '/luma/generations/{task_id}/history',
    auth: 'client',
    jsonBody: false,
    summary: 'stand-in',
  };
  const { template } = synthStack({ routes: [...routes, laterRoute] });
  const methods = methodsByRoute(template);

  it('creates every route with the auth the table says', () => {
    expect(methods['GET /luma/generations/{task_id}/history'].AuthorizationType).toBe('CUSTOM');
    expect(methods['POST /luma/callbacks/{token}'].AuthorizationType).toBe('NONE');
    expect(methods['POST /luma/callbacks/{token}'].AuthorizerId).toBeUndefined();
  });

  it('creates one function per functionName, however many routes it serves', () => {
    const routeFunctions = new Set(routes.map((route) => route.functionName)).size;
    // + the authorizer and the background functions (reconciler, task-changes, delivery worker)
    template.resourceCountIs('AWS::Lambda::Function', routeFunctions + 1 + backgroundFunctions.length);
  });

  it('refuses a function without declared needs', () => {
    const unknown: RouteDefinition = { functionName: 'mystery', method: 'GET', path: '/x', auth: 'client', jsonBody: false, summary: 'x' };
    expect(() => synthStack({ routes: [unknown] })).toThrow(/FUNCTION_NEEDS/);
  });

  describe('GET /luma/generations/{task_id}/deliveries, as soon as routes.ts lists it', () => {
    const deliveriesRoute: RouteDefinition = {
      functionName: 'list-deliveries',
      method: 'GET',
      path: '/luma/generations/{task_id}/deliveries',
      auth: 'client',
      jsonBody: false,
      summary: 'stand-in until routes.ts lists it',
    };
    const withDeliveries = routes.some((route) => route.functionName === 'list-deliveries') ? routes : [...routes, deliveriesRoute];
    const { template } = synthStack({ routes: withDeliveries });

    it('is served by list-deliveries behind the authorizer', () => {
      expect(methodsByRoute(template)['GET /luma/generations/{task_id}/deliveries'].AuthorizationType).toBe('CUSTOM');
    });

    // Issue 9: the list also shows where each notification stands (the messages table).
    it('may read tasks (GetItem), query deliveries and messages, nothing else', () => {
      const dynamo = statementsOfFunction(template, 'list-deliveries').filter((s) => JSON.stringify(s.Action).includes('dynamodb:'));
      expect(dynamo).toEqual([
        { Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^TasksTable/), 'Arn'] } },
        { Effect: 'Allow', Action: 'dynamodb:Query', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^DeliveriesTable/), 'Arn'] } },
        { Effect: 'Allow', Action: 'dynamodb:Query', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^MessagesTable/), 'Arn'] } },
      ]);
      expect(JSON.stringify(statementsOfFunction(template, 'list-deliveries'))).not.toContain('secretsmanager');
    });
  });
});

describe('reconciler and task lifecycle from context', () => {
  const { template } = synthStack({
    context: {
      reconcileIntervalMinutes: '5',
      reconcileAfterSeconds: 120,
      taskDeadlineSeconds: '3600',
      reconcileMaxTasks: '40',
      taskRetentionDays: '30',
      reconcilerReservedConcurrency: 'none',
    },
  });

  it('runs the reconciler at the configured rate, without reserved concurrency when asked', () => {
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
    expect(functionNamed(template, 'reconciler').properties.ReservedConcurrentExecutions).toBeUndefined();
    // A stale tick is dropped after two intervals.
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumEventAgeInSeconds: 600, MaximumRetryAttempts: 0 });
  });

  it('passes the lifecycle settings to the functions that read them', () => {
    const variables = (name: string) => functionNamed(template, name).properties.Environment.Variables;
    expect(variables('reconciler')).toMatchObject({
      [ENV.reconcileAfterSeconds]: '120',
      [ENV.taskDeadlineSeconds]: '3600',
      [ENV.reconcileMaxTasks]: '40',
      [ENV.taskRetentionDays]: '30',
    });
    for (const name of ['extend', 'create']) {
      expect(variables(name)).toMatchObject({ [ENV.reconcileAfterSeconds]: '120', [ENV.taskDeadlineSeconds]: '3600', [ENV.taskRetentionDays]: '30' });
    }
    expect(variables('task-changes')[ENV.taskRetentionDays]).toBe('30');
  });

  it('rejects settings that contradict each other or are not whole numbers', () => {
    const config = (context: Record<string, unknown>) => () => configFromContext(new App({ context }).node);
    expect(config({ taskDeadlineSeconds: 300, reconcileAfterSeconds: 300 })).toThrow(/taskDeadlineSeconds.*reconcileAfterSeconds/);
    expect(config({ taskRetentionDays: 1, taskDeadlineSeconds: 90_000 })).toThrow(/taskRetentionDays/);
    expect(config({ reconcileIntervalMinutes: '1.5' })).toThrow(/reconcileIntervalMinutes/);
    expect(config({ reconcileMaxTasks: 0 })).toThrow(/reconcileMaxTasks/);
    expect(config({ reconcilerReservedConcurrency: 'one' })).toThrow(/reconcilerReservedConcurrency/);
  });
});

describe('optional account and firewall settings', () => {
  // Issue 11: the role is an account-wide singleton; every stage's stack used to create it (the last deploy
  // won). It is now the one LumaGatewayAccount stack (see test/infra/deploy.test.ts), never in a stage's stack.
  it('creates the API Gateway CloudWatch role in the account stack by default, retained, and skips it on request', () => {
    const withRole = synthStack();
    withRole.template.resourceCountIs('AWS::ApiGateway::Account', 0);
    const account = Template.fromStack(withRole.account!);
    account.resourceCountIs('AWS::ApiGateway::Account', 1);
    account.hasResource('AWS::ApiGateway::Account', { DeletionPolicy: 'RetainExceptOnCreate' });
    const without = synthStack({ context: { apiGatewayCloudWatchRole: false } });
    expect(without.account).toBeUndefined();
    without.template.resourceCountIs('AWS::ApiGateway::Account', 0);
  });

  it('associates a WAF web ACL when webAclArn is given', () => {
    const webAclArn = 'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/luma/0000';
    const { template } = synthStack({ context: { webAclArn } });
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', { WebACLArn: webAclArn });
  });
});
