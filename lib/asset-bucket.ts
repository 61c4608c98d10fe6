import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ASSET_KEY_PREFIX } from '../functions/domain/assets';

export interface AssetBucketProps {
  /** Days a stored medium is kept: the task retention (taskRetentionDays), so a task's media live as long as the task. */
  readonly retentionDays: number;
  /** As the tables: the bucket is retained on update or delete when the stage protects its data. */
  readonly retain: boolean;
}

/**
 * The gateway's own storage of completed tasks' media (issue 10): private
 * (every public access blocked, objects owned by the bucket's account, no
 * ACLs), encrypted at rest with S3-managed keys (SSE-S3: the objects are
 * only ever read through presigned URLs signed by the gateway's own roles,
 * which a KMS key would not make more private, while SSE-KMS would add a
 * KMS request to every upload part and download), TLS only, and expired by
 * a lifecycle rule after the task retention (multipart uploads left
 * incomplete by a failed copy after one day). Its name is generated.
 */
export class AssetBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: AssetBucketProps) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      lifecycleRules: [
        {
          id: 'expire-with-the-task',
          prefix: ASSET_KEY_PREFIX,
          expiration: Duration.days(props.retentionDays),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      // A stage that protects its data keeps its media on update or delete; another removes the bucket with the stack
      // (empty it first: docs/operations.md).
      removalPolicy: props.retain ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE : RemovalPolicy.DESTROY,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'No server access logs: every object is written by the asset worker (its logs name each task and medium) and read only ' +
        'through presigned URLs the gateway hands to the task owner; CloudTrail data events can be enabled per account where an audit needs them.',
    });
  }

  /** The objects of the stored media (never the bucket itself, never another prefix). */
  get objectsArn(): string {
    return this.bucket.arnForObjects(`${ASSET_KEY_PREFIX}*`);
  }

  /** Writes (PutObject, which also authorises the multipart calls) and the abort of a failed multipart upload. */
  grantWrite(role: iam.Role): void {
    this.grant(role, ['s3:PutObject', 's3:AbortMultipartUpload']);
  }

  /** GetObject: what a presigned URL signed by this role may fetch. */
  grantRead(role: iam.Role): void {
    this.grant(role, ['s3:GetObject']);
  }

  private grant(role: iam.Role, actions: string[]): void {
    role.addToPolicy(new iam.PolicyStatement({ actions, resources: [this.objectsArn] }));
    const logicalId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket);
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/${ASSET_KEY_PREFIX}*]`,
      reason: "The stored media's objects, one per task and medium, under their fixed prefix: the keys are the tasks' ids, unknown in advance.",
    });
  }
}
