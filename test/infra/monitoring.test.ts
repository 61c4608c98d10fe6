/**
 * What tells a person the stack hurts: the alarms (one per concern, each
 * with its threshold, its runbook, and the alarm topic as its action), the
 * encrypted alarm topic and its subscribers from context, and the dashboard.
 * Bundling is skipped: only the template matters.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import { TABLES, tableRoles } from '../../functions/tables';
import { dimensionSetsOf, GATEWAY_METRICS, GATEWAY_METRICS_NAMESPACE, type GatewayMetricName } from '../../lib/gateway-metrics';
import { LOG_EVENT_METRICS, notificationSenders, RUNBOOKS, THRESHOLDS } from '../../lib/monitoring';
import { functionNamed, resourcesOf, synthStack } from './helpers';

const EMAILS = ['oncall@example.com', 'lead@example.com'];
const EXISTING_TOPIC = 'arn:aws:sns:eu-west-1:123456789012:pager';

const dev = synthStack();
const { stack, template } = dev;
const functionNames = [...stack.functions.keys()];

type AlarmProperties = Record<string, any>;
function alarmsOf(t: Template): Record<string, AlarmProperties> {
  return Object.fromEntries(
    Object.values(resourcesOf(t, 'AWS::CloudWatch::Alarm')).map((alarm) => [String(alarm.Properties.AlarmName).replace(/^LumaGateway-[^-]+-/, ''), alarm.Properties]),
  );
}
const alarms = alarmsOf(template);
const topicId = Object.keys(resourcesOf(template, 'AWS::SNS::Topic'))[0];
const idOf = (type: string, prefix: string) => Object.keys(resourcesOf(template, type)).find((id) => id.startsWith(prefix))!;
/** The single metric of an alarm, or the metric math's metrics by id. */
const metricsOf = (alarm: AlarmProperties): Record<string, any> =>
  Object.fromEntries((alarm.Metrics ?? []).filter((m: any) => m.MetricStat).map((m: any) => [m.Id, m.MetricStat.Metric]));

