/**
 * A small local Amazon S3 endpoint for the local stack and the tests: a real
 * S3-protocol server on 127.0.0.1 that the AWS SDK reaches through
 * AWS_ENDPOINT_URL_S3 with path-style addressing (`/<bucket>/<key>`), as the
 * handlers reach the real one.
 *
 * What it does as S3 does, because the gateway depends on it:
 *
 * - every request must be signed (Signature Version 4, in the Authorization
 *   header or in the query string of a presigned URL) by a known access key:
 *   the signature is computed here from the request, independently of the
 *   SDK, and compared; an anonymous request, a wrong signature, a request
 *   more than 15 minutes off, or a presigned URL past its X-Amz-Expires is
 *   refused with S3's error (403 AccessDenied / SignatureDoesNotMatch /
 *   RequestTimeTooSkewed) in S3's XML;
 * - uploads are streamed to disk (never held in memory), with the length
 *   required (411 MissingContentLength without one), the payload checked
 *   against what the request declares (its x-amz-content-sha256, its
 *   x-amz-checksum-crc32 header, or the aws-chunked encoding with a trailing
 *   checksum the SDK sends by default), and an object appears only whole:
 *   written to a temporary file and renamed (a failed upload leaves nothing;
 *   a second PUT to a key replaces the object at once);
 * - multipart uploads (create, upload part, complete, abort) with S3's 5 MiB
 *   minimum for every part but the last;
 * - GetObject, HeadObject (Content-Type, Content-Disposition, ETag, length),
 *   DeleteObject, ListObjectsV2 (a prefix; up to 1000 keys), CreateBucket,
 *   HeadBucket.
 *
 * Not implemented (never sent by the gateway): virtual-hosted addressing,
 * ranges, versioning, ACLs and policies (every known key may do everything),
 * signed aws-chunked payloads (STREAMING-AWS4-HMAC-SHA256-PAYLOAD).
 *
 * Counters per operation let tests check how many objects were written.
 */
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import { closeServer, listen, LOOPBACK, readBody, trackSockets } from './net';

export interface S3EndpointOptions {
  /** Access key id → secret access key of the identities allowed in. */
  readonly credentials: Readonly<Record<string, string>>;
  /** Buckets that exist from the start. */
  readonly buckets?: readonly string[];
  readonly region?: string;
  /** 0 (default) = a free port. */
  readonly port?: number;
  /** Where objects are kept; a temporary directory (removed at stop) by default. */
  readonly directory?: string;
}

export interface StoredObjectInfo {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly contentType?: string;
  readonly contentDisposition?: string;
  readonly lastModified: number;
}

export interface LocalS3Endpoint {
  readonly url: string;
  readonly port: number;
  readonly region: string;
  /** Requests answered, by operation (PutObject, UploadPart, CompleteMultipartUpload, GetObject...), refused ones under `Refused`. */
  readonly counts: Readonly<Record<string, number>>;
  resetCounts(): void;
  /** An object's metadata, or undefined (for tests). */
  head(bucket: string, key: string): Promise<StoredObjectInfo | undefined>;
  /** An object's bytes (for tests; small objects). */
  read(bucket: string, key: string): Promise<Buffer | undefined>;
  /** Every key of a bucket. */
  keys(bucket: string): Promise<string[]>;
  /** Multipart uploads started and neither completed nor aborted. */
  openUploads(bucket: string): Promise<number>;
  stop(): Promise<void>;
}

const MIN_PART_BYTES = 5 * 1024 * 1024;
const MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_PRESIGN_SECONDS = 604_800;
const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

export class S3Failure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** RFC 3986 encoding, as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

