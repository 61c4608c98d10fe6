/**
 * What the README promises of error logs (its "Logs" section), held on a
 * real handler with the real logger, its lines read as Lambda reads them:
 *
 * - a defect (an error nobody expected) is logged at ERROR with its stack,
 *   paths relative to the project, never an absolute path of the machine;
 * - an expected failure (DynamoDB unreachable: a 503) is logged at WARN with
 *   its reason and its cause, the domain error itself without a stack;
 * - the client's answer holds neither, only the envelope.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { loggedError, relativeStack } from '#adapters/log-errors';
import { storeUnavailable } from '#domain/errors';
import { apiEvent, lambdaContext } from '../bench/events';

const REPO = join(__dirname, '..', '..');
const envBefore = { ...process.env };
let handler: (event: unknown, context: unknown) => Promise<APIGatewayProxyResult>;

beforeAll(async () => {
  // A DynamoDB nobody listens on (connection refused at once), and no tasks table configured yet.
  Object.assign(process.env, { AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9', AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', POWERTOOLS_LOG_LEVEL: 'INFO' });
  delete process.env.TASKS_TABLE;
  handler = (await import('../../functions/get-task/handler')).handler as never;
});
afterAll(() => {
  for (const name of Object.keys(process.env)) if (!(name in envBefore)) delete process.env[name];
  Object.assign(process.env, envBefore);
});

/** Runs the handler and returns its answer and the JSON lines it wrote (stdout and stderr, as Lambda keeps both). */
async function invoke(): Promise<{ answer: APIGatewayProxyResult; lines: Record<string, any>[] }> {
  const written: string[] = [];
  const writes = [process.stdout.write, process.stderr.write];
  for (const stream of [process.stdout, process.stderr]) {
    stream.write = ((chunk: string | Uint8Array) => (written.push(String(chunk)), true)) as typeof stream.write;
  }
  try {
    const event = apiEvent({ method: 'GET', resource: '/luma/generations/{task_id}', pathParameters: { task_id: randomUUID() }, clientId: 'c1' });
    const answer = await handler(event, lambdaContext('get-task', 256, 10_000));
    const lines = written.join('').split('\n').filter((line) => line.startsWith('{"level"')).map((line) => JSON.parse(line));
    return { answer, lines };
  } finally {
    [process.stdout.write, process.stderr.write] = writes;
  }
}

describe('error logs', () => {
  it('a defect: ERROR with its stack, relative to the project; the client sees only the 500 envelope', async () => {
    const { answer, lines } = await invoke();
    expect(answer.statusCode).toBe(500);
    expect(JSON.parse(answer.body)).toMatchObject({ code: 50000, data: null });
    expect(answer.body).not.toMatch(/\bat |\.ts:\d|stack/);

    const line = lines.find((l) => l.message === 'unhandled error');
    expect(line).toMatchObject({ level: 'ERROR', error: { name: 'Error', message: expect.stringContaining('TASKS_TABLE') } });
    expect(line!.error.stack).toMatch(/\n\s+at .*\(functions\/tables\.ts:\d+:\d+\)/);
    expect(JSON.stringify(line)).not.toContain(REPO);
    expect(JSON.stringify(line)).not.toContain('file://');
  });

  it('an expected failure: WARN with its reason and cause; the domain error carries no stack', async () => {
    Object.assign(process.env, { TASKS_TABLE: 'tasks', IDEMPOTENCY_TABLE: 'idempotency', USAGE_TABLE: 'usage' });
    const { answer, lines } = await invoke();
    expect(answer.statusCode).toBe(503);
    const line = lines.find((l) => l.message === 'request failed');
    expect(line).toMatchObject({ level: 'WARN', status: 503, reason: 'the task store is unavailable; retry in a few seconds' });
    expect(line!.cause).toMatchObject({ name: expect.any(String), message: expect.any(String) });
    expect(JSON.stringify(line)).not.toContain(REPO);
    expect(lines.some((l) => l.level === 'ERROR')).toBe(false);
  });
});

describe('loggedError', () => {
  it('keeps a domain error to its name, kind and message, and its cause', () => {
    const cause = new Error('socket hang up');
    const logged = loggedError(Object.assign(storeUnavailable(), { cause }));
    expect(logged).toMatchObject({ name: 'DomainError', kind: 'unavailable', message: 'the task store is unavailable; retry in a few seconds', cause: { message: 'socket hang up' } });
    expect(logged).not.toHaveProperty('stack');
  });

  it('keeps the AWS SDK fields an operator looks up, and the code', () => {
    const error = Object.assign(new Error('Throughput exceeds the current capacity'), {
      name: 'ProvisionedThroughputExceededException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400, requestId: 'R1', attempts: 3 },
    });
    expect(loggedError(error)).toMatchObject({ name: 'ProvisionedThroughputExceededException', fault: 'client', http_status: 400, aws_request_id: 'R1', attempts: 3 });
  });

  it('makes every path of a stack relative: project files, dependencies, the bundle; node internals as they are', () => {
    const stack = [
      'Error: boom',
      '    at submit (file:///var/task/functions/domain/submit-generation.ts:233:11)',
      `    at ${REPO}/node_modules/@middy/core/index.js:12:3`,
      '    at run (/var/task/index.mjs:1:2345)',
      '    at async Promise.all (index 0)',
      '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
      '    at front (/home/someone/luma/lib/local/http-front.ts:10:2)',
    ].join('\n');
    expect(relativeStack(stack).split('\n')).toEqual([
      'Error: boom',
      '    at submit (functions/domain/submit-generation.ts:233:11)',
      '    at node_modules/@middy/core/index.js:12:3',
      '    at run (index.mjs:1:2345)',
      '    at async Promise.all (index 0)',
      '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
      '    at front (lib/local/http-front.ts:10:2)',
    ]);
  });
});
