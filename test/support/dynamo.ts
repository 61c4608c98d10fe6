/** Per-file DynamoDB Local tables, isolated by a random prefix. */
import { randomBytes } from 'node:crypto';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
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

/** Every task item with this prompt (a test marks its requests with a unique prompt). */
export async function tasksWithPrompt(doc: DynamoDBDocumentClient, tasksTable: string, prompt: string): Promise<Record<string, any>[]> {
  const items: Record<string, any>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({
        TableName: tasksTable,
        ConsistentRead: true,
        FilterExpression: '#p = :p',
        ExpressionAttributeNames: { '#p': 'prompt' },
        ExpressionAttributeValues: { ':p': prompt },
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}