describe('alarms', () => {
  it('one per concern: API, each function, the schedule, the stream, the queues, each table, the gateway metrics', () => {
    const expected = [
      'Api5xxRate',
      'ApiLatencyP99',
      ...functionNames.flatMap((name) => [`Errors-${name}`, `Throttles-${name}`]),
      'NotRunning-reconciler',
      'DeadLetterQueue-reconciler',
      'NotRunning-delivery-worker',
      'DeadLetterQueue-delivery-worker',
      'NotRunning-asset-worker',
      'DeadLetterQueue-asset-worker',
      'IteratorAge-task-changes',
      'FailureQueue-task-changes',
      ...tableRoles.map((role) => `DynamoDBThrottles-${role}`),
      'TasksFailedPastDeadline',
      'TasksFailedUnconfirmed',
      // Tasks stuck open past their deadline (issue 11's "tasks stuck open"), from the reconciler's gauge.
      'OpenTasksPastDeadline',
      'UpstreamErrorRate',
      'NotificationsExhausted',
      'EndpointsDisabled',
      // Issue 10: completed tasks whose media could not be stored.
      'AssetCopiesFailed',
    ];
    expect(Object.keys(alarms).sort()).toEqual(expected.sort());
    // docs/operations.md counts them for a default stage.
    expect(expected).toHaveLength(59);
  });

  it('are named after the stack, and each notifies the alarm topic when it fires and when it recovers', () => {
    for (const alarm of Object.values(resourcesOf(template, 'AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmName).toMatch(/^LumaGateway-dev-/);
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: topicId }]);
      expect(alarm.DeletionPolicy).toBeUndefined();
    }
  });

  it('each names its runbook, and docs/operations.md has a section for every runbook', () => {
    const operations = readFileSync(join(__dirname, '..', '..', 'docs', 'operations.md'), 'utf8');
    for (const runbook of RUNBOOKS) expect(operations).toMatch(new RegExp(`^### ${runbook}$`, 'm'));
    for (const alarm of Object.values(alarms)) {
      const [, runbook] = /Runbook: docs\/operations\.md#([a-z0-9-]+)$/.exec(alarm.AlarmDescription) ?? [];
      expect(RUNBOOKS).toContain(runbook);
    }
    for (const key of ['Api5xxRate', 'ApiLatencyP99', 'TasksFailedPastDeadline', 'TasksFailedUnconfirmed', 'OpenTasksPastDeadline', 'UpstreamErrorRate', 'NotificationsExhausted', 'EndpointsDisabled', 'AssetCopiesFailed']) {
      expect(operations).toContain(`| \`${key}\` |`);
    }
  });

  it('API 5xx rate: above 5% for 2 periods of 5 minutes, only with 20 requests or more', () => {
    const alarm = alarms.Api5xxRate;
    expect(alarm).toMatchObject({ Threshold: THRESHOLDS.api5xxPercent, EvaluationPeriods: 2, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
    expect(alarm.Metrics.find((m: any) => m.Expression).Expression).toBe('IF(api_requests >= 20, 100 * FILL(api_errors, 0) / api_requests, 0)');
    const metrics = metricsOf(alarm);
    expect(metrics.api_requests).toMatchObject({ Namespace: 'AWS/ApiGateway', MetricName: 'Count' });
    expect(metrics.api_errors).toMatchObject({ Namespace: 'AWS/ApiGateway', MetricName: '5XXError' });
    expect(metrics.api_errors.Dimensions).toEqual(
      expect.arrayContaining([
        { Name: 'ApiName', Value: 'luma-gateway-dev' },
        { Name: 'Stage', Value: expect.anything() },
      ]),
    );
  });

  it('API p99 latency: 8 s for 3 periods', () => {
    expect(alarms.ApiLatencyP99).toMatchObject({
      Namespace: 'AWS/ApiGateway',
      MetricName: 'Latency',
      ExtendedStatistic: 'p99',
      Period: 300,
      Threshold: 8000,
      EvaluationPeriods: 3,
    });
  });

  it.each(['extend', 'authorizer', 'callback', 'task-changes'])('%s: errors (3 in 5 min) and throttles (2 periods in a row)', (name) => {
    const fn = { Name: 'FunctionName', Value: { Ref: functionNamed(template, name).id } };
    expect(alarms[`Errors-${name}`]).toMatchObject({ Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: [fn], Statistic: 'Sum', Period: 300, Threshold: 3 });
    expect(alarms[`Throttles-${name}`]).toMatchObject({ Namespace: 'AWS/Lambda', MetricName: 'Throttles', Dimensions: [fn], Threshold: 1, EvaluationPeriods: 2 });
  });

  it('the reconciler: 2 failed runs in 5 minutes; not a single run in 10 minutes (missing data breaches)', () => {
    const fn = { Name: 'FunctionName', Value: { Ref: functionNamed(template, 'reconciler').id } };
    expect(alarms['Errors-reconciler']).toMatchObject({ MetricName: 'Errors', Dimensions: [fn], Period: 300, Threshold: 2 });
    expect(alarms['NotRunning-reconciler']).toMatchObject({
      MetricName: 'Invocations',
      Dimensions: [fn],
      Period: 600,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
  });

  it('follows the reconciler interval: a run every 30 minutes is missed after an hour', () => {
    const slow = alarmsOf(synthStack({ context: { reconcileIntervalMinutes: 30 } }).template);
    expect(slow['NotRunning-reconciler']).toMatchObject({ Period: 3600 });
    expect(slow['Errors-reconciler']).toMatchObject({ Period: 3600, Threshold: 2 });
  });

  it("the task-changes consumer's stream: iterator age over 10 minutes (1/6 of its 1 h record age) twice; its failure queue non-empty", () => {
    expect(alarms['IteratorAge-task-changes']).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'IteratorAge',
      Statistic: 'Maximum',
      Threshold: 600_000,
      EvaluationPeriods: 2,
    });
    expect(alarms['FailureQueue-task-changes']).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [idOf('AWS::SQS::Queue', 'TaskChangesSubscriptionDeadLetterQueue'), 'QueueName'] } }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(alarms['DeadLetterQueue-reconciler']).toMatchObject({
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [idOf('AWS::SQS::Queue', 'FnreconcilerDeadLetterQueue'), 'QueueName'] } }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it.each(tableRoles)('DynamoDB throttling of the %s table, its indexes included, 2 periods in a row', (role) => {
    const alarm = alarms[`DynamoDBThrottles-${role}`];
    expect(alarm).toMatchObject({ Threshold: 1, EvaluationPeriods: 2 });
    const metrics = Object.values(metricsOf(alarm));
    const indexes = TABLES[role].globalSecondaryIndexes.map((index) => index.indexName);
    expect(metrics).toHaveLength(2 * (1 + indexes.length));
    const tableId = idOf('AWS::DynamoDB::Table', `${TABLES[role].id}Table`);
    for (const metric of metrics) {
      expect(metric.Namespace).toBe('AWS/DynamoDB');
      expect(['ReadThrottleEvents', 'WriteThrottleEvents']).toContain(metric.MetricName);
      expect(metric.Dimensions).toContainEqual({ Name: 'TableName', Value: { Ref: tableId } });
    }
    for (const indexName of indexes) {
      expect(metrics.filter((m) => m.Dimensions.some((d: any) => d.Name === 'GlobalSecondaryIndexName' && d.Value === indexName))).toHaveLength(2);
    }
  });

  it("the gateway's own metrics: namespace LumaGateway, dimensions service and stage, quiet without data", () => {
    const dimensions = [
      { Name: 'service', Value: 'luma-gateway' },
      { Name: 'stage', Value: 'dev' },
    ];
    expect(alarms.TasksFailedPastDeadline).toMatchObject({ Namespace: GATEWAY_METRICS_NAMESPACE, MetricName: 'TasksFailedPastDeadline', Period: 3600, Threshold: 3 });
    expect(alarms.TasksFailedUnconfirmed).toMatchObject({ Namespace: GATEWAY_METRICS_NAMESPACE, MetricName: 'TasksFailedUnconfirmed', Period: 3600, Threshold: 1 });
    for (const key of ['TasksFailedPastDeadline', 'TasksFailedUnconfirmed']) {
      expect(alarms[key].Dimensions).toEqual(dimensions);
      expect(alarms[key].TreatMissingData).toBe('notBreaching');
    }
    const rate = alarms.UpstreamErrorRate;
    expect(rate).toMatchObject({ Threshold: 20, EvaluationPeriods: 2, TreatMissingData: 'notBreaching' });
    const metrics = metricsOf(rate);
    expect(metrics.upstream_requests).toEqual({ Namespace: 'LumaGateway', MetricName: 'UpstreamRequests', Dimensions: dimensions });
    expect(metrics.upstream_errors).toEqual({ Namespace: 'LumaGateway', MetricName: 'UpstreamErrors', Dimensions: dimensions });
    // Every metric the stack reads is in the contract the functions emit from.
    for (const name of ['TasksFailedPastDeadline', 'TasksFailedUnconfirmed', 'UpstreamRequests', 'UpstreamErrors']) expect(GATEWAY_METRICS).toHaveProperty(name);
  });

  it('open tasks past their deadline: the reconciler saw at least one it could not fail, in 3 periods in a row', () => {
    expect(alarms.OpenTasksPastDeadline).toMatchObject({
      Namespace: GATEWAY_METRICS_NAMESPACE,
      MetricName: 'OpenTasksPastDeadline',
      Statistic: 'Maximum',
      Period: 300,
      Threshold: 1,
      EvaluationPeriods: 3,
      TreatMissingData: 'notBreaching',
    });
  });

  it('every gateway metric an alarm reads is in the contract, under a dimension set the functions emit it with', () => {
    const read = Object.values(alarms).flatMap((alarm) => [
      ...(alarm.Namespace === GATEWAY_METRICS_NAMESPACE ? [{ MetricName: alarm.MetricName, Dimensions: alarm.Dimensions }] : []),
      ...Object.values(metricsOf(alarm)).filter((metric: any) => metric.Namespace === GATEWAY_METRICS_NAMESPACE),
    ]);
    expect(read.length).toBeGreaterThanOrEqual(5);
    for (const metric of read) {
      expect(Object.keys(GATEWAY_METRICS)).toContain(metric.MetricName);
      const emitted = dimensionSetsOf(metric.MetricName as GatewayMetricName).map((set) => [...set].sort().join(','));
      expect(emitted).toContain(metric.Dimensions.map((d: { Name: string }) => d.Name).sort().join(','));
    }
  });

  it('notifications exhausted and endpoints disabled: counted from the senders\' log lines, any in an hour', () => {
    const filters = Object.values(resourcesOf(template, 'AWS::Logs::MetricFilter')).map((f) => f.Properties);
    const senders = notificationSenders(functionNames);
    // The asset worker sends the first attempt of a completed notification once the task's media are stored.
    expect(senders.sort()).toEqual(['asset-worker', 'delivery-worker', 'resend-notification', 'task-changes']);
    expect(filters).toHaveLength(senders.length * 2);
    for (const [metricName, message] of Object.entries(LOG_EVENT_METRICS)) {
      for (const name of senders) {
        expect(filters).toContainEqual({
          LogGroupName: { Ref: idOf('AWS::Logs::LogGroup', `Fn${name.replace(/-/g, '')}LogGroup`) },
          FilterPattern: `{ $.message = "${message}" }`,
          MetricTransformations: [{ MetricNamespace: 'LumaGateway/LogEvents/dev', MetricName: metricName, MetricValue: '1' }],
        });
      }
      expect(alarms[metricName]).toMatchObject({
        Namespace: 'LumaGateway/LogEvents/dev',
        MetricName: metricName,
        Statistic: 'Sum',
        Period: 3600,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it('the delivery worker: 2 failed runs in 5 minutes; not a single run in 10 minutes', () => {
    const fn = { Name: 'FunctionName', Value: { Ref: functionNamed(template, 'delivery-worker').id } };
    expect(alarms['Errors-delivery-worker']).toMatchObject({ MetricName: 'Errors', Dimensions: [fn], Period: 300, Threshold: 2 });
    expect(alarms['NotRunning-delivery-worker']).toMatchObject({ MetricName: 'Invocations', Dimensions: [fn], Period: 600, TreatMissingData: 'breaching' });
  });

  it('the gateway metrics carry the stage', () => {
    const prod = alarmsOf(synthStack({ context: { stage: 'prod' } }).template);
    expect(prod.TasksFailedPastDeadline.Dimensions).toContainEqual({ Name: 'stage', Value: 'prod' });
  });
});

describe('alarm topic', () => {
  const keyId = Object.keys(resourcesOf(template, 'AWS::KMS::Key'))[0];

  it('is encrypted with its own rotating KMS key, which CloudWatch alarms of this stack may use', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] }, DisplayName: 'luma-gateway dev alarms' });
    const key = resourcesOf(template, 'AWS::KMS::Key')[keyId];
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.DeletionPolicy).toBe('Delete');
    const grant = key.Properties.KeyPolicy.Statement.find((s: any) => s.Principal?.Service === 'cloudwatch.amazonaws.com');
    expect(grant).toMatchObject({ Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] });
    expect(grant.Condition.StringEquals).toEqual({ 'aws:SourceAccount': { Ref: 'AWS::AccountId' } });
    expect(JSON.stringify(grant.Condition.ArnLike)).toContain(':alarm:LumaGateway-dev-*');
  });

  it('has a policy: TLS only, and publish by this stack’s alarms only', () => {
    const statements = Object.values(resourcesOf(template, 'AWS::SNS::TopicPolicy')).flatMap((policy) => policy.Properties.PolicyDocument.Statement);
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
    const publish = statements.find((s: any) => s.Principal?.Service === 'cloudwatch.amazonaws.com');
    expect(publish).toMatchObject({ Effect: 'Allow', Action: 'sns:Publish', Resource: { Ref: topicId } });
    expect(JSON.stringify(publish.Condition.ArnLike)).toContain(':alarm:LumaGateway-dev-*');
  });

  it('has no subscriber by default, and the synth says so', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('alarmEmails'));
  });

  describe('with subscribers from context', () => {
    const subscribed = synthStack({ context: { alarmEmails: EMAILS.join(','), alarmTopicArn: EXISTING_TOPIC } });

    it('subscribes each e-mail address', () => {
      const subscriptions = Object.values(resourcesOf(subscribed.template, 'AWS::SNS::Subscription')).map((s) => s.Properties);
      expect(subscriptions.map((s) => [s.Protocol, s.Endpoint]).sort()).toEqual(EMAILS.map((email) => ['email', email]).sort());
      for (const subscription of subscriptions) expect(subscription.TopicArn.Ref).toMatch(/^AlarmTopic/);
      Annotations.fromStack(subscribed.stack).hasNoWarning('*', Match.stringLikeRegexp('alarmEmails'));
    });

    it('sends every alarm to the existing topic as well', () => {
      const ownTopic = Object.keys(resourcesOf(subscribed.template, 'AWS::SNS::Topic'))[0];
      for (const alarm of Object.values(resourcesOf(subscribed.template, 'AWS::CloudWatch::Alarm'))) {
        expect(alarm.Properties.AlarmActions).toEqual([{ Ref: ownTopic }, EXISTING_TOPIC]);
        expect(alarm.Properties.OKActions).toEqual([{ Ref: ownTopic }, EXISTING_TOPIC]);
      }
    });

    it('takes the addresses from cdk.json as a list too', () => {
      const listed = synthStack({ context: { alarmEmails: EMAILS } });
      listed.template.resourceCountIs('AWS::SNS::Subscription', 2);
    });

    it('refuses what is not an e-mail address or a standard topic ARN', () => {
      expect(() => synthStack({ context: { alarmEmails: 'oncall' } })).toThrow(/alarmEmails/);
      expect(() => synthStack({ context: { alarmTopicArn: 'pager' } })).toThrow(/alarmTopicArn/);
      expect(() => synthStack({ context: { alarmTopicArn: `${EXISTING_TOPIC}.fifo` } })).toThrow(/alarmTopicArn/);
    });
  });

  it('is an output', () => {
    expect(template.findOutputs('AlarmTopicArn').AlarmTopicArn.Value).toEqual({ Ref: topicId });
  });
});

