/**
 * Subscribes a Lambda function to luma-gateway task events (the task
 * table's DynamoDB stream). Public: other teams' stacks use it, so it
 * imports nothing from this project but the event patterns.
 */
import { Annotations, Duration, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { statusChangePatterns, type FilterPattern } from '../functions/domain/task-events';

/** Filters on one event source mapping (Lambda's default quota). */
const MAX_FILTERS = 5;

export interface TaskEventsSubscriptionProps {
  /**
   * The task table, with its stream (NEW_AND_OLD_IMAGES). An imported table
   * works if it is imported with its `tableStreamArn`. Give this or
   * `tableStreamArn`.
   */
  readonly table?: dynamodb.ITable;
  /** The task table's stream ARN (the stack's `TasksTableStreamArn` output), when no table object is at hand. */
  readonly tableStreamArn?: string;
  /** The function receiving the records (a DynamoDBStreamEvent). */
  readonly handler: lambda.IFunction;
  /**
   * Deliver only records where a task's status changed (statusChangePatterns),
   * not every write. Ignored when `filterPatterns` is given.
   * @default true
   */
  readonly statusChangesOnly?: boolean;
  /**
   * Lambda event filter patterns, replacing the default ones (at most 5).
   * @default statusChangePatterns({ withNotifyHook: false }) when statusChangesOnly, else none (every record)
   */
  readonly filterPatterns?: readonly FilterPattern[];
  /**
   * Where records go once retries are exhausted or they are too old: Lambda
   * sends the batch's stream coordinates (not the records) there.
   * @default a new SQS queue: SSE, TLS only, 14 days retention
   */
  readonly onFailure?: sqs.IQueue;
  /** @default 10 */
  readonly batchSize?: number;
  /** @default none: a batch is invoked as soon as records are there */
  readonly maxBatchingWindow?: Duration;
  /** Retries of a failed batch (or of the failed part, with reportBatchItemFailures). @default 3 */
  readonly retryAttempts?: number;
  /** Records older than this are given up and sent to `onFailure`. @default 1 hour */
  readonly maxRecordAge?: Duration;
  /** Split a failing batch in two to isolate a bad record. @default true */
  readonly bisectBatchOnError?: boolean;
  /** The handler returns `{ batchItemFailures }`: only failed records are retried. @default true */
  readonly reportBatchItemFailures?: boolean;
  /**
   * Concurrent batches per shard. Above 1, records of one task can be
   * processed out of order. @default 1
   */
  readonly parallelizationFactor?: number;
  /** @default TRIM_HORIZON (the oldest record still in the stream, 24 h) */
  readonly startingPosition?: lambda.StartingPosition;
}

/**
 * A Lambda event source mapping on the task stream, with event filtering,
 * bounded retries, batch bisection, partial batch responses and an SQS
 * on-failure destination; plus the grants it needs: stream read on the
 * stream only (DescribeStream, GetRecords, GetShardIterator, ListStreams:
 * no `Resource: *`) and SendMessage on the queue, applied before the mapping
 * is created (Lambda checks them then).
 *
 * @example
 * import { Stack, type StackProps } from 'aws-cdk-lib';
 * import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
 * import * as lambda from 'aws-cdk-lib/aws-lambda';
 * import { Construct } from 'constructs';
 * import { TaskEventsSubscription } from './task-events-subscription';
 *
 * export class BillingStack extends Stack {
 *   constructor(scope: Construct, id: string, props?: StackProps) {
 *     super(scope, id, props);
 *     // From the luma-gateway stack outputs TasksTableName and TasksTableStreamArn.
 *     const tasks = dynamodb.Table.fromTableAttributes(this, 'LumaTasks', {
 *       tableName: 'LumaGateway-prod-TasksTable1234',
 *       tableStreamArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/LumaGateway-prod-TasksTable1234/stream/2026-01-01T00:00:00.000',
 *     });
 *     const onTaskChange = new lambda.Function(this, 'OnTaskChange', {
 *       runtime: lambda.Runtime.NODEJS_22_X,
 *       handler: 'index.handler',
 *       code: lambda.Code.fromAsset('dist/on-task-change'),
 *     });
 *     // Every status change of every task; failed batches end up in .deadLetterQueue.
 *     const subscription = new TaskEventsSubscription(this, 'TaskEvents', { table: tasks, handler: onTaskChange });
 *     subscription.deadLetterQueue.metricApproximateNumberOfMessagesVisible();
 *   }
 * }
 */
export class TaskEventsSubscription extends Construct {
  readonly eventSourceMapping: lambda.EventSourceMapping;
  /** Where failed records' coordinates go: `onFailure`, or the queue created here. */
  readonly deadLetterQueue: sqs.IQueue;
  /** The filter patterns on the mapping (empty: every record). */
  readonly filterPatterns: readonly FilterPattern[];

  constructor(scope: Construct, id: string, props: TaskEventsSubscriptionProps) {
    super(scope, id);
    const streamArn = props.tableStreamArn ?? props.table?.tableStreamArn;
    if (!streamArn) {
      throw new Error(
        props.table
          ? `TaskEventsSubscription ${this.node.path}: table ${props.table.node.path} has no stream ARN; import it with tableStreamArn, or pass tableStreamArn`
          : `TaskEventsSubscription ${this.node.path}: give the task table (with its stream) or its tableStreamArn`,
      );
    }

    this.filterPatterns = props.filterPatterns ?? ((props.statusChangesOnly ?? true) ? statusChangePatterns({ withNotifyHook: false }) : []);
    if (props.filterPatterns?.length === 0) {
      throw new Error(`TaskEventsSubscription ${this.node.path}: filterPatterns is empty; omit it and set statusChangesOnly: false for every record`);
    }
    if (this.filterPatterns.length > MAX_FILTERS) {
      Annotations.of(this).addWarningV2(
        'luma-gateway:taskEventsFilterQuota',
        `${this.filterPatterns.length} filter patterns: Lambda allows ${MAX_FILTERS} per event source mapping unless the quota was raised`,
      );
    }

    if (props.onFailure) {
      this.deadLetterQueue = props.onFailure;
    } else {
      const queue = new sqs.Queue(this, 'DeadLetterQueue', {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      const reason = 'This queue is itself the on-failure destination of the task event subscription: nothing redrives from it.';
      Validations.of(queue).acknowledge({ id: 'AwsSolutions-SQS3', reason }, { id: 'Serverless-SQSRedrivePolicy', reason });
      this.deadLetterQueue = queue;
    }

    // Lambda checks both at creation of the mapping: the grants must be in place first.
    const grants = [
      iam.Grant.addToPrincipal({
        grantee: props.handler,
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams'],
        resourceArns: [streamArn],
      }),
      this.deadLetterQueue.grantSendMessages(props.handler),
    ];
    // A table encrypted with a customer managed key: its stream records too.
    const encryptionKey = props.table?.encryptionKey;
    if (encryptionKey) grants.push(encryptionKey.grantDecrypt(props.handler));

    this.eventSourceMapping = new lambda.EventSourceMapping(this, 'Mapping', {
      target: props.handler,
      eventSourceArn: streamArn,
      startingPosition: props.startingPosition ?? lambda.StartingPosition.TRIM_HORIZON,
      batchSize: props.batchSize ?? 10,
      maxBatchingWindow: props.maxBatchingWindow,
      retryAttempts: props.retryAttempts ?? 3,
      maxRecordAge: props.maxRecordAge ?? Duration.hours(1),
      bisectBatchOnError: props.bisectBatchOnError ?? true,
      reportBatchItemFailures: props.reportBatchItemFailures ?? true,
      parallelizationFactor: props.parallelizationFactor ?? 1,
      onFailure: new SqsDlq(this.deadLetterQueue),
      filters: this.filterPatterns.length > 0 ? this.filterPatterns.map((pattern) => lambda.FilterCriteria.filter(pattern)) : undefined,
    });
    for (const grant of grants) grant.applyBefore(this.eventSourceMapping);
  }
}
