/**
 * The local S3 endpoint against the AWS SDK's own S3 client and presigner
 * (what the handlers use), on loopback: it must take what the SDK sends by
 * default (aws-chunked uploads with a trailing CRC32, multipart) and refuse
 * what S3 refuses (no signature, a wrong one, an expired presigned URL, a
 * body that does not match its declarations).
 */
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { request } from 'node:http';
import { startS3Endpoint, type LocalS3Endpoint } from '../../lib/local/s3-endpoint';

const BUCKET = 'local-assets-test';
const CREDENTIALS = { accessKeyId: 'AKLOCALTEST', secretAccessKey: 'local-secret-for-tests' };

let s3: LocalS3Endpoint;
let client: S3Client;

beforeAll(async () => {
  s3 = await startS3Endpoint({ credentials: { [CREDENTIALS.accessKeyId]: CREDENTIALS.secretAccessKey }, buckets: [BUCKET] });
  client = new S3Client({ region: 'us-east-1', endpoint: s3.url, forcePathStyle: true, credentials: CREDENTIALS });
});
afterAll(async () => {
  client?.destroy();
  await s3?.stop();
});

const bytes = (size: number, seed = 1) => Buffer.from(Array.from({ length: size }, (_, i) => (i * 31 + seed) % 251));
const chunks = (data: Buffer, size = 65_536) => Readable.from((function* () { for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size); })());

test('a streamed PutObject (the SDK default: aws-chunked with a trailing CRC32) stores the bytes whole, with their type and disposition', async () => {
  const data = bytes(3 * 1024 * 1024 + 17);
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'tasks/a b/video', Body: chunks(data), ContentLength: data.length, ContentType: 'video/mp4', ContentDisposition: 'inline; filename="video.mp4"' }));
  const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'tasks/a b/video' }));
  expect(head).toMatchObject({ ContentLength: data.length, ContentType: 'video/mp4', ContentDisposition: 'inline; filename="video.mp4"' });
  const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'tasks/a b/video' }));
  expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true);
});

test('a presigned GET downloads the object; a tampered, an unsigned or an expired one is refused as S3 refuses it', async () => {
  const data = bytes(1000, 7);
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'presigned/obj', Body: data, ContentType: 'image/jpeg' }));
  const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: BUCKET, Key: 'presigned/obj' }), { expiresIn: 60 });
  const ok = await fetch(url);
  expect(ok.status).toBe(200);
  expect(ok.headers.get('content-type')).toBe('image/jpeg');
  expect(Buffer.from(await ok.arrayBuffer()).equals(data)).toBe(true);

  const signature = new URL(url).searchParams.get('X-Amz-Signature')!;
  const tampered = url.replace(signature, signature.replace(/^./, (c) => (c === '0' ? '1' : '0')));
  const bad = await fetch(tampered);
  expect(bad.status).toBe(403);
  expect(await bad.text()).toContain('<Code>SignatureDoesNotMatch</Code>');

  const otherKey = await fetch(url.replace('presigned/obj', 'presigned/other'));
  expect(otherKey.status).toBe(403);

  const anonymous = await fetch(`${s3.url}/${BUCKET}/presigned/obj`);
  expect(anonymous.status).toBe(403);
  expect(await anonymous.text()).toContain('<Code>AccessDenied</Code>');

  const shortLived = await getSignedUrl(client, new GetObjectCommand({ Bucket: BUCKET, Key: 'presigned/obj' }), { expiresIn: 1 });
  await new Promise((resolve) => setTimeout(resolve, 2100));
  const expired = await fetch(shortLived);
  expect(expired.status).toBe(403);
  expect(await expired.text()).toContain('Request has expired');
});

test('wrong credentials are refused', async () => {
  const stranger = new S3Client({ region: 'us-east-1', endpoint: s3.url, forcePathStyle: true, credentials: { accessKeyId: CREDENTIALS.accessKeyId, secretAccessKey: 'not-the-secret' } });
  await expect(stranger.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'x', Body: 'x' }))).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
  stranger.destroy();
  expect(await s3.head(BUCKET, 'x')).toBeUndefined();
});

test('a multipart upload becomes one object only when completed, and S3 minimum part size is enforced', async () => {
  const first = bytes(5 * 1024 * 1024, 3);
  const last = bytes(12_345, 4);
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp/video', ContentType: 'video/mp4' }));
  const e1 = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'mp/video', UploadId, PartNumber: 1, Body: first }));
  const e2 = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'mp/video', UploadId, PartNumber: 2, Body: last }));
  expect(await s3.head(BUCKET, 'mp/video')).toBeUndefined();
  await client.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp/video', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: e1.ETag }, { PartNumber: 2, ETag: e2.ETag }] } }));
  expect((await s3.read(BUCKET, 'mp/video'))!.equals(Buffer.concat([first, last]))).toBe(true);
  expect((await s3.head(BUCKET, 'mp/video'))!.contentType).toBe('video/mp4');

  const small = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp/small' }));
  const s1 = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'mp/small', UploadId: small.UploadId, PartNumber: 1, Body: last }));
  const s2 = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'mp/small', UploadId: small.UploadId, PartNumber: 2, Body: last }));
  await expect(
    client.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp/small', UploadId: small.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: s1.ETag }, { PartNumber: 2, ETag: s2.ETag }] } })),
  ).rejects.toMatchObject({ name: 'EntityTooSmall' });
  await client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp/small', UploadId: small.UploadId }));
  expect(await s3.openUploads(BUCKET)).toBe(0);
  expect(await s3.head(BUCKET, 'mp/small')).toBeUndefined();
});

test('an upload cut short leaves no object, and the object before it stays whole', async () => {
  const before = bytes(2000, 9);
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cut/obj', Body: before }));
  // A PUT that declares more than it sends, then closes: S3 keeps the previous object.
  const declared = 1_000_000;
  const signedFor = await getSignedUrl(client, new PutObjectCommand({ Bucket: BUCKET, Key: 'cut/obj' }), { expiresIn: 60 });
  await new Promise<void>((resolve) => {
    const req = request(signedFor, { method: 'PUT', headers: { 'Content-Length': String(declared) } });
    req.on('error', () => resolve());
    req.on('response', (res) => (res.resume(), resolve()));
    req.write(bytes(5000));
    setTimeout(() => req.destroy(), 100);
  });
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect((await s3.read(BUCKET, 'cut/obj'))!.equals(before)).toBe(true);
  const { Contents } = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'cut/' }));
  expect(Contents?.map((c) => c.Key)).toEqual(['cut/obj']);
});

test('a body whose declared checksum does not match is refused, and nothing is stored', async () => {
  const url = await getSignedUrl(client, new PutObjectCommand({ Bucket: BUCKET, Key: 'bad/sum' }), { expiresIn: 60 });
  const response = await fetch(url, { method: 'PUT', body: 'hello', headers: { 'x-amz-checksum-crc32': 'AAAAAA==' } });
  expect(response.status).toBe(400);
  expect(await response.text()).toContain('<Code>BadDigest</Code>');
  expect(await s3.head(BUCKET, 'bad/sum')).toBeUndefined();
});
