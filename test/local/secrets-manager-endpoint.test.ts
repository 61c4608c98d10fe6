/**
 * The local Secrets Manager endpoint, through the real SDK client configured
 * only by AWS_ENDPOINT_URL_SECRETS_MANAGER (as the handlers are).
 */
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { createSecretCache } from '#adapters/secret-cache';
import { startSecretsManagerEndpoint, type LocalSecretsEndpoint } from '../../lib/local/secrets-manager-endpoint';

let endpoint: LocalSecretsEndpoint;
let client: SecretsManagerClient;
const saved = process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;

beforeAll(async () => {
  endpoint = await startSecretsManagerEndpoint({ secrets: { 'luma/upstream': 'sk-first' } });
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = endpoint.url;
  // No endpoint in code: the SDK must find it in the environment.
  client = new SecretsManagerClient({});
});
afterAll(async () => {
  client.destroy();
  await endpoint.stop();
  if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
  else process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = saved;
});
beforeEach(() => endpoint.resetCounters());

test('GetSecretValue answers in the AWS JSON 1.1 shape, by name or by ARN', async () => {
  const byName = await client.send(new GetSecretValueCommand({ SecretId: 'luma/upstream' }));
  expect(byName).toMatchObject({ Name: 'luma/upstream', SecretString: 'sk-first', VersionStages: ['AWSCURRENT'] });
  expect(byName.ARN).toMatch(/^arn:aws:secretsmanager:us-east-1:000000000000:secret:luma\/upstream-[\w-]{6}$/);
  expect(byName.VersionId).toMatch(/^[0-9a-f-]{36}$/);
  expect(byName.CreatedDate).toBeInstanceOf(Date);
  expect(Math.abs(byName.CreatedDate!.getTime() - Date.now())).toBeLessThan(60_000);

  const byArn = await client.send(new GetSecretValueCommand({ SecretId: byName.ARN }));
  expect(byArn.SecretString).toBe('sk-first');
  expect(endpoint.getSecretValueCalls).toBe(2);
});

test('an unknown secret is a ResourceNotFoundException (HTTP 400) the SDK recognises', async () => {
  const failure = await client.send(new GetSecretValueCommand({ SecretId: 'nope' })).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(ResourceNotFoundException);
  expect((failure as ResourceNotFoundException).$metadata.httpStatusCode).toBe(400);
  expect(endpoint.getSecretValueCalls).toBe(1);
});

test('the raw wire format is what the protocol specifies', async () => {
  const response = await fetch(endpoint.url, {
    method: 'POST',
    headers: { 'X-Amz-Target': 'secretsmanager.GetSecretValue', 'Content-Type': 'application/x-amz-json-1.1' },
    body: JSON.stringify({ SecretId: 'missing' }),
  });
  expect(response.status).toBe(400);
  expect(response.headers.get('content-type')).toBe('application/x-amz-json-1.1');
  expect(await response.json() as any).toEqual({ __type: 'ResourceNotFoundException', message: expect.any(String) });

  const unknown = await fetch(endpoint.url, { method: 'POST', headers: { 'X-Amz-Target': 'secretsmanager.DeleteEverything' }, body: '{}' });
  expect(unknown.status).toBe(400);
  expect((await unknown.json() as any).__type).toBe('UnknownOperationException');
});

test('PutSecretValue rotates the value; the previous one stays readable as AWSPREVIOUS', async () => {
  const put = await client.send(new PutSecretValueCommand({ SecretId: 'luma/upstream', SecretString: 'sk-second' }));
  expect(put.VersionStages).toEqual(['AWSCURRENT']);
  const current = await client.send(new GetSecretValueCommand({ SecretId: 'luma/upstream' }));
  expect(current.SecretString).toBe('sk-second');
  expect(current.VersionId).toBe(put.VersionId);
  const previous = await client.send(new GetSecretValueCommand({ SecretId: 'luma/upstream', VersionStage: 'AWSPREVIOUS' }));
  expect(previous.SecretString).toBe('sk-first');
  expect(endpoint.putSecretValueCalls).toBe(1);
  endpoint.putSecretValue('luma/upstream', 'sk-first');
});

test("the domain's secret cache reads through it once per TTL", async () => {
  const cache = createSecretCache({ client, secretId: 'luma/upstream', ttlMs: 60_000 });
  const keys = await Promise.all(Array.from({ length: 20 }, () => cache.get()));
  expect(new Set(keys)).toEqual(new Set(['sk-first']));
  expect(endpoint.getSecretValueCalls).toBe(1);
  endpoint.putSecretValue('luma/upstream', 'sk-rotated');
  expect(await cache.get()).toBe('sk-first');
  expect(await cache.refresh()).toBe('sk-rotated');
  expect(endpoint.getSecretValueCalls).toBe(2);
  endpoint.putSecretValue('luma/upstream', 'sk-first');
});
