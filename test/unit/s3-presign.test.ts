/**
 * The gateway's presigned URLs (functions/adapters/s3-presign.ts) are the
 * ones the AWS SDK's own presigner makes, to the character, for the
 * deployed (virtual-hosted) and the local (path-style) endpoint, with and
 * without a session token; and one of them downloads from the local S3
 * endpoint, which checks the signature.
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createPresigner } from '#adapters/s3-presign';
import { startS3Endpoint } from '../../lib/local/s3-endpoint';

const AT = new Date('2026-12-01T10:11:12Z');
const KEYS = ['tasks/6f1c2a8e-2b7d-4c3e-9a51-0d2f4e6b8c10/video', 'tasks/x/last_frame', "odd key/with spaces+plus&amp!'()*~"];

// Without the two flexible-checksum parameters the SDK's client adds by default (x-amz-checksum-mode=ENABLED,
// asking S3 for the object's checksum for the SDK to verify, and the CRC32 of the empty request body): a
// browser or an HTTP library downloading a link verifies neither.
const SDK = { responseChecksumValidation: 'WHEN_REQUIRED', requestChecksumCalculation: 'WHEN_REQUIRED' } as const;

const sameUrl = (ours: string, sdk: string) => {
  const [a, b] = [new URL(ours), new URL(sdk)];
  expect(`${a.origin}${a.pathname}`).toBe(`${b.origin}${b.pathname}`);
  expect([...a.searchParams.entries()].sort()).toEqual([...b.searchParams.entries()].sort());
};

describe.each([
  { name: 'long-term keys', credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret/with+chars' } },
  { name: 'a role session (Lambda)', credentials: { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'session-secret', sessionToken: 'IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH+token=' } },
])('with $name', ({ credentials }) => {
  test.each(['us-east-1', 'eu-west-1'])('the deployed endpoint in %s: the SDK presigner URL', async (region) => {
    const client = new S3Client({ ...SDK, region, credentials });
    const ours = createPresigner({ bucket: 'lumagateway-dev-assetbucket-1a2b3c4d5e6f', region, lifetimeSeconds: 3600, credentials, now: () => AT });
    for (const key of KEYS) {
      const sdk = await getSignedUrl(client, new GetObjectCommand({ Bucket: 'lumagateway-dev-assetbucket-1a2b3c4d5e6f', Key: key }), { expiresIn: 3600, signingDate: AT });
      sameUrl(await ours.url(key), sdk);
    }
    client.destroy();
  });

  test('a local S3-compatible endpoint, path-style', async () => {
    const client = new S3Client({ ...SDK, region: 'us-east-1', credentials, endpoint: 'http://127.0.0.1:4566', forcePathStyle: true });
    const ours = createPresigner({ bucket: 'local-assets', region: 'us-east-1', lifetimeSeconds: 60, credentials, endpoint: 'http://127.0.0.1:4566', now: () => AT });
    for (const key of KEYS) {
      const sdk = await getSignedUrl(client, new GetObjectCommand({ Bucket: 'local-assets', Key: key }), { expiresIn: 60, signingDate: AT });
      sameUrl(await ours.url(key), sdk);
    }
    client.destroy();
  });
});

test('a URL it signs downloads from the local S3 endpoint (which checks the signature); another identity\'s does not', async () => {
  const credentials = { accessKeyId: 'AKLOCAL', secretAccessKey: 'local-secret' };
  const s3 = await startS3Endpoint({ credentials: { [credentials.accessKeyId]: credentials.secretAccessKey }, buckets: ['local-assets'] });
  const client = new S3Client({ region: 'us-east-1', credentials, endpoint: s3.url, forcePathStyle: true });
  try {
    await client.send(new PutObjectCommand({ Bucket: 'local-assets', Key: KEYS[2], Body: 'the bytes', ContentType: 'video/mp4' }));
    const url = await createPresigner({ bucket: 'local-assets', region: 'us-east-1', lifetimeSeconds: 60, credentials, endpoint: s3.url }).url(KEYS[2]);
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('the bytes');
    const forged = await createPresigner({ bucket: 'local-assets', region: 'us-east-1', lifetimeSeconds: 60, credentials: { ...credentials, secretAccessKey: 'guess' }, endpoint: s3.url }).url(KEYS[2]);
    expect((await fetch(forged)).status).toBe(403);
  } finally {
    client.destroy();
    await s3.stop();
  }
});
