import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { alarmNamePrefix } from './monitoring';

export interface AlarmTopicProps {
  readonly stage: string;
  /** Subscribed by e-mail (each address confirms the subscription once). */
  readonly emails?: readonly string[];
  /** An existing standard topic (same account and region) that gets every alarm too. */
  readonly existingTopicArn?: string;
}

/**
 * Where the stack's alarms go: an SNS topic encrypted with a customer
 * managed KMS key (CloudWatch cannot publish to a topic encrypted with the
 * AWS managed key aws/sns, whose policy cannot grant it), TLS-only, whose
 * policy lets only this stack's CloudWatch alarms publish; e-mail
 * subscribers from context; and an existing topic as a second action.
 */
export class AlarmTopic extends Construct {
  readonly topic: sns.Topic;
  readonly key: kms.Key;
  /** Alarm and OK actions: this topic, then the existing one when given. */
  readonly actions: readonly cloudwatch.IAlarmAction[];

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const fromThisAccountsAlarms = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      // This stack's alarms only (lib/monitoring.ts names them).
      ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:${alarmNamePrefix(this)}*` },
    };

    this.key = new kms.Key(this, 'Key', {
      description: `luma-gateway ${props.stage}: encrypts the alarm topic`,
      enableKeyRotation: true,
      // Encrypts notifications in flight only: nothing to keep once the stack is gone.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublishToTheEncryptedTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        // In a key policy, * is this key.
        resources: ['*'],
        conditions: fromThisAccountsAlarms,
      }),
    );

    this.topic = new sns.Topic(this, 'Topic', {
      displayName: `luma-gateway ${props.stage} alarms`,
      masterKey: this.key,
      enforceSSL: true,
    });
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: fromThisAccountsAlarms,
      }),
    );

    for (const email of props.emails ?? []) {
      const subscription = this.topic.addSubscription(new subscriptions.EmailSubscription(email));
      Validations.of(subscription).acknowledge({
        id: 'Serverless-SNSRedrivePolicy',
        reason:
          'An alarm e-mail that cannot be delivered loses no information: the alarm\'s state and history stay in CloudWatch ' +
          '(console, dashboard), and a dead-letter queue for it could only alarm to this same topic.',
      });
    }

    this.actions = [
      new SnsAction(this.topic),
      ...(props.existingTopicArn ? [new SnsAction(sns.Topic.fromTopicArn(this, 'ExistingTopic', props.existingTopicArn))] : []),
    ];
  }
}
