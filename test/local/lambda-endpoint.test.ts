/**
 * The local Lambda endpoint (lib/local/lambda-endpoint.ts) as the SDK's
 * Lambda client reaches it: an asynchronous invocation is answered 202 at
 * once and run afterwards; a function the stack does not run is Lambda's
 * ResourceNotFoundException; a synchronous invocation is refused.
 */
import { InvokeCommand, LambdaClient, ResourceNotFoundException } from '@aws-sdk/client-lambda';
import { createAssetCopyStarter } from '#adapters/asset-worker-invoke';
import { startLambdaEndpoint, type LocalLambdaEndpoint } from '../../lib/local/lambda-endpoint';

let endpoint: LocalLambdaEndpoint;
let client: LambdaClient;
const runs: { name: string; event: unknown }[] = [];
let release: () => void = () => {};
const errors: string[] = [];

beforeAll(async () => {
  endpoint = await startLambdaEndpoint({
    functions: ['asset-worker', 'broken'],
    invoke: async (name, event) => {
      if (name === 'broken') throw new Error('boom');
      await new Promise<void>((resolve) => (release = resolve));
      runs.push({ name, event });
    },
    onError: (line) => errors.push(line),
  });
  client = new LambdaClient({ region: 'us-east-1', endpoint: endpoint.url, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
});
afterAll(async () => {
  client.destroy();
  await endpoint.stop();
});

test('an asynchronous invocation is accepted (202) before the function runs, then runs with its event', async () => {
  await createAssetCopyStarter('asset-worker', client)('task-1');
  expect(runs).toEqual([]);
  expect(endpoint.accepted).toMatchObject({ 'asset-worker': 1 });
  release();
  await endpoint.idle();
  expect(runs).toEqual([{ name: 'asset-worker', event: { task_id: 'task-1' } }]);
});

test('an unknown function is not found; a synchronous invocation is refused; a failing run is reported', async () => {
  await expect(createAssetCopyStarter('nobody', client)('t')).rejects.toBeInstanceOf(ResourceNotFoundException);
  await expect(client.send(new InvokeCommand({ FunctionName: 'asset-worker', Payload: Buffer.from('{}') }))).rejects.toThrow(/asynchronous invocations only/);
  await createAssetCopyStarter('broken', client)('t');
  await endpoint.idle();
  expect(errors).toEqual(['broken (asynchronous invocation) failed: boom']);
});
