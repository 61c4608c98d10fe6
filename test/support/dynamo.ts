/** Per-file DynamoDB Local tables, isolated by a random prefix. */
import { randomBytes } from 'node:crypto';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { createTaskStore } from '#adapters/dynamodb/task-store';
import type { TaskStore } from '#domain/ports';
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

/**
 * This test file's tables and the task store on them: created before its
 * tests, dropped after (read them inside tests and hooks: they are set in beforeAll).
 */
export function useTaskStoreTables(): { readonly tables: TestTables; readonly store: TaskStore } {
  const context = {} as { tables: TestTables; store: TaskStore };
  beforeAll(async () => {
    context.tables = await createTestTables();
    context.store = createTaskStore({ client: context.tables.doc, tasksTable: context.tables.names.tasks, idempotencyTable: context.tables.names.idempotency });
  });
  afterAll(() => context.tables?.destroy());
  return context;
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
