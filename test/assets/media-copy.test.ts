/**
 * The copy of one medium (functions/adapters/media-copy.ts and
 * s3-objects.ts) from a real media host on loopback into the local S3
 * endpoint (which checks signatures and lengths, and stores objects whole):
 * streamed whole or in parts, the size cap (declared or streamed), the type
 * check, the address checks on the link and its redirects, and what a
 * failure leaves (nothing) and says (retry or not).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { createMediaCopier } from '#adapters/media-copy';
import { createObjectWriter, MIN_PART_BYTES } from '#adapters/s3-objects';
import type { MediaCopyRequest } from '#domain/ports';
import { mediumBytes, videoSize, videoStream } from '../../lib/local/media';
import { startS3Endpoint, type LocalS3Endpoint } from '../../lib/local/s3-endpoint';
import { startMediaServer, type MediaServer } from '../support/media-server';

const BUCKET = 'copy-test-assets';
const CREDENTIALS = { accessKeyId: 'AKCOPY', secretAccessKey: 'copy-secret' };
const LOCAL = { allowLoopbackHttp: true };

let s3: LocalS3Endpoint;
let client: S3Client;
let media: MediaServer;
let copy: ReturnType<typeof createMediaCopier>;

beforeAll(async () => {
  [s3, media] = await Promise.all([startS3Endpoint({ credentials: { [CREDENTIALS.accessKeyId]: CREDENTIALS.secretAccessKey }, buckets: [BUCKET] }), startMediaServer()]);
  client = new S3Client({ region: 'us-east-1', endpoint: s3.url, forcePathStyle: true, credentials: CREDENTIALS, maxAttempts: 1 });
  copy = createMediaCopier({ writer: createObjectWriter({ client, bucket: BUCKET, partBytes: MIN_PART_BYTES }) });
});
afterAll(async () => {
  client?.destroy();
  await Promise.all([s3?.stop(), media?.close()]);
});
beforeEach(() => s3.resetCounts());

const bigVideo = async (tag: string, bytes: number) => {
  const parts: Buffer[] = [];
  for await (const chunk of videoStream(tag, bytes)) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
};

const request = (path: string, overrides: Partial<MediaCopyRequest> = {}): MediaCopyRequest => ({
  url: `${media.url}${path}`,
  key: `tasks/test${path}`,
  kind: 'video',
  family: 'video',
  maxBytes: 64 * 1024 * 1024,
  deadlineAtMs: Date.now() + 20_000,
  policy: LOCAL,
  ...overrides,
});

test('a declared length: one PutObject, piped as it arrives; the bytes, type and file name stored', async () => {
  const body = await bigVideo('declared', 3 * 1024 * 1024);
  media.routes.set('/declared.mp4', { headers: { 'Content-Type': 'video/mp4' }, body });
  const outcome = await copy(request('/declared.mp4'));
  expect(outcome).toMatchObject({ ok: true, bytes: body.length, contentType: 'video/mp4' });
  expect((await s3.read(BUCKET, 'tasks/test/declared.mp4'))!.equals(body)).toBe(true);
  expect(await s3.head(BUCKET, 'tasks/test/declared.mp4')).toMatchObject({ contentType: 'video/mp4', contentDisposition: 'inline; filename="video.mp4"' });
  expect(s3.counts).toEqual({ PutObject: 1 });
});

test('no declared length (chunked): a multipart upload of bounded parts, completed once', async () => {
  const body = await bigVideo('chunked', 12 * 1024 * 1024 + 3);
  media.routes.set('/chunked.mp4', { headers: { 'Content-Type': 'video/mp4' }, body, chunked: true });
  const outcome = await copy(request('/chunked.mp4'));
  expect(outcome).toMatchObject({ ok: true, bytes: body.length });
  expect((await s3.read(BUCKET, 'tasks/test/chunked.mp4'))!.equals(body)).toBe(true);
  expect(s3.counts).toEqual({ CreateMultipartUpload: 1, UploadPart: 3, CompleteMultipartUpload: 1 });
  expect(await s3.openUploads(BUCKET)).toBe(0);
});

test('a small chunked image: one PutObject; an octet-stream image is told by its bytes', async () => {
  const jpeg = mediumBytes('thumbnail', 'sniffed');
  media.routes.set('/thumb', { headers: { 'Content-Type': 'application/octet-stream' }, body: jpeg, chunked: true });
  const outcome = await copy(request('/thumb', { kind: 'thumbnail', family: 'image' }));
  expect(outcome).toMatchObject({ ok: true, bytes: jpeg.length, contentType: 'image/jpeg' });
  expect(await s3.head(BUCKET, 'tasks/test/thumb')).toMatchObject({ contentType: 'image/jpeg', contentDisposition: 'inline; filename="thumbnail.jpg"' });
  expect(s3.counts).toEqual({ PutObject: 1 });
});

test('a second copy to the same key replaces the object: never a second object, never a mix', async () => {
  const first = mediumBytes('video', 'first copy');
  const second = mediumBytes('video', 'second copy, longer than the first');
  media.routes.set('/again.mp4', { headers: { 'Content-Type': 'video/mp4' }, body: first });
  expect(await copy(request('/again.mp4'))).toMatchObject({ ok: true });
  media.routes.set('/again.mp4', { headers: { 'Content-Type': 'video/mp4' }, body: second });
  expect(await copy(request('/again.mp4'))).toMatchObject({ ok: true });
  expect((await s3.read(BUCKET, 'tasks/test/again.mp4'))!.equals(second)).toBe(true);
  expect((await s3.keys(BUCKET)).filter((key) => key.startsWith('tasks/test/again'))).toEqual(['tasks/test/again.mp4']);
});

describe('the size cap', () => {
  test('a declared size over the cap is refused for good before the body is read', async () => {
    const body = await bigVideo('too big', 4 * 1024 * 1024);
    media.routes.set('/declared-big.mp4', { headers: { 'Content-Type': 'video/mp4' }, body });
    const outcome = await copy(request('/declared-big.mp4', { maxBytes: 1024 * 1024 }));
    expect(outcome).toMatchObject({ ok: false, permanent: true, error: `the medium declares ${body.length} bytes, over the 1048576-byte cap (assetMaxBytes)` });
    expect(await s3.head(BUCKET, 'tasks/test/declared-big.mp4')).toBeUndefined();
    expect(s3.counts).toEqual({});
  });

  test('an undeclared body that streams past the cap is cut off there: refused for good, nothing stored, no upload left open', async () => {
    const body = await bigVideo('grows', 9 * 1024 * 1024);
    media.routes.set('/grows.mp4', { headers: { 'Content-Type': 'video/mp4' }, body, chunked: true });
    const outcome = await copy(request('/grows.mp4', { maxBytes: 6 * 1024 * 1024 }));
    expect(outcome).toMatchObject({ ok: false, permanent: true, error: 'the medium is larger than the 6291456-byte cap (assetMaxBytes)' });
    expect(await s3.head(BUCKET, 'tasks/test/grows.mp4')).toBeUndefined();
    expect(await s3.openUploads(BUCKET)).toBe(0);
    expect(s3.counts.CompleteMultipartUpload ?? 0).toBe(0);
  });

  test('a declared size under the cap with a longer body under a declared one: cut at the declaration', async () => {
    // HTTP frames the body by its Content-Length: what comes after it is not the body (and is not stored).
    const body = await bigVideo('lies', 2 * 1024 * 1024);
    media.routes.set('/lies.mp4', { headers: { 'Content-Type': 'video/mp4' }, body, declaredLength: 1024 * 1024 });
    const outcome = await copy(request('/lies.mp4'));
    if (outcome.ok) expect((await s3.read(BUCKET, 'tasks/test/lies.mp4'))!.equals(body.subarray(0, 1024 * 1024))).toBe(true);
    else expect(outcome.permanent).toBe(false);
    expect(((await s3.head(BUCKET, 'tasks/test/lies.mp4'))?.size ?? 0) <= 1024 * 1024).toBe(true);
  });
});

test('a body shorter than declared (the connection dropped) stores nothing and is worth a retry', async () => {
  const body = await bigVideo('cut', 3 * 1024 * 1024);
  media.routes.set('/cut.mp4', { headers: { 'Content-Type': 'video/mp4' }, body, cutAfter: 1024 * 1024 });
  const outcome = await copy(request('/cut.mp4'));
  expect(outcome).toMatchObject({ ok: false, permanent: false });
  expect(await s3.head(BUCKET, 'tasks/test/cut.mp4')).toBeUndefined();
});

test.each([
  ['text/html (an error page served 200)', { 'Content-Type': 'text/html' }, Buffer.from('<html>expired</html>'), 'the media link served text/html, not a video'],
  ['octet-stream that is a JPEG, for a video', { 'Content-Type': 'application/octet-stream' }, mediumBytes('thumbnail', 'x'), 'the media link served application/octet-stream (image/jpeg), not a video'],
  ['an image type, for a video', { 'Content-Type': 'image/png' }, mediumBytes('thumbnail', 'y'), 'the media link served image/png, not a video'],
])('the wrong type is refused for good: %s', async (_name, headers, body, error) => {
  const path = `/type-${Math.random().toString(36).slice(2)}`;
  media.routes.set(path, { headers, body });
  expect(await copy(request(path))).toMatchObject({ ok: false, permanent: true, error });
  expect(await s3.head(BUCKET, `tasks/test${path}`)).toBeUndefined();
});

test.each([
  [403, true],
  [404, true],
  [410, true],
  [429, false],
  [500, false],
  [503, false],
])('the link answering %s: permanent %s', async (status, permanent) => {
  media.routes.set(`/status-${status}`, { status, body: Buffer.from('no') });
  expect(await copy(request(`/status-${status}`))).toMatchObject({ ok: false, permanent, httpStatus: status });
});

describe('addresses, as for hooks', () => {
  test('a redirect is followed after the same checks', async () => {
    const body = mediumBytes('video', 'redirected');
    media.routes.set('/moved', { status: 302, headers: { Location: '/real.mp4' } });
    media.routes.set('/real.mp4', { headers: { 'Content-Type': 'video/mp4' }, body });
    expect(await copy(request('/moved'))).toMatchObject({ ok: true, bytes: body.length });
  });

  test('a redirect to a private address is refused without connecting', async () => {
    media.routes.set('/to-private', { status: 302, headers: { Location: 'https://10.1.2.3/video.mp4' } });
    expect(await copy(request('/to-private'))).toMatchObject({ ok: false, permanent: true, error: 'the media link must not point at a private, loopback, link-local or metadata address' });
    const resolveToPrivate = async () => [{ address: '10.1.2.3', family: 4 }];
    const copier = createMediaCopier({ writer: createObjectWriter({ client, bucket: BUCKET }), resolve: resolveToPrivate });
    media.routes.set('/to-private-name', { status: 301, headers: { Location: 'https://cdn.internal-looking.example/video.mp4' } });
    expect(await copier(request('/to-private-name'))).toMatchObject({
      ok: false,
      permanent: true,
      error: "the media link's host cdn.internal-looking.example resolves to a private, loopback, link-local or metadata address",
    });
  });

  test('a link that resolves to a private address, or plain http, is refused (loopback only in the local stack)', async () => {
    const resolveToPrivate = async () => [{ address: '169.254.169.254', family: 4 }];
    const copier = createMediaCopier({ writer: createObjectWriter({ client, bucket: BUCKET }), resolve: resolveToPrivate });
    expect(await copier(request('/x', { url: 'https://cdn.example.com/video.mp4', policy: { allowLoopbackHttp: false } }))).toMatchObject({
      ok: false,
      permanent: true,
      error: "the media link's host cdn.example.com resolves to a private, loopback, link-local or metadata address",
    });
    expect(await copy(request('/declared.mp4', { policy: { allowLoopbackHttp: false } }))).toMatchObject({ ok: false, permanent: true, error: 'the media link must be an https URL' });
  });
});

test('a link that hangs is given up at the deadline, worth a retry', async () => {
  media.routes.set('/hang', { hang: true });
  const started = Date.now();
  expect(await copy(request('/hang', { deadlineAtMs: Date.now() + 300 }))).toMatchObject({ ok: false, permanent: false, error: 'the copy ran out of time' });
  expect(Date.now() - started).toBeLessThan(3000);
});

test('videoSize says what videoStream makes', () => {
  expect(videoSize('t', 10)).toBeGreaterThan(10);
  expect(videoSize('t', 5_000_000)).toBe(5_000_000);
});
