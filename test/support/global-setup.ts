/** Starts one DynamoDB Local for the whole test run; each test file makes its own tables. */
import { startDynamoDbLocal } from '../../lib/local/dynamodb-local';

export default async function globalSetup(): Promise<void> {
  // Tests never reach AWS: fixed local credentials, loopback endpoints only.
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
  // Node 20 here; Lambda runs nodejs24.x. The SDK's notice about Node 22 is noise in test output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  if (process.env.DYNAMODB_ENDPOINT) {
    process.env.TEST_DYNAMODB_ENDPOINT = process.env.DYNAMODB_ENDPOINT;
    return;
  }
  const dynamo = await startDynamoDbLocal();
  process.env.TEST_DYNAMODB_ENDPOINT = dynamo.endpoint;
  (globalThis as { __dynamo?: typeof dynamo }).__dynamo = dynamo;
}
