/**
 * The asset worker's start (functions/adapters/asset-worker-invoke.ts, a
 * signed Invoke request without the Lambda client) against the local
 * Lambda endpoint (lib/local/lambda-endpoint.ts), which checks Signature
 * Version 4 as Lambda does: the SDK's own Lambda client and the gateway's
 * request both pass, a wrong secret does not; an asynchronous invocation
 * is answered 202 at once and run afterwards; an unknown function is
 * ResourceNotFoundException; a synchronous invocation is refused.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { createAssetCopyStarter } from '#adapters/asset-worker-invoke';
import { startLambdaEndpoint, type LocalLambdaEndpoint } from '../../lib/local/lambda-endpoint';

const CREDENTIALS = { accessKeyId: 'AKLAMBDA', secretAccessKey: 'lambda-secret/+x' };
const SESSION = { accessKeyId: 'ASIALAMBDA', secretAccessKey: 'session-secret', sessionToken: 'IQoJb3JpZ2luX2VjEJr//token=' };

let endpoint: LocalLambdaEndpoint;
let sdk: LambdaClient;
const runs: { name: string; event: unknown }[] = [];
/** While set, runs wait for it (to see that the answer came first). */
let gate: Promise<void> | undefined;
const errors: string[] = [];
const start = (functionName: string, credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } = CREDENTIALS) =>
  createAssetCopyStarter({ functionName, region: 'us-east-1', endpoint: endpoint.url, credentials });

beforeAll(async () => {
  endpoint = await startLambdaEndpoint({
    functions: ['asset-worker', 'broken'],
    credentials: { [CREDENTIALS.accessKeyId]: CREDENTIALS.secretAccessKey, [SESSION.accessKeyId]: SESSION.secretAccessKey },
    invoke: async (name, event) => {
      if (name === 'broken') throw new Error('boom');
      await gate;
      runs.push({ name, event });
    },
    onError: (line) => errors.push(line),
  });
  sdk = new LambdaClient({ region: 'us-east-1', endpoint: endpoint.url, credentials: CREDENTIALS, maxAttempts: 1 });
});
afterAll(async () => {
  sdk.destroy();
  await endpoint.stop();
});

test('an asynchronous invocation is accepted (202) before the function runs, then runs with its event', async () => {
  let open!: () => void;
  gate = new Promise<void>((resolve) => (open = resolve));
  await start('asset-worker')('task-1');
  expect(runs).toEqual([]);
  expect(endpoint.accepted).toMatchObject({ 'asset-worker': 1 });
  open();
  gate = undefined;
  await endpoint.idle();
  expect(runs).toEqual([{ name: 'asset-worker', event: { task_id: 'task-1' } }]);
});

test("the signature is checked: the SDK's client and the gateway's request (with a session token too) pass, a wrong secret does not", async () => {
  const sent = sdk.send(new InvokeCommand({ FunctionName: 'asset-worker', InvocationType: 'Event', Payload: Buffer.from('{"task_id":"sdk"}') }));
  expect((await sent).StatusCode).toBe(202);
  const withSession = start('asset-worker', SESSION)('task-2');
  await withSession;
  await expect(start('asset-worker', { ...CREDENTIALS, secretAccessKey: 'wrong' })('task-3')).rejects.toThrow('Lambda answered HTTP 403');
  await expect(start('asset-worker', { accessKeyId: 'AKNOBODY', secretAccessKey: 'x' })('task-4')).rejects.toThrow('Lambda answered HTTP 403');
  await endpoint.idle();
  expect(runs.map((run) => run.event)).toEqual(expect.arrayContaining([{ task_id: 'sdk' }, { task_id: 'task-2' }]));
  expect(runs.map((run) => run.event)).not.toContainEqual({ task_id: 'task-3' });
});

test('an unknown function is not found; a synchronous invocation is refused; a failing run is reported', async () => {
  await expect(start('nobody')('t')).rejects.toThrow('Lambda answered HTTP 404');
  await expect(sdk.send(new InvokeCommand({ FunctionName: 'asset-worker', Payload: Buffer.from('{}') }))).rejects.toThrow(/asynchronous invocations only/);
  await start('broken')('t');
  await endpoint.idle();
  expect(errors).toEqual(['broken (asynchronous invocation) failed: boom']);
});
