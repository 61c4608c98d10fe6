/**
 * The background half of the stack: the scheduled reconciler, the task-changes consumer
 * fed by the task stream through TaskEventsSubscription, their queues and
 * alarms; and TaskEventsSubscription as another team's stack uses it.
 * Bundling is skipped: only the template matters.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { DUE_MESSAGES_INDEX, OPEN_TASKS_INDEX } from '../../functions/tables';
import { statusChangePatterns } from '../../functions/domain/task-events';
import { TaskEventsSubscription } from '../../lib/task-events-subscription';
import { actionsOf, asArray, ENV, functionNamed, resourcesOf, statementsOfFunction, synthStack, type Statement } from './helpers';

/** The event source settings TaskEventsSubscription applies by default (the task-changes consumer keeps them). */
const defaultFailureHandling = (queueId: string) => ({
  BatchSize: 10,
  BisectBatchOnFunctionError: true,
  MaximumRetryAttempts: 3,
  MaximumRecordAgeInSeconds: 3600,
  ParallelizationFactor: 1,
  FunctionResponseTypes: ['ReportBatchItemFailures'],
  DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
});

const { template } = synthStack();

const idOf = (type: string, prefix: string) => {
  const ids = Object.keys(resourcesOf(template, type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} ${prefix}*, found ${ids.length}`);
  return ids[0];
};
const tasksTableId = idOf('AWS::DynamoDB::Table', 'TasksTable');
const dynamoStatements = (statements: Statement[]) =>
  statements.filter((s) => asArray(s.Action).some((action) => action.startsWith('dynamodb:')));
const parsedFilters = (mapping: any) => mapping.FilterCriteria.Filters.map((filter: { Pattern: string }) => JSON.parse(filter.Pattern));

/** An SQS queue with server-side encryption and a policy denying plain-HTTP access. */
function expectEncryptedTlsOnlyQueue(t: Template, queueId: string) {
  const queue = resourcesOf(t, 'AWS::SQS::Queue')[queueId].Properties;
  expect(queue.SqsManagedSseEnabled).toBe(true);
  expect(queue.MessageRetentionPeriod).toBe(14 * 24 * 3600);
  const policies = Object.values(resourcesOf(t, 'AWS::SQS::QueuePolicy')).filter((policy) =>
    policy.Properties.Queues.some((queueRef: { Ref?: string }) => queueRef.Ref === queueId),
  );
  const statements = policies.flatMap((policy) => policy.Properties.PolicyDocument.Statement);
  expect(statements).toContainEqual(
    expect.objectContaining({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
  );
}

describe('reconciler', () => {
  const reconciler = functionNamed(template, 'reconciler');
  const dlqId = idOf('AWS::SQS::Queue', 'FnreconcilerDeadLetterQueue');

  // Issue 9 adds a second schedule (the delivery worker): the reconciler's rule is the one that targets it.
  const ruleOf = (functionId: string) =>
    Object.entries(resourcesOf(template, 'AWS::Events::Rule')).find(([, r]) => r.Properties.Targets.some((t: any) => t.Arn['Fn::GetAtt']?.[0] === functionId))!;

  it('is run every minute by an EventBridge schedule, retried by the next tick only, with a dead-letter queue', () => {
    // The reconciler's, the delivery worker's and the asset worker's.
    expect(Object.values(resourcesOf(template, 'AWS::Events::Rule'))).toHaveLength(3);
    const [ruleId, { Properties: rule }] = ruleOf(reconciler.id);
    expect(rule.ScheduleExpression).toBe('rate(1 minute)');
    expect(rule.State).toBe('ENABLED');
    expect(rule.Targets).toEqual([
      {
        Id: expect.any(String),
        Arn: { 'Fn::GetAtt': [reconciler.id, 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 0 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlqId, 'Arn'] } },
      },
    ]);
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [reconciler.id, 'Arn'] },
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] },
    });
  });

  // Issue 11: no reserved concurrency by default (AWS refuses any reservation that leaves an account under
  // 100 unreserved executions; new accounts have 10). Overlapping runs are safe: every task write is conditional.
  it('reserves no concurrency by default, 60 s and 256 MB, failed runs to its encrypted TLS-only dead-letter queue without retry', () => {
    expect(reconciler.properties).toMatchObject({ Timeout: 60, MemorySize: 256 });
    expect(reconciler.properties.ReservedConcurrentExecutions).toBeUndefined();
    expect(reconciler.properties.DeadLetterConfig).toEqual({ TargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] } });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: reconciler.id },
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 300,
    });
    expectEncryptedTlsOnlyQueue(template, dlqId);
  });

  it('gets the table names, upstream settings and lifecycle defaults, and no callback URL', () => {
    const variables = reconciler.properties.Environment.Variables;
    expect(variables).toMatchObject({
      [ENV.tasksTable]: { Ref: tasksTableId },
      [ENV.upstreamBaseUrl]: 'https://upstream.invalid',
      [ENV.upstreamTimeoutMs]: '10000',
      [ENV.reconcileAfterSeconds]: '300',
      [ENV.taskDeadlineSeconds]: '7200',
      [ENV.reconcileMaxTasks]: '100',
      [ENV.taskRetentionDays]: '90',
    });
    expect(variables[ENV.upstreamSecretId]).toBeDefined();
    expect(variables[ENV.callbackBaseUrl]).toBeUndefined();
  });

  it('may Query the open-task index only (its ARN, not index/*), and GetItem/UpdateItem tasks', () => {
    const statements = statementsOfFunction(template, 'reconciler');
    expect(dynamoStatements(statements)).toEqual([
      {
        Effect: 'Allow',
        Action: 'dynamodb:Query',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [tasksTableId, 'Arn'] }, `/index/${OPEN_TASKS_INDEX}`]] },
      },
      { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], Resource: { 'Fn::GetAtt': [tasksTableId, 'Arn'] } },
    ]);
    expect(actionsOf(statements).filter((action) => action.startsWith('secretsmanager:'))).toEqual(['secretsmanager:GetSecretValue']);
  });

  it('passes extend and create the deadline and retention they stamp on each task', () => {
    for (const name of ['extend', 'create']) {
      expect(functionNamed(template, name).properties.Environment.Variables).toMatchObject({
        [ENV.taskDeadlineSeconds]: '7200',
        [ENV.taskRetentionDays]: '90',
        [ENV.reconcileAfterSeconds]: '300',
      });
    }
  });

  it('runs one at a time when context reconcilerReservedConcurrency is 1', () => {
    const reserved = synthStack({ context: { reconcilerReservedConcurrency: 1 } }).template;
    expect(functionNamed(reserved, 'reconciler').properties.ReservedConcurrentExecutions).toBe(1);
  });

  it('raises an alarm when its runs fail', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: reconciler.id } }],
      TreatMissingData: 'notBreaching',
    });
  });
});

describe('task-changes', () => {
  const consumer = functionNamed(template, 'task-changes');
  const mappings = Object.entries(resourcesOf(template, 'AWS::Lambda::EventSourceMapping'));
  const [mappingId, mappingResource] = mappings[0];
  const mapping = mappingResource.Properties;
  const queueId = idOf('AWS::SQS::Queue', 'TaskChangesSubscriptionDeadLetterQueue');

  it('is subscribed to the task stream by one event source mapping', () => {
    expect(mappings).toHaveLength(1);
    expect(mapping.FunctionName).toEqual({ Ref: consumer.id });
    expect(mapping.EventSourceArn).toEqual({ 'Fn::GetAtt': [tasksTableId, 'StreamArn'] });
    expect(mapping.StartingPosition).toBe('TRIM_HORIZON');
  });

  it('receives only status changes of tasks with a notify_hook (the patterns of task-events.ts)', () => {
    expect(parsedFilters(mapping)).toEqual(statusChangePatterns({ withNotifyHook: false }));
  });

  it('retries bounded, bisects, reports item failures, and sends what fails to an SQS queue', () => {
    expect(mapping).toMatchObject(defaultFailureHandling(queueId));
  });

  it('has an encrypted, TLS-only on-failure queue, watched by an alarm', () => {
    expectEncryptedTlsOnlyQueue(template, queueId);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('is created after its grants (Lambda checks them when the mapping is created)', () => {
    expect(asArray(template.toJSON().Resources[mappingId].DependsOn)).toContainEqual(expect.stringMatching(/^FntaskchangesRoleDefaultPolicy/));
  });

  // Issue 9: it writes a durable message per status change (and its first attempt's outcome) and keeps the endpoints.
  // Issue 12: its usage reaction counts each final state in one transaction (the marker PutItem, the counters' UpdateItem).
  it('may read the stream and send to its queue, read clients, keep endpoints, write messages, deliveries and usage, nothing else', () => {
    const statements = statementsOfFunction(template, 'task-changes');
    const tableArn = (prefix: string) => ({ 'Fn::GetAtt': [idOf('AWS::DynamoDB::Table', prefix), 'Arn'] });
    expect(dynamoStatements(statements)).toEqual([
      { Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: tableArn('ClientsTable') },
      { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], Resource: tableArn('EndpointsTable') },
      { Effect: 'Allow', Action: ['dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'], Resource: tableArn('MessagesTable') },
      { Effect: 'Allow', Action: 'dynamodb:PutItem', Resource: tableArn('DeliveriesTable') },
      // Issue 10: the task read once a completed notification is written waiting; the asset job written once.
      { Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: tableArn('TasksTable') },
      { Effect: 'Allow', Action: 'dynamodb:PutItem', Resource: tableArn('AssetJobsTable') },
      { Effect: 'Allow', Action: ['dynamodb:PutItem', 'dynamodb:UpdateItem'], Resource: tableArn('UsageTable') },
      {
        Effect: 'Allow',
        Action: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams'],
        Resource: { 'Fn::GetAtt': [tasksTableId, 'StreamArn'] },
      },
    ]);
    expect(statements).toContainEqual(
      expect.objectContaining({ Action: expect.arrayContaining(['sqs:SendMessage']), Resource: { 'Fn::GetAtt': [queueId, 'Arn'] } }),
    );
    expect(JSON.stringify(statements)).not.toContain('secretsmanager');
    // It starts the asset worker (that one function only) and never touches the stored media.
    expect(statements).toContainEqual({ Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': [functionNamed(template, 'asset-worker').id, 'Arn'] } });
    expect(JSON.stringify(statements)).not.toContain('s3:');
  });

  it('runs 60 s at 256 MB outside any VPC (it calls client hooks on the internet), with the tables and retention', () => {
    expect(consumer.properties).toMatchObject({ Timeout: 60, MemorySize: 256 });
    expect(consumer.properties.VpcConfig).toBeUndefined();
    const variables = consumer.properties.Environment.Variables;
    expect(variables).toMatchObject({
      [ENV.tasksTable]: { Ref: tasksTableId },
      [ENV.clientsTable]: { Ref: idOf('AWS::DynamoDB::Table', 'ClientsTable') },
      [ENV.deliveriesTable]: { Ref: idOf('AWS::DynamoDB::Table', 'DeliveriesTable') },
      [ENV.taskRetentionDays]: '90',
    });
    expect(variables[ENV.upstreamBaseUrl]).toBeUndefined();
    expect(variables[ENV.allowLoopbackHooks]).toBeUndefined();
  });
});

describe('delivery worker', () => {
  const worker = functionNamed(template, 'delivery-worker');
  const dlqId = idOf('AWS::SQS::Queue', 'FndeliveryworkerDeadLetterQueue');

  it('is run every minute by its own EventBridge schedule, failed runs to its dead-letter queue without retry', () => {
    const [, rule] = Object.entries(resourcesOf(template, 'AWS::Events::Rule')).find(([, r]) => r.Properties.Targets[0].Arn['Fn::GetAtt'][0] === worker.id)!;
    expect(rule.Properties.ScheduleExpression).toBe('rate(1 minute)');
    expect(rule.Properties.Targets[0]).toMatchObject({ RetryPolicy: { MaximumRetryAttempts: 0 }, DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlqId, 'Arn'] } } });
    expect(worker.properties).toMatchObject({ Timeout: 60, MemorySize: 256 });
    expect(worker.properties.ReservedConcurrentExecutions).toBeUndefined();
    expectEncryptedTlsOnlyQueue(template, dlqId);
  });

  it('follows context deliveryWorkerIntervalMinutes', () => {
    const every5 = synthStack({ context: { deliveryWorkerIntervalMinutes: 5 } }).template;
    const id = functionNamed(every5, 'delivery-worker').id;
    const [, rule] = Object.entries(resourcesOf(every5, 'AWS::Events::Rule')).find(([, r]) => r.Properties.Targets[0].Arn['Fn::GetAtt'][0] === id)!;
    expect(rule.Properties.ScheduleExpression).toBe('rate(5 minutes)');
  });

  it('may Query the due-message index (its ARN only), and claim, settle and record deliveries; no stream, no secret', () => {
    const statements = statementsOfFunction(template, 'delivery-worker');
    const messagesId = idOf('AWS::DynamoDB::Table', 'MessagesTable');
    const tableArn = (prefix: string) => ({ 'Fn::GetAtt': [idOf('AWS::DynamoDB::Table', prefix), 'Arn'] });
    expect(dynamoStatements(statements)).toEqual([
      { Effect: 'Allow', Action: 'dynamodb:Query', Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [messagesId, 'Arn'] }, `/index/${DUE_MESSAGES_INDEX}`]] } },
      { Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: tableArn('ClientsTable') },
      { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], Resource: tableArn('EndpointsTable') },
      { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'], Resource: tableArn('MessagesTable') },
      { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem'], Resource: tableArn('DeliveriesTable') },
    ]);
    expect(JSON.stringify(statements)).not.toContain('secretsmanager');
    expect(JSON.stringify(statements)).not.toContain('GetRecords');
  });

  it('gets the retry schedule, the disabling threshold, the secret overlap and the attempt timeout, with their defaults', () => {
    expect(worker.properties.Environment.Variables).toMatchObject({
      [ENV.webhookRetrySchedule]: '0,60,300,1800,7200,18000,36000,36000',
      [ENV.webhookDisableAfterSeconds]: '432000',
      [ENV.webhookSecretOverlapSeconds]: '86400',
      [ENV.notifyTimeoutMs]: '5000',
      [ENV.messagesTable]: { Ref: idOf('AWS::DynamoDB::Table', 'MessagesTable') },
    });
    const custom = synthStack({ context: { webhookRetrySchedule: '0,10,20', webhookDisableAfterSeconds: 3600 } }).template;
    expect(functionNamed(custom, 'delivery-worker').properties.Environment.Variables).toMatchObject({ [ENV.webhookRetrySchedule]: '0,10,20', [ENV.webhookDisableAfterSeconds]: '3600' });
    expect(functionNamed(custom, 'task-changes').properties.Environment.Variables).toMatchObject({ [ENV.webhookRetrySchedule]: '0,10,20', [ENV.notifyFirstAttemptTimeoutMs]: '2000' });
  });
});

describe('TaskEventsSubscription in another team\'s stack', () => {
  const STREAM_ARN = 'arn:aws:dynamodb:eu-west-1:123456789012:table/LumaGateway-prod-Tasks/stream/2026-01-01T00:00:00.000';

  function otherTeamStack() {
    const stack = new Stack(new App(), 'OtherTeam', { env: { account: '123456789012', region: 'eu-west-1' } });
    const table = dynamodb.Table.fromTableAttributes(stack, 'LumaTasks', { tableName: 'LumaGateway-prod-Tasks', tableStreamArn: STREAM_ARN });
    const handler = new lambda.Function(stack, 'OnTaskChange', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({ batchItemFailures: [] })'),
    });
    return { stack, table, handler };
  }

  it('maps status changes (without the notify_hook condition) with the documented defaults', () => {
    const { stack, table, handler } = otherTeamStack();
    const subscription = new TaskEventsSubscription(stack, 'TaskEvents', { table, handler });
    const t = Template.fromStack(stack);
    const [queueId] = Object.keys(resourcesOf(t, 'AWS::SQS::Queue'));
    const [mapping] = Object.values(resourcesOf(t, 'AWS::Lambda::EventSourceMapping')).map((r) => r.Properties);

    expect(parsedFilters(mapping)).toEqual(statusChangePatterns({ withNotifyHook: false }));
    expect(mapping).toMatchObject({
      EventSourceArn: STREAM_ARN,
      StartingPosition: 'TRIM_HORIZON',
      ...defaultFailureHandling(queueId),
    });
    expect(mapping.MaximumBatchingWindowInSeconds).toBeUndefined();
    expectEncryptedTlsOnlyQueue(t, queueId);
    expect(subscription.deadLetterQueue).toBeInstanceOf(sqs.Queue);
    expect(subscription.eventSourceMapping).toBeInstanceOf(lambda.EventSourceMapping);

    const statements = Object.values(resourcesOf(t, 'AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams'],
      Resource: STREAM_ARN,
    });
    expect(statements).toContainEqual(
      expect.objectContaining({ Action: expect.arrayContaining(['sqs:SendMessage']), Resource: { 'Fn::GetAtt': [queueId, 'Arn'] } }),
    );
    expect(JSON.stringify(statements)).not.toMatch(/"Resource":"\*"/);
  });

  it('takes a bare stream ARN, its own queue, custom filters and tuning', () => {
    const { stack, handler } = otherTeamStack();
    const queue = new sqs.Queue(stack, 'Existing', { enforceSSL: true });
    const pattern = { eventName: ['INSERT'] };
    const subscription = new TaskEventsSubscription(stack, 'TaskEvents', {
      tableStreamArn: STREAM_ARN,
      handler,
      onFailure: queue,
      filterPatterns: [pattern],
      batchSize: 50,
      maxBatchingWindow: Duration.seconds(5),
      retryAttempts: 1,
      parallelizationFactor: 2,
      startingPosition: lambda.StartingPosition.LATEST,
    });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::SQS::Queue', 1);
    const [mapping] = Object.values(resourcesOf(t, 'AWS::Lambda::EventSourceMapping')).map((r) => r.Properties);
    expect(parsedFilters(mapping)).toEqual([pattern]);
    expect(mapping).toMatchObject({
      EventSourceArn: STREAM_ARN,
      BatchSize: 50,
      MaximumBatchingWindowInSeconds: 5,
      MaximumRetryAttempts: 1,
      ParallelizationFactor: 2,
      StartingPosition: 'LATEST',
    });
    expect(subscription.deadLetterQueue).toBe(queue);
  });

  it('delivers every record when statusChangesOnly is false', () => {
    const { stack, table, handler } = otherTeamStack();
    new TaskEventsSubscription(stack, 'TaskEvents', { table, handler, statusChangesOnly: false });
    const [mapping] = Object.values(resourcesOf(Template.fromStack(stack), 'AWS::Lambda::EventSourceMapping')).map((r) => r.Properties);
    expect(mapping.FilterCriteria).toBeUndefined();
  });

  it('refuses a table without a stream, no source at all, or an empty filter list', () => {
    const { stack, handler } = otherTeamStack();
    const noStream = dynamodb.Table.fromTableName(stack, 'NoStream', 'plain');
    expect(() => new TaskEventsSubscription(stack, 'A', { table: noStream, handler })).toThrow(/no stream ARN/);
    expect(() => new TaskEventsSubscription(stack, 'B', { handler })).toThrow(/tableStreamArn/);
    expect(() => new TaskEventsSubscription(stack, 'C', { tableStreamArn: STREAM_ARN, handler, filterPatterns: [] })).toThrow(/empty/);
  });
});