function xmlEscape(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

export interface ParsedAuth {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
  readonly amzDate: string;
  readonly payloadHash: string;
  /** Query parameters in the canonical query (all but X-Amz-Signature). */
  readonly query: readonly [string, string][];
}

/** The request's SigV4 parts, from its Authorization header or its presigned query; undefined when it carries none. */
export function parseAuth(req: IncomingMessage, params: URLSearchParams, nowMs: number): ParsedAuth | undefined {
  const all = [...params.entries()];
  const header = req.headers.authorization;
  if (params.has('X-Amz-Algorithm')) {
    if (header !== undefined) throw new S3Failure(400, 'InvalidArgument', 'Only one auth mechanism allowed');
    if (params.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') throw new S3Failure(400, 'AuthorizationQueryParametersError', 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
    const credential = (params.get('X-Amz-Credential') ?? '').split('/');
    const amzDate = params.get('X-Amz-Date') ?? '';
    const expires = Number(params.get('X-Amz-Expires'));
    if (credential.length !== 5 || !/^\d{8}T\d{6}Z$/.test(amzDate) || !Number.isInteger(expires) || expires < 1 || expires > MAX_PRESIGN_SECONDS) {
      throw new S3Failure(400, 'AuthorizationQueryParametersError', 'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.');
    }
    if (nowMs > amzDateMs(amzDate) + expires * 1000) throw new S3Failure(403, 'AccessDenied', 'Request has expired');
    return {
      accessKeyId: credential[0],
      date: credential[1],
      region: credential[2],
      service: credential[3],
      signedHeaders: (params.get('X-Amz-SignedHeaders') ?? '').split(';'),
      signature: params.get('X-Amz-Signature') ?? '',
      amzDate,
      payloadHash: params.get('X-Amz-Content-Sha256') ?? 'UNSIGNED-PAYLOAD',
      query: all.filter(([name]) => name !== 'X-Amz-Signature'),
    };
  }
  if (header === undefined) return undefined;
  const match = /^AWS4-HMAC-SHA256 Credential=([^,]+),\s*SignedHeaders=([^,]+),\s*Signature=([0-9a-f]{64})$/.exec(header.trim());
  if (!match) throw new S3Failure(400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed; only AWS4-HMAC-SHA256 is supported.');
  const credential = match[1].split('/');
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const payloadHash = String(req.headers['x-amz-content-sha256'] ?? '');
  if (credential.length !== 5 || !/^\d{8}T\d{6}Z$/.test(amzDate)) throw new S3Failure(400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed.');
  if (payloadHash === '') throw new S3Failure(400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  if (Math.abs(nowMs - amzDateMs(amzDate)) > MAX_SKEW_MS) throw new S3Failure(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.');
  return {
    accessKeyId: credential[0],
    date: credential[1],
    region: credential[2],
    service: credential[3],
    signedHeaders: match[2].split(';'),
    signature: match[3],
    amzDate,
    payloadHash,
    query: all,
  };
}

function amzDateMs(amzDate: string): number {
  return Date.parse(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
}

/** The SigV4 signature of a request, computed from what it carries (the canonical request of the SigV4 specification, S3's single URI encoding). */
export function expectedSignature(req: Pick<IncomingMessage, 'method' | 'headers'>, path: string, auth: ParsedAuth, secretAccessKey: string): string {
  const canonicalUri = path
    .split('/')
    .map((segment) => uriEncode(decodeURIComponent(segment)))
    .join('/');
  const canonicalQuery = auth.query
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const canonicalHeaders = auth.signedHeaders
    .map((name) => {
      const raw = req.headers[name];
      const value = Array.isArray(raw) ? raw.join(',') : (raw ?? '');
      return `${name}:${String(value).trim().replace(/\s+/g, ' ')}\n`;
    })
    .join('');
  const canonicalRequest = [req.method, canonicalUri, canonicalQuery, canonicalHeaders, auth.signedHeaders.join(';'), auth.payloadHash].join('\n');
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', auth.amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, auth.date), auth.region), auth.service), 'aws4_request');
  return createHmac('sha256', key).update(stringToSign).digest('hex');
}

/**
 * Decodes an aws-chunked body (`<hex size>[;ext]\r\n<data>\r\n` ... `0\r\n<trailers>\r\n`),
 * yielding the data and collecting the trailing headers.
 */
async function* decodeAwsChunked(source: AsyncIterable<Buffer>, trailers: Map<string, string>): AsyncGenerator<Buffer> {
  let buffer: Buffer = Buffer.alloc(0);
  let remaining = -1; // bytes of the current chunk still to yield; -1: expecting a size line
  let done = false;
  for await (const piece of source) {
    buffer = buffer.length === 0 ? piece : Buffer.concat([buffer, piece]);
    for (;;) {
      if (done) {
        const end = buffer.indexOf('\r\n\r\n');
        const text = buffer.toString('latin1');
        for (const line of (end >= 0 ? text.slice(0, end) : text).split('\r\n')) {
          const colon = line.indexOf(':');
          if (colon > 0) trailers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
        }
        if (end >= 0) return;
        break;
      }
      if (remaining < 0) {
        const eol = buffer.indexOf('\r\n');
        if (eol < 0) {
          if (buffer.length > 4096) throw new S3Failure(400, 'IncompleteBody', 'aws-chunked: a chunk header is too long');
          break;
        }
        const size = parseInt(buffer.subarray(0, eol).toString('latin1').split(';')[0], 16);
        if (!Number.isInteger(size) || size < 0) throw new S3Failure(400, 'IncompleteBody', 'aws-chunked: a chunk size is not hexadecimal');
        buffer = buffer.subarray(eol + 2);
        if (size === 0) {
          done = true;
          continue;
        }
        remaining = size;
      }
      if (remaining > 0) {
        if (buffer.length === 0) break;
        const take = Math.min(remaining, buffer.length);
        yield buffer.subarray(0, take);
        buffer = buffer.subarray(take);
        remaining -= take;
      }
      if (remaining === 0) {
        if (buffer.length < 2) break;
        buffer = buffer.subarray(2); // the CRLF after a chunk's data
        remaining = -1;
      }
    }
  }
  if (!done) throw new S3Failure(400, 'IncompleteBody', 'aws-chunked: the body ended before its last chunk');
}

/** Checks a received payload against what the request declared; throws S3's error when it differs. */
class PayloadCheck {
  private readonly sha256 = createHash('sha256');
  private readonly md5 = createHash('md5');
  private crc = 0;
  bytes = 0;

  update(chunk: Buffer): void {
    this.sha256.update(chunk);
    this.md5.update(chunk);
    this.crc = crc32(chunk, this.crc);
    this.bytes += chunk.length;
  }

  /** The object's ETag (its MD5, as S3 gives for a single PUT). */
  finish(declaredHash: string, declaredLength: number, checksums: { crc32?: string; sha256?: string }): string {
    if (this.bytes !== declaredLength) throw new S3Failure(400, 'IncompleteBody', `You did not provide the number of bytes specified by the Content-Length HTTP header (${declaredLength}, got ${this.bytes})`);
    const sha = this.sha256.digest();
    if (/^[0-9a-f]{64}$/.test(declaredHash) && sha.toString('hex') !== declaredHash) {
      throw new S3Failure(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.");
    }
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(this.crc >>> 0);
    if (checksums.crc32 !== undefined && checksums.crc32 !== crc.toString('base64')) throw new S3Failure(400, 'BadDigest', 'The CRC32 you specified did not match the calculated checksum.');
    if (checksums.sha256 !== undefined && checksums.sha256 !== sha.toString('base64')) throw new S3Failure(400, 'BadDigest', 'The SHA256 you specified did not match the calculated checksum.');
    return `"${this.md5.digest('hex')}"`;
  }
}

interface ObjectMeta extends StoredObjectInfo {}

export async function startS3Endpoint(options: S3EndpointOptions): Promise<LocalS3Endpoint> {
  const region = options.region ?? 'us-east-1';
  const root = options.directory ?? (await mkdtemp(join(tmpdir(), 'luma-local-s3-')));
  const ownsRoot = options.directory === undefined;
  const counts: Record<string, number> = {};
  const count = (operation: string) => (counts[operation] = (counts[operation] ?? 0) + 1);

  const bucketDir = (bucket: string) => join(root, 'buckets', bucket);
  const objectFile = (bucket: string, key: string) => join(bucketDir(bucket), 'objects', sha256Hex(key));
  const uploadDir = (bucket: string, uploadId: string) => join(bucketDir(bucket), 'uploads', uploadId);
  const tempFile = () => join(root, 'tmp', randomUUID());
  await mkdir(join(root, 'tmp'), { recursive: true });

  const bucketExists = async (bucket: string) => (await stat(bucketDir(bucket)).catch(() => undefined))?.isDirectory() === true;
  const createBucket = async (bucket: string) => {
    await mkdir(join(bucketDir(bucket), 'objects'), { recursive: true });
    await mkdir(join(bucketDir(bucket), 'uploads'), { recursive: true });
  };
  for (const bucket of options.buckets ?? []) await createBucket(bucket);

  const readMeta = async (bucket: string, key: string): Promise<ObjectMeta | undefined> => {
    const text = await readFile(`${objectFile(bucket, key)}.json`, 'utf8').catch(() => undefined);
    return text === undefined ? undefined : (JSON.parse(text) as ObjectMeta);
  };

  /** Streams a request body to a temporary file, checked against its declarations; the file and its ETag. */
  const receive = async (req: IncomingMessage, payloadHash: string): Promise<{ file: string; etag: string; size: number }> => {
    const chunked = payloadHash.startsWith('STREAMING-');
    if (chunked && payloadHash !== 'STREAMING-UNSIGNED-PAYLOAD-TRAILER') {
      throw new S3Failure(501, 'NotImplemented', `the local endpoint does not check ${payloadHash} payloads`);
    }
    const lengthHeader = chunked ? req.headers['x-amz-decoded-content-length'] : req.headers['content-length'];
    if (lengthHeader === undefined) throw new S3Failure(411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.');
    const declaredLength = Number(lengthHeader);
    const trailers = new Map<string, string>();
    const check = new PayloadCheck();
    const file = tempFile();
    const source = chunked ? decodeAwsChunked(req, trailers) : (req as AsyncIterable<Buffer>);
    try {
      await pipeline(
        (async function* () {
          for await (const chunk of source) {
            check.update(chunk);
            yield chunk;
          }
        })(),
        createWriteStream(file),
      );
      const header = (name: string) => trailers.get(name) ?? (req.headers[name] as string | undefined);
      const etag = check.finish(chunked ? '' : payloadHash, declaredLength, { crc32: header('x-amz-checksum-crc32'), sha256: header('x-amz-checksum-sha256') });
      return { file, etag, size: check.bytes };
    } catch (error) {
      await rm(file, { force: true });
      // The client went away mid-body (as an aborted copy does): S3 keeps nothing of it.
      if (!(error instanceof S3Failure) && (req.readableAborted || req.destroyed)) throw new S3Failure(400, 'IncompleteBody', 'the request body ended before its declared length');
      throw error;
    }
  };

  /** Makes `file` the object at `key`, whole, at once. */
  const commit = async (bucket: string, key: string, file: string, meta: Omit<ObjectMeta, 'key' | 'lastModified'>) => {
    const target = objectFile(bucket, key);
    const info: ObjectMeta = { key, ...meta, lastModified: Date.now() };
    // Metadata first under a temporary name, then both renamed: a reader finds the old object or the new one.
    await writeFile(`${file}.json`, JSON.stringify(info));
    await rename(file, target);
    await rename(`${file}.json`, `${target}.json`);
  };

  const sendXml = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    const text = XML_DECLARATION + body;
    res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': String(Buffer.byteLength(text)), 'x-amz-request-id': randomBytes(8).toString('hex').toUpperCase(), ...headers });
    res.end(text);
  };
  const sendEmpty = (res: ServerResponse, status: number, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'Content-Length': '0', 'x-amz-request-id': randomBytes(8).toString('hex').toUpperCase(), ...headers });
    res.end();
  };
  const objectHeaders = (meta: ObjectMeta): Record<string, string> => ({
    'Content-Length': String(meta.size),
    ETag: meta.etag,
    'Last-Modified': new Date(meta.lastModified).toUTCString(),
    'Content-Type': meta.contentType ?? 'binary/octet-stream',
    ...(meta.contentDisposition !== undefined && { 'Content-Disposition': meta.contentDisposition }),
    'Accept-Ranges': 'bytes',
  });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://local');
    const path = (req.url ?? '/').split('?')[0];
    const params = url.searchParams;
    const auth = parseAuth(req, params, Date.now());
    if (auth === undefined) throw new S3Failure(403, 'AccessDenied', 'Access Denied');
    const secret = options.credentials[auth.accessKeyId];
    if (secret === undefined) throw new S3Failure(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
    if (auth.service !== 's3') throw new S3Failure(400, 'AuthorizationHeaderMalformed', `the credential scope names service ${auth.service}, not s3`);
    if (auth.region !== region) throw new S3Failure(400, 'AuthorizationHeaderMalformed', `the region '${auth.region}' is wrong; expecting '${region}'`);
    if (!auth.signedHeaders.includes('host')) throw new S3Failure(400, 'AuthorizationHeaderMalformed', 'the host header must be signed');
    const expected = Buffer.from(expectedSignature(req, path, auth, secret));
    const given = Buffer.from(auth.signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new S3Failure(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
    }

    const [, bucket = '', ...keyParts] = path.split('/');
    const key = decodeURIComponent(keyParts.join('/'));
    if (bucket === '') throw new S3Failure(501, 'NotImplemented', 'ListBuckets is not implemented locally');
    const method = req.method ?? 'GET';

    if (key === '') {
      if (method === 'PUT') {
        count('CreateBucket');
        if (await bucketExists(bucket)) throw new S3Failure(409, 'BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.');
        await createBucket(bucket);
        return sendEmpty(res, 200, { Location: `/${bucket}` });
      }
      if (!(await bucketExists(bucket))) throw new S3Failure(404, 'NoSuchBucket', 'The specified bucket does not exist');
      if (method === 'HEAD') return count('HeadBucket'), sendEmpty(res, 200);
      if (method === 'GET' && params.get('list-type') === '2') {
        count('ListObjectsV2');
        const prefix = params.get('prefix') ?? '';
        const keys = (await listKeys(bucket)).filter((k) => k.startsWith(prefix)).sort().slice(0, 1000);
        const metas = await Promise.all(keys.map((k) => readMeta(bucket, k)));
        const contents = metas
          .filter((m): m is ObjectMeta => m !== undefined)
          .map((m) => `<Contents><Key>${xmlEscape(m.key)}</Key><LastModified>${new Date(m.lastModified).toISOString()}</LastModified><ETag>${xmlEscape(m.etag)}</ETag><Size>${m.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`)
          .join('');
        return sendXml(res, 200, `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${xmlEscape(bucket)}</Name><Prefix>${xmlEscape(prefix)}</Prefix><KeyCount>${keys.length}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>${contents}</ListBucketResult>`);
      }
      throw new S3Failure(501, 'NotImplemented', `${method} on a bucket is not implemented locally`);
    }

    if (!(await bucketExists(bucket))) throw new S3Failure(404, 'NoSuchBucket', 'The specified bucket does not exist');
    const uploadId = params.get('uploadId');
    const contentType = req.headers['content-type'];
    const contentDisposition = req.headers['content-disposition'] as string | undefined;

    if (method === 'PUT' && uploadId === null) {
      if (params.has('x-amz-copy-source') || req.headers['x-amz-copy-source'] !== undefined) throw new S3Failure(501, 'NotImplemented', 'CopyObject is not implemented locally');
      count('PutObject');
      const { file, etag, size } = await receive(req, auth.payloadHash);
      await commit(bucket, key, file, { size, etag, contentType, contentDisposition });
      return sendEmpty(res, 200, { ETag: etag });
    }
    if (method === 'POST' && params.has('uploads')) {
      count('CreateMultipartUpload');
      const id = randomBytes(24).toString('base64url');
      await mkdir(uploadDir(bucket, id), { recursive: true });
      await writeFile(join(uploadDir(bucket, id), 'upload.json'), JSON.stringify({ key, contentType, contentDisposition }));
      return sendXml(res, 200, `<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${xmlEscape(bucket)}</Bucket><Key>${xmlEscape(key)}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`);
    }
    if (uploadId !== null) {
      const dir = uploadDir(bucket, uploadId);
      const upload = await readFile(join(dir, 'upload.json'), 'utf8').then((text) => JSON.parse(text) as { key: string; contentType?: string; contentDisposition?: string }).catch(() => undefined);
      if (upload === undefined || upload.key !== key || !/^[A-Za-z0-9_-]+$/.test(uploadId)) {
        throw new S3Failure(404, 'NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.');
      }
      if (method === 'PUT') {
        count('UploadPart');
        const partNumber = Number(params.get('partNumber'));
        if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) throw new S3Failure(400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive');
        const { file, etag } = await receive(req, auth.payloadHash);
        await rename(file, join(dir, `${partNumber}.part`));
        await writeFile(join(dir, `${partNumber}.etag`), etag);
        return sendEmpty(res, 200, { ETag: etag });
      }
      if (method === 'DELETE') {
        count('AbortMultipartUpload');
        await rm(dir, { recursive: true, force: true });
        return sendEmpty(res, 204);
      }
      if (method === 'POST') {
        count('CompleteMultipartUpload');
        const body = (await readBody(req, 1024 * 1024)).toString('utf8');
        const parts = [...body.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((m) => ({
          number: Number(/<PartNumber>(\d+)<\/PartNumber>/.exec(m[1])?.[1]),
          etag: /<ETag>([\s\S]*?)<\/ETag>/.exec(m[1])?.[1]?.replace(/&quot;/g, '"') ?? '',
        }));
        if (parts.length === 0) throw new S3Failure(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
        const md5s: Buffer[] = [];
        const sizes: number[] = [];
        for (const [index, part] of parts.entries()) {
          if (index > 0 && part.number <= parts[index - 1].number) throw new S3Failure(400, 'InvalidPartOrder', 'The list of parts was not in ascending order.');
          const stored = await readFile(join(dir, `${part.number}.etag`), 'utf8').catch(() => undefined);
          if (stored === undefined || stored !== part.etag) throw new S3Failure(400, 'InvalidPart', 'One or more of the specified parts could not be found.');
          md5s.push(Buffer.from(stored.replace(/"/g, ''), 'hex'));
          sizes.push((await stat(join(dir, `${part.number}.part`))).size);
        }
        if (sizes.slice(0, -1).some((size) => size < MIN_PART_BYTES)) throw new S3Failure(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.');
        const file = tempFile();
        // The parts one after another into one file, through one pipeline (a pipeline per part would stack listeners on the file).
        await pipeline(async function* () {
          for (const part of parts) yield* createReadStream(join(dir, `${part.number}.part`));
        }, createWriteStream(file));
        const etag = `"${createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-${parts.length}"`;
        await commit(bucket, key, file, { size: sizes.reduce((a, b) => a + b, 0), etag, contentType: upload.contentType, contentDisposition: upload.contentDisposition });
        await rm(dir, { recursive: true, force: true });
        return sendXml(res, 200, `<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${xmlEscape(bucket)}</Bucket><Key>${xmlEscape(key)}</Key><ETag>${xmlEscape(etag)}</ETag></CompleteMultipartUploadResult>`);
      }
    }
    if (method === 'GET' || method === 'HEAD') {
      count(method === 'GET' ? 'GetObject' : 'HeadObject');
      const meta = await readMeta(bucket, key);
      if (meta === undefined) {
        if (method === 'HEAD') return sendEmpty(res, 404);
        throw new S3Failure(404, 'NoSuchKey', 'The specified key does not exist.');
      }
      res.writeHead(200, { ...objectHeaders(meta), 'x-amz-request-id': randomBytes(8).toString('hex').toUpperCase() });
      if (method === 'HEAD') return res.end();
      return pipeline(createReadStream(objectFile(bucket, key)), res);
    }
    if (method === 'DELETE') {
      count('DeleteObject');
      await rm(objectFile(bucket, key), { force: true });
      await rm(`${objectFile(bucket, key)}.json`, { force: true });
      return sendEmpty(res, 204);
    }
    throw new S3Failure(501, 'NotImplemented', `${method} ${params.toString()} is not implemented locally`);
  };

  const listKeys = async (bucket: string): Promise<string[]> => {
    const names = await readdir(join(bucketDir(bucket), 'objects')).catch(() => [] as string[]);
    const metas = await Promise.all(names.filter((name) => name.endsWith('.json')).map((name) => readFile(join(bucketDir(bucket), 'objects', name), 'utf8').catch(() => undefined)));
    return metas.filter((text): text is string => text !== undefined).map((text) => (JSON.parse(text) as ObjectMeta).key);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const failure = error instanceof S3Failure ? error : new S3Failure(500, 'InternalError', 'We encountered an internal error. Please try again.');
      if (failure.status === 500) console.error(`local S3 endpoint: ${(error as Error)?.stack ?? String(error)}`);
      count('Refused');
      if (res.headersSent) return void res.destroy();
      // The client may still be sending: answer, then drop the connection (S3 closes it too).
      res.setHeader('Connection', 'close');
      if (req.method === 'HEAD') return sendEmpty(res, failure.status);
      sendXml(res, failure.status, `<Error><Code>${failure.code}</Code><Message>${xmlEscape(failure.message)}</Message><RequestId>${randomUUID()}</RequestId></Error>`);
      req.resume();
    });
  });
  const sockets = trackSockets(server);
  const port = await listen(server, options.port ?? 0, 'local S3 endpoint');

  return {
    url: `http://${LOOPBACK}:${port}`,
    port,
    region,
    counts,
    resetCounts: () => {
      for (const name of Object.keys(counts)) delete counts[name];
    },
    head: (bucket, key) => readMeta(bucket, key),
    read: async (bucket, key) => ((await readMeta(bucket, key)) === undefined ? undefined : readFile(objectFile(bucket, key))),
    keys: (bucket) => listKeys(bucket),
    openUploads: async (bucket) => (await readdir(join(bucketDir(bucket), 'uploads')).catch(() => [])).length,
    stop: async () => {
      await closeServer(server, sockets);
      if (ownsRoot) await rm(root, { recursive: true, force: true });
    },
  };
}
