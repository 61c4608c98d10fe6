/** Per-file DynamoDB Local tables, isolated by a random prefix. */
import { randomBytes } from 'node:crypto';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createTables, localDynamoClient, tableNames, type TableNames } from '../../lib/local/dynamodb-local';

export interface TestTables {
  readonly endpoint: string;
  readonly names: TableNames;
  readonly doc: DynamoDBDocumentClient;
  destroy(): void;
}

export function testEndpoint(): string {
  const endpoint = process.env.TEST_DYNAMODB_ENDPOINT;
  if (!endpoint) throw new Error('TEST_DYNAMODB_ENDPOINT is not set: run the tests through jest (global setup starts DynamoDB Local)');
  return endpoint;
}

export async function createTestTables(): Promise<TestTables> {
  const endpoint = testEndpoint();
  const raw = localDynamoClient(endpoint);
  const names = tableNames(`t${randomBytes(4).toString('hex')}_`);
  await createTables(raw, names);
  const doc = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  return { endpoint, names, doc, destroy: () => raw.destroy() };
}