describe('dashboard', () => {
  const [dashboardId, dashboard] = Object.entries(resourcesOf(template, 'AWS::CloudWatch::Dashboard'))[0];
  const body = JSON.stringify(dashboard.Properties.DashboardBody);

  it('is one per stage and region, named after the stack, an output', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    expect(JSON.stringify(dashboard.Properties.DashboardName)).toContain('LumaGateway-dev-');
    expect(JSON.stringify(dashboard.Properties.DashboardName)).toContain('AWS::Region');
    expect(template.findOutputs('DashboardName').DashboardName.Value).toEqual({ Ref: dashboardId });
  });

  it('shows every alarm', () => {
    for (const alarmId of Object.keys(resourcesOf(template, 'AWS::CloudWatch::Alarm'))) expect(body).toContain(`"${alarmId}","Arn"`);
  });

  it('graphs what the alarms watch: API, functions, stream, queues, tables, gateway metrics', () => {
    for (const title of [
      'API requests and errors',
      'API 5xx rate (%)',
      'API latency (ms)',
      'Tasks',
      'Upstream requests and error rate (%)',
      'Lambda errors',
      'Lambda throttles',
      'Lambda duration p99 (ms)',
      'Stream consumers: iterator age (ms)',
      'Failure queues (messages)',
      'DynamoDB throttle events',
    ]) {
      expect(body).toContain(`\\"title\\":\\"${title}\\"`);
    }
    for (const name of functionNames) expect(body).toContain(`\\"label\\":\\"${name}\\"`);
    for (const role of tableRoles) expect(body).toContain(`${role} throttle events`);
    for (const metric of ['TasksSubmitted', 'TasksCompleted', 'UpstreamLatency', 'NotificationsDelivered', 'AssetCopiesStored', 'AssetCopiesFailed']) expect(body).toContain(`\\"${metric}\\"`);
  });

  it('has no tags (AWS::CloudWatch::Dashboard takes none in its CloudFormation schema)', () => {
    expect(dashboard.Properties.Tags).toBeUndefined();
    // Everything else carries the stage's tags.
    expect(resourcesOf(template, 'AWS::SNS::Topic')[topicId].Properties.Tags).toContainEqual({ Key: 'stage', Value: 'dev' });
  });
});
