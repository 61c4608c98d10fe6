/**
 * The dev stack as `cdk synth` builds it (bundled once for the whole file):
 * routes, functions, tables, IAM, logs, gateway responses, outputs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { backgroundFunctions } from '../../functions/background';
import { gatewayResponses } from '../../functions/http/gateway-responses';
import { routes } from '../../functions/routes';
import { TABLES } from '../../functions/tables';
import { FUNCTION_NEEDS } from '../../lib/function-needs';
import {
  actionsOf,
  allStatements,
  asArray,
  ENV,
  functionNamed,
  methodsByRoute,
  resourcesOf,
  statementsOfFunction,
  synthStack,
} from './helpers';

const allTables = Object.values(TABLES);
const { tasks: tasksTable, clients: clientsTable, idempotency: idempotencyTable, deliveries: deliveriesTable } = TABLES;

const { app, stack, template } = synthStack({ bundle: true });
const apiFunctionNames = [...new Set(routes.map((route) => route.functionName)), 'authorizer'];
const functionNames = [...apiFunctionNames, ...backgroundFunctions.map((entry) => entry.functionName)];

describe('routes', () => {
  const methods = methodsByRoute(template);
  const [authorizerId] = Object.keys(resourcesOf(template, 'AWS::ApiGateway::Authorizer'));

  it.each(routes.map((route) => [`${route.method} ${route.path}`, route] as const))('%s exists with its auth', (key, route) => {
    const method = methods[key];
    expect(method).toBeDefined();
    expect(method.Integration.Type).toBe('AWS_PROXY');
    expect(method.Integration.Uri['Fn::Join'][1]).toContainEqual({ 'Fn::GetAtt': [functionNamed(template, route.functionName).id, 'Arn'] });
    if (route.auth === 'client') {
      expect(method.AuthorizationType).toBe('CUSTOM');
      expect(method.AuthorizerId).toEqual({ Ref: authorizerId });
    } else {
      expect(method.AuthorizationType).toBe('NONE');
      expect(method.AuthorizerId).toBeUndefined();
    }
    // The Lambda validates the body: no API Gateway validator or model.
    expect(method.RequestValidatorId).toBeUndefined();
    expect(method.RequestModels).toBeUndefined();
  });

  it('has no other method', () => {
    expect(Object.keys(methods).sort()).toEqual(routes.map((route) => `${route.method} ${route.path}`).sort());
    template.resourceCountIs('AWS::ApiGateway::RequestValidator', 0);
  });

  it('checks Bearer keys with a cached TOKEN authorizer backed by the authorizer function', () => {
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'TOKEN',
      IdentitySource: 'method.request.header.Authorization',
      AuthorizerResultTtlInSeconds: 300,
      AuthorizerUri: Match.objectLike({
        'Fn::Join': ['', Match.arrayWith([{ 'Fn::GetAtt': [functionNamed(template, 'authorizer').id, 'Arn'] }])],
      }),
    });
  });

  it('is a regional REST API', () => {
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { EndpointConfiguration: { Types: ['REGIONAL'] } });
  });
});

describe('functions', () => {
  it('creates one function per distinct route function, plus the authorizer, the reconciler and the task-changes consumer', () => {
    template.resourceCountIs('AWS::Lambda::Function', functionNames.length);
    expect([...stack.functions.keys()].sort()).toEqual([...functionNames].sort());
  });

  it.each(functionNames)('%s: arm64 nodejs24.x, bounded timeout and memory, active tracing, own log group', (name) => {
    const { properties } = functionNamed(template, name);
    expect(properties.Runtime).toBe('nodejs24.x');
    expect(properties.Architectures).toEqual(['arm64']);
    expect(properties.Timeout).toBe(FUNCTION_NEEDS[name].timeout.toSeconds());
    // Behind API Gateway (29 s) or a 60 s budget for the background functions.
    // The asset worker's copies of large media may take minutes (Lambda's most is 15).
    expect(properties.Timeout).toBeLessThanOrEqual(apiFunctionNames.includes(name) ? 28 : name === 'asset-worker' ? 900 : 60);
    expect(properties.MemorySize).toBe(FUNCTION_NEEDS[name].memorySize);
    expect(properties.TracingConfig).toEqual({ Mode: 'Active' });
    expect(properties.LoggingConfig.LogGroup.Ref).toMatch(/LogGroup/);
    expect(properties.Environment.Variables).toMatchObject({
      POWERTOOLS_SERVICE_NAME: 'luma-gateway',
      LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
    });
    expect(properties.Environment.Variables[ENV.allowLoopbackHooks]).toBeUndefined();
  });

  it('sizes extend at 512 MB / 28 s (its worst path, bounded by API Gateway) and the authorizer at 256 MB', () => {
    expect(functionNamed(template, 'extend').properties).toMatchObject({ MemorySize: 512, Timeout: 28 });
    expect(functionNamed(template, 'authorizer').properties).toMatchObject({ MemorySize: 256 });
  });

  it('gives every log group a retention', () => {
    for (const logGroup of Object.values(resourcesOf(template, 'AWS::Logs::LogGroup'))) {
      expect(logGroup.Properties.RetentionInDays).toBe(30);
    }
  });

  // Issue 13 changed the callback URL's assertions: it is the callback function's own URL now, not the REST stage's.
  it("gives extend the table names, the upstream settings and the callback function's URL as callback URL", () => {
    const variables = functionNamed(template, 'extend').properties.Environment.Variables;
    const tableRef = (id: string) => ({ Ref: Object.keys(resourcesOf(template, 'AWS::DynamoDB::Table')).find((key) => key.startsWith(`${id}Table`)) });
    expect(variables[ENV.tasksTable]).toEqual(tableRef(tasksTable.id));
    expect(variables[ENV.clientsTable]).toEqual(tableRef(clientsTable.id));
    expect(variables[ENV.idempotencyTable]).toEqual(tableRef(idempotencyTable.id));
    expect(variables[ENV.deliveriesTable]).toEqual(tableRef(deliveriesTable.id));
    expect(variables[ENV.upstreamBaseUrl]).toBe('https://upstream.invalid');
    expect(variables[ENV.upstreamTimeoutMs]).toBe('10000');
    expect(variables[ENV.upstreamSecretId]).toEqual({ Ref: Object.keys(resourcesOf(template, 'AWS::SecretsManager::Secret'))[0] });

    const callback = JSON.stringify(variables[ENV.callbackBaseUrl]);
    expect(callback).toContain('"https://"');
    const [urlId] = Object.keys(resourcesOf(template, 'AWS::Lambda::Url'));
    expect(callback).toContain(`{"Fn::GetAtt":["${urlId}","FunctionUrl"]}`);
    const stageAndDeploymentIds = [
      ...Object.keys(resourcesOf(template, 'AWS::ApiGateway::Stage')),
      ...Object.keys(resourcesOf(template, 'AWS::ApiGateway::Deployment')),
    ];
    for (const id of stageAndDeploymentIds) expect(callback).not.toContain(id);
  });

  it('warns at synth time that upstreamBaseUrl is not configured', () => {
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('upstreamBaseUrl is not set'));
  });

  it('bundles each handler as minified ESM with the require banner, source map and the AWS SDK inside', () => {
    const assembly = app.synth();
    const assetDirs = fs
      .readdirSync(assembly.directory)
      .filter((entry) => entry.startsWith('asset.'))
      .map((entry) => path.join(assembly.directory, entry))
      .filter((dir) => fs.existsSync(path.join(dir, 'index.mjs')));
    expect(assetDirs).toHaveLength(functionNames.length);
    for (const dir of assetDirs) {
      const code = fs.readFileSync(path.join(dir, 'index.mjs'), 'utf8');
      expect(code.startsWith("import { createRequire } from 'module';const require = createRequire(import.meta.url);")).toBe(true);
      expect(code).not.toMatch(/from\s*["']@aws-sdk\//);
      // Minified: a few very long lines (newlines survive only inside template literals).
      expect(code.length / code.split('\n').length).toBeGreaterThan(1000);
      expect(fs.existsSync(path.join(dir, 'index.mjs.map'))).toBe(true);
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'index.mjs.map'), 'utf8')).sourcesContent).toBeUndefined();
    }
  });
});

describe('tables', () => {
  const tables = resourcesOf(template, 'AWS::DynamoDB::Table');
  const tableOf = (id: string) => Object.entries(tables).find(([key]) => key.startsWith(`${id}Table`))![1];

  it('creates exactly the tables of functions/tables.ts', () => {
    expect(Object.keys(tables)).toHaveLength(allTables.length);
  });

  it.each(allTables.map((definition) => [definition.id, definition] as const))('%s follows its definition', (id, definition) => {
    const table = tableOf(id);
    const properties = table.Properties;
    expect(properties.BillingMode).toBe('PAY_PER_REQUEST');
    expect(properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(properties.SSESpecification).toEqual({ SSEEnabled: true });
    expect(properties.KeySchema).toEqual([
      { AttributeName: definition.partitionKey.name, KeyType: 'HASH' },
      ...(definition.sortKey ? [{ AttributeName: definition.sortKey.name, KeyType: 'RANGE' }] : []),
    ]);
    expect(properties.TimeToLiveSpecification).toEqual(
      definition.timeToLiveAttribute ? { AttributeName: definition.timeToLiveAttribute, Enabled: true } : undefined,
    );
    expect(properties.StreamSpecification).toEqual(definition.stream ? { StreamViewType: definition.stream } : undefined);
    expect(properties.GlobalSecondaryIndexes ?? []).toEqual(
      definition.globalSecondaryIndexes.map((index) => ({
        IndexName: index.indexName,
        KeySchema: [
          { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
          ...(index.sortKey ? [{ AttributeName: index.sortKey.name, KeyType: 'RANGE' }] : []),
        ],
        // An index that projects nothing else is KEYS_ONLY (the owner index: written once per task).
        Projection: index.nonKeyAttributes.length > 0 ? { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.nonKeyAttributes] } : { ProjectionType: 'KEYS_ONLY' },
      })),
    );
    // dev default: no deletion protection, deleted with the stack.
    expect(properties.DeletionProtectionEnabled).toBe(false);
    expect(table.DeletionPolicy).toBe('Delete');
  });

  it('streams new and old images of tasks', () => {
    expect(tableOf(tasksTable.id).Properties.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
  });

  it('keeps delivery attempts by task and attempt, expired by TTL, without a stream', () => {
    const properties = tableOf(deliveriesTable.id).Properties;
    expect(properties.KeySchema).toEqual([
      { AttributeName: 'task_id', KeyType: 'HASH' },
      { AttributeName: 'attempt_id', KeyType: 'RANGE' },
    ]);
    expect(properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expires_at', Enabled: true });
    expect(properties.StreamSpecification).toBeUndefined();
  });
});

describe('IAM', () => {
  const isWrite = (action: string) => /^dynamodb:(Put|Update|Delete|BatchWrite|TransactWrite|PartiQL(Insert|Update|Delete))/.test(action);

  it('has no wildcard action anywhere', () => {
    for (const action of actionsOf(allStatements(template))) {
      expect(action).not.toContain('*');
    }
  });

  it('lets the authorizer only GetItem on the clients table, and read no secret', () => {
    const statements = statementsOfFunction(template, 'authorizer');
    const actions = actionsOf(statements);
    expect(actions.filter(isWrite)).toEqual([]);
    expect(actions.filter((action) => action.startsWith('secretsmanager:'))).toEqual([]);
    const dynamo = statements.filter((s) => asArray(s.Action).some((action) => action.startsWith('dynamodb:')));
    expect(dynamo).toEqual([
      { Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^ClientsTable/), 'Arn'] } },
    ]);
  });

  it('lets extend write tasks and idempotency records, read the secret, and nothing on clients', () => {
    const statements = statementsOfFunction(template, 'extend');
    const onTable = (prefix: string) =>
      statements
        .filter((s) => JSON.stringify(s.Resource).includes(`"${prefix}Table`))
        .flatMap((s) => asArray(s.Action))
        .sort();
    expect(onTable('Tasks')).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    expect(onTable('Idempotency')).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    expect(onTable('Clients')).toEqual([]);
    const secretId = Object.keys(resourcesOf(template, 'AWS::SecretsManager::Secret'))[0];
    expect(statements).toContainEqual({ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: { Ref: secretId } });
    expect(actionsOf(statements).filter((action) => action.startsWith('secretsmanager:'))).toEqual(['secretsmanager:GetSecretValue']);
  });

  it('grants no Scan, on any table or index', () => {
    expect(actionsOf(allStatements(template)).filter((action) => /^dynamodb:(Scan|PartiQLSelect)$/.test(action))).toEqual([]);
  });

  it('never grants on every index of a table', () => {
    expect(JSON.stringify(allStatements(template))).not.toContain('/index/*');
  });

  it('gives function roles no managed policy (log writes are scoped to their own log group)', () => {
    for (const name of functionNames) expect(() => statementsOfFunction(template, name)).not.toThrow();
  });
});

describe('API stage', () => {
  const stage = Object.values(resourcesOf(template, 'AWS::ApiGateway::Stage'))[0].Properties;

  // Issue 11 changed two assertions here: the stage is no longer traced (its trace segments would
  // record the callback token, which is the URL's path), and the open callback route has its own throttle.
  it('is named after the stage, throttled, with data trace off, not traced by API Gateway', () => {
    expect(stage.StageName).toBe('dev');
    expect(stage.TracingEnabled).toBe(false);
    expect(stage.MethodSettings).toEqual([
      expect.objectContaining({
        HttpMethod: '*',
        ResourcePath: '/*',
        DataTraceEnabled: false,
        LoggingLevel: 'ERROR',
        ThrottlingRateLimit: 50,
        ThrottlingBurstLimit: 100,
      }),
      expect.objectContaining({
        HttpMethod: 'POST',
        ResourcePath: '/~1luma~1callbacks~1{token}',
        DataTraceEnabled: false,
        LoggingLevel: 'ERROR',
        ThrottlingRateLimit: 20,
        ThrottlingBurstLimit: 40,
      }),
    ]);
  });

  it('writes JSON access logs with the template path and no token, key or header', () => {
    const format: string = stage.AccessLogSetting.Format;
    const fields = JSON.parse(format) as Record<string, string>;
    expect(fields.resourcePath).toBe('$context.resourcePath');
    expect(fields).toMatchObject({ requestId: '$context.requestId', status: '$context.status', principalId: '$context.authorizer.principalId' });
    expect(format).not.toMatch(/\$context\.path\b/);
    expect(format).not.toMatch(/header|apiKey|authorizationToken|\$input|requestOverride|responseOverride|claims/i);
    expect(stage.AccessLogSetting.DestinationArn['Fn::GetAtt'][0]).toMatch(/AccessLogs/);
  });
});

describe('gateway responses', () => {
  const responses = Object.values(resourcesOf(template, 'AWS::ApiGateway::GatewayResponse')).map((r) => r.Properties);

  it.each(gatewayResponses.map((definition) => [definition.type, definition] as const))('%s answers in the envelope', (type, definition) => {
    const response = responses.find((r) => r.ResponseType === type);
    expect(response).toBeDefined();
    expect(response.StatusCode).toBe(definition.statusCode === undefined ? undefined : String(definition.statusCode));
    const template = response.ResponseTemplates['application/json'] as string;
    expect(JSON.parse(template.replace('$context.requestId', 'req-1'))).toEqual({
      code: definition.code,
      message: definition.message,
      request_id: 'req-1',
      data: null,
    });
    for (const [name, value] of Object.entries(definition.headers ?? {})) {
      expect(response.ResponseParameters[`gatewayresponse.header.${name}`]).toBe(`'${value}'`);
    }
  });

  it('maps the key failures, unknown routes and throttling to the promised statuses', () => {
    const status = (type: string) => responses.find((r) => r.ResponseType === type)?.StatusCode;
    expect(status('UNAUTHORIZED')).toBe('401');
    expect(status('MISSING_AUTHENTICATION_TOKEN')).toBe('404');
    expect(status('THROTTLED')).toBe('429');
    expect(status('REQUEST_TOO_LARGE')).toBe('413');
    expect(status('UNSUPPORTED_MEDIA_TYPE')).toBe('415');
    expect(status('INTEGRATION_TIMEOUT')).toBe('504');
  });
});

describe('outputs', () => {
  it.each(['ApiUrl', 'TasksTableName', 'TasksTableStreamArn', 'UpstreamSecretArn', 'ClientsTableName', 'DeliveriesTableName', 'TaskChangesDeadLetterQueueUrl'])('exports %s', (name) => {
    expect(template.findOutputs(name)[name]).toBeDefined();
  });

  it('exports the stream ARN of the tasks table', () => {
    expect(template.findOutputs('TasksTableStreamArn').TasksTableStreamArn.Value).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^TasksTable/), 'StreamArn'],
    });
  });
});
