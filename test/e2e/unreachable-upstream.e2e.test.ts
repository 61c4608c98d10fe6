/**
 * End to end with UPSTREAM_BASE_URL pointing at a "real" upstream that is
 * not there: no simulator is started, the key still comes from the local
 * Secrets Manager, the client gets a 503, and the task is kept as failed.
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { freePort, localDynamoClient } from '../../lib/local/dynamodb-local';
import { startLocalStack, type LocalStack } from '../../lib/local/local-stack';
import { tasksWithPrompt, testEndpoint } from '../support/dynamo';
import { checkResponsesFrom } from '../support/api-responses';

let stack: LocalStack;
let doc: DynamoDBDocumentClient;

beforeAll(async () => {
  const closedPort = await freePort(); // nothing listens there
  stack = await startLocalStack({
    env: {},
    port: 0,
    dynamoEndpoint: testEndpoint(),
    tablePrefix: `unr${randomBytes(4).toString('hex')}_`,
    upstreamBaseUrl: `http://127.0.0.1:${closedPort}`,
    upstreamApiKey: 'sk-real-upstream-key-0123456789',
    background: false,
    accessLog: false,
    errorLog: () => undefined,
  });
  checkResponsesFrom(stack.url);
  doc = DynamoDBDocumentClient.from(localDynamoClient(stack.dynamoEndpoint));
});
afterAll(async () => {
  doc?.destroy();
  await stack?.stop();
});

test('a real upstream configured: no simulator', () => {
  expect(stack.upstream).toBeUndefined();
  expect(stack.upstreamUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
});

test('an unreachable upstream: 503, and the task is kept as failed with the reason', async () => {
  const prompt = `unreachable ${randomBytes(4).toString('hex')}`;
  const response = await fetch(`${stack.url}/luma/generations/4665a07c-7641-4809-a133-10786201bb56/extend`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${stack.clientKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ user_prompt: prompt }),
  });
  expect(response.status).toBe(503);
  const body = (await response.json()) as any;
  expect(body).toMatchObject({ code: expect.any(Number), message: expect.stringMatching(/unreachable/), data: null });
  expect(stack.secrets.getSecretValueCalls).toBe(1);

  const Items = await tasksWithPrompt(doc, stack.tableNames.tasks, prompt);

  expect(Items).toHaveLength(1);
  expect(Items[0]).toMatchObject({ task_status: 'failed', failure_reason: expect.stringMatching(/unreachable/) });
});
