/**
 * Writes a stream into the gateway's bucket with bounded memory, whole or
 * not at all (S3 makes an object visible only once its upload completes):
 *
 * - known length (the upstream declared its Content-Length): one
 *   PutObject, the stream piped through as it arrives (the SDK's default
 *   aws-chunked encoding with a trailing CRC32, so S3 refuses a body that
 *   is not what was read);
 * - unknown length (a chunked answer): a multipart upload, one part of
 *   `partBytes` held at a time, aborted when anything fails (and S3's
 *   lifecycle rule removes an upload whose abort was lost); a body smaller
 *   than one part goes as one PutObject.
 *
 * The key is the caller's: the same key again replaces the object at once,
 * so a second copy of a task's medium never adds another.
 */
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';

/** S3's smallest part but the last; the writer's default part (and so its buffer) is 8 MiB. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
export const DEFAULT_PART_BYTES = 8 * 1024 * 1024;

export interface ObjectUpload {
  readonly key: string;
  readonly body: AsyncIterable<Buffer>;
  readonly contentType: string;
  readonly contentDisposition: string;
  /** Bytes the body will carry, when known. */
  readonly contentLength?: number;
  readonly signal: AbortSignal;
}

export interface ObjectWriter {
  /** Resolves once the object is stored whole; rejects (leaving no new object) otherwise. */
  put(upload: ObjectUpload): Promise<{ readonly requests: number }>;
}

export function createObjectWriter({ client, bucket, partBytes = DEFAULT_PART_BYTES }: { client: S3Client; bucket: string; partBytes?: number }): ObjectWriter {
  if (partBytes < MIN_PART_BYTES) throw new Error(`parts must be at least ${MIN_PART_BYTES} bytes (S3's minimum)`);
  const metadata = (upload: ObjectUpload) => ({ Bucket: bucket, Key: upload.key, ContentType: upload.contentType, ContentDisposition: upload.contentDisposition });

  const putWhole = async (upload: ObjectUpload, body: Buffer | AsyncIterable<Buffer>, contentLength: number) => {
    // A body that fails aborts the request with its error; the stream handed to the SDK itself never errors
    // (the SDK's aws-chunked wrapper would re-emit the error on a stream nobody listens to).
    const broken = new AbortController();
    const guarded = async function* (source: AsyncIterable<Buffer>) {
      try {
        yield* source;
      } catch (error) {
        broken.abort(error);
      }
    };
    const payload = Buffer.isBuffer(body) ? body : Readable.from(guarded(body), { objectMode: false });
    try {
      await client.send(new PutObjectCommand({ ...metadata(upload), Body: payload, ContentLength: contentLength }), { abortSignal: AbortSignal.any([upload.signal, broken.signal]) });
    } catch (error) {
      throw broken.signal.aborted ? broken.signal.reason : error;
    }
    if (broken.signal.aborted) throw broken.signal.reason;
    return { requests: 1 };
  };

  const putInParts = async (upload: ObjectUpload) => {
    const iterator = upload.body[Symbol.asyncIterator]();
    let part = Buffer.allocUnsafe(partBytes);
    let filled = 0;
    let pending: Buffer | undefined;
    /** Fills the part buffer; true when the body has more after it. */
    const fill = async (): Promise<boolean> => {
      for (;;) {
        if (pending !== undefined) {
          const take = Math.min(pending.length, partBytes - filled);
          pending.copy(part, filled, 0, take);
          filled += take;
          pending = take < pending.length ? pending.subarray(take) : undefined;
          if (filled === partBytes) return true;
        }
        const next = await iterator.next();
        if (next.done) return false;
        pending = next.value;
      }
    };

    let more = await fill();
    if (!more || (filled === partBytes && !(await peekMore()))) return putWhole(upload, part.subarray(0, filled), filled);

    const { UploadId } = await client.send(new CreateMultipartUploadCommand(metadata(upload)), { abortSignal: upload.signal });
    const parts: { PartNumber: number; ETag: string | undefined }[] = [];
    try {
      for (let number = 1; ; number += 1) {
        const { ETag } = await client.send(new UploadPartCommand({ Bucket: bucket, Key: upload.key, UploadId, PartNumber: number, Body: part.subarray(0, filled), ContentLength: filled }), {
          abortSignal: upload.signal,
        });
        parts.push({ PartNumber: number, ETag });
        if (!more) break;
        // The part just sent is S3's now: its buffer is filled again (at most one part in memory).
        part = Buffer.allocUnsafe(partBytes);
        filled = 0;
        more = await fill();
        if (filled === 0) break;
      }
      await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: upload.key, UploadId, MultipartUpload: { Parts: parts } }), { abortSignal: upload.signal });
      return { requests: parts.length + 2 };
    } catch (error) {
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.key, UploadId })).catch(() => undefined);
      throw error;
    }

    /** After a full first part: does the body go on? (A body of exactly one part is one PutObject.) */
    async function peekMore(): Promise<boolean> {
      if (pending !== undefined) return true;
      const next = await iterator.next();
      if (next.done) return false;
      pending = next.value;
      return true;
    }
  };

  return {
    put: (upload) => (upload.contentLength === undefined ? putInParts(upload) : putWhole(upload, upload.body, upload.contentLength)),
  };
}
