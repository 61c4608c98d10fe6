/**
 * The asset bucket (issue 10) and who may touch it: private, encrypted, TLS
 * only, its objects expired with the task retention; only the asset worker
 * writes, only the functions that hand out links read, nobody else has any
 * S3 permission, and no wildcard action.
 */
import { functionNames } from '../../functions/background';
import { settingsReadBy } from '../../functions/settings';
import { allStatements, asArray, functionNamed, resourcesOf, statementsOfFunction, synthStack } from './helpers';

const { template } = synthStack();
const [bucketId, bucket] = Object.entries(resourcesOf(template, 'AWS::S3::Bucket'))[0];
const objects = { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/tasks/*']] };
const s3Statements = (name: string) => statementsOfFunction(template, name).filter((s) => asArray(s.Action).some((a: string) => a.startsWith('s3:')));

test('one bucket: every public access blocked, owner-enforced, SSE-S3, expired after the task retention, incomplete uploads aborted', () => {
  expect(Object.keys(resourcesOf(template, 'AWS::S3::Bucket'))).toHaveLength(1);
  expect(bucket.Properties).toMatchObject({
    PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
    LifecycleConfiguration: { Rules: [{ Status: 'Enabled', Prefix: 'tasks/', ExpirationInDays: 90, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }] },
  });
  expect(bucket.Properties.BucketName).toBeUndefined();
  // dev: removed with the stack, as its tables are.
  expect(bucket.DeletionPolicy).toBe('Delete');
});

test('its policy refuses every request that is not TLS', () => {
  const [policy] = Object.values(resourcesOf(template, 'AWS::S3::BucketPolicy'));
  expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
    expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
  );
});

test('the expiry follows taskRetentionDays, and a protected stage retains the bucket', () => {
  const prod = synthStack({ context: { stage: 'prod', taskRetentionDays: 30 } }).template;
  const [, prodBucket] = Object.entries(resourcesOf(prod, 'AWS::S3::Bucket'))[0];
  expect(prodBucket.Properties.LifecycleConfiguration.Rules[0].ExpirationInDays).toBe(30);
  expect(prodBucket.DeletionPolicy).toBe('RetainExceptOnCreate');
});

test('only the asset worker writes; only the functions that hand out links read; nobody else, and no wildcard action', () => {
  expect(s3Statements('asset-worker')).toEqual(
    expect.arrayContaining([
      { Effect: 'Allow', Action: ['s3:PutObject', 's3:AbortMultipartUpload'], Resource: objects },
      { Effect: 'Allow', Action: 's3:GetObject', Resource: objects },
    ]),
  );
  const readers = functionNames.filter((name) => settingsReadBy(name).includes('assetBucket')).sort();
  expect(readers).toEqual(['asset-worker', 'batch-get-tasks', 'delivery-worker', 'get-task', 'list-tasks', 'resend-notification']);
  for (const name of functionNames) {
    const actions = s3Statements(name).flatMap((s) => asArray(s.Action));
    const expected = [...(readers.includes(name) ? ['s3:GetObject'] : []), ...(name === 'asset-worker' ? ['s3:PutObject', 's3:AbortMultipartUpload'] : [])];
    expect({ name, actions: actions.sort() }).toEqual({ name, actions: expected.sort() });
    for (const statement of s3Statements(name)) expect(statement.Resource).toEqual(objects);
  }
  const grants = allStatements(template).filter((s) => s.Effect === 'Allow').flatMap((s) => asArray(s.Action));
  expect(grants.filter((action: string) => action.startsWith('s3:') && action.includes('*'))).toEqual([]);
});

test('the functions that presign get the bucket; the task-changes consumer gets the asset worker to start; an output names the bucket', () => {
  expect(functionNamed(template, 'get-task').properties.Environment.Variables.ASSET_BUCKET).toEqual({ Ref: bucketId });
  expect(functionNamed(template, 'task-changes').properties.Environment.Variables).toMatchObject({ ASSET_WORKER_FUNCTION: { Ref: functionNamed(template, 'asset-worker').id } });
  expect(functionNamed(template, 'task-changes').properties.Environment.Variables.ASSET_BUCKET).toBeUndefined();
  expect(template.toJSON().Outputs.AssetBucketName).toMatchObject({ Value: { Ref: bucketId } });
});
