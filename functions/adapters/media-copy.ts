/**
 * Copies one medium from the upstream's link into the bucket (a
 * MediaCopier, functions/domain/ports.ts), streaming: the download is
 * piped into the upload as it arrives, so memory stays bounded whatever the
 * size (one multipart part at most, when the length is not declared).
 *
 * The link is fetched with the same checks as a client's hook
 * (public-address.ts): https only (plain http and loopback in the local
 * stack only), resolved, every address public, the connection pinned to
 * the checked address; a redirect is followed (up to 3) only after the same
 * checks on its target. What is refused for good, and what is worth a retry:
 *
 *   refused address, 4xx (the link expired or is refused; not 408/429),
 *   a declared or streamed size over maxBytes, a type that is not the
 *   medium's (video/* or image/*; octet-stream is told by its first bytes)    permanent
 *   DNS failure, connection errors and timeouts, 408, 429, 5xx, a body
 *   shorter than declared, an S3 failure, the deadline                       retry
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { fileNameOf } from '#domain/assets';
import type { MediaCopier, MediaCopyOutcome, MediaCopyRequest } from '#domain/ports';
import { checkedAddress, pinnedLookup, type Resolver } from './public-address';
import type { ObjectWriter } from './s3-objects';

const LINK = { url: 'the media link', host: "the media link's host" } as const;
const MAX_REDIRECTS = 3;
/** Longest silence of the upstream (connect, first byte, between chunks) before the copy is given up for a retry. */
const IDLE_TIMEOUT_MS = 15_000;

/** Types the upstream may serve a medium as without naming it: told by its first bytes. */
const GENERIC_TYPES = new Set(['', 'application/octet-stream', 'binary/octet-stream']);

/** The media type a file's first bytes show (ISO BMFF, WebM, JPEG, PNG, WebP, GIF), or undefined. */
export function sniffType(head: Buffer): string | undefined {
  if (head.length >= 8 && head.toString('latin1', 4, 8) === 'ftyp') return head.toString('latin1', 8, 10) === 'qt' ? 'video/quicktime' : 'video/mp4';
  if (head.length >= 4 && head.readUInt32BE(0) === 0x1a45dfa3) return 'video/webm';
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'image/jpeg';
  if (head.length >= 8 && head.readUInt32BE(0) === 0x89504e47) return 'image/png';
  if (head.length >= 12 && head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WEBP') return 'image/webp';
  if (head.length >= 4 && head.toString('latin1', 0, 4) === 'GIF8') return 'image/gif';
  return undefined;
}

class CopyFailure extends Error {
  constructor(
    readonly permanent: boolean,
    message: string,
    readonly httpStatus?: number,
  ) {
    super(message);
  }
}

/** GET on a checked, pinned connection; redirects followed after the same checks. */
async function open(url: URL, request: MediaCopyRequest, signal: AbortSignal, resolve: Resolver | undefined, redirectsLeft = MAX_REDIRECTS): Promise<IncomingMessage> {
  const target = await checkedAddress(url, LINK, request.policy, resolve);
  if ('refused' in target) throw new CopyFailure(true, target.refused);
  if ('unresolved' in target) throw new CopyFailure(false, target.unresolved);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const response = await new Promise<IncomingMessage>((resolveResponse, reject) => {
    const req = send(url, {
      method: 'GET',
      lookup: pinnedLookup(target),
      headers: { 'User-Agent': 'luma-gateway-assets/1', Accept: `${request.family}/*, application/octet-stream;q=0.5` },
      timeout: IDLE_TIMEOUT_MS,
      signal,
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('response', resolveResponse);
    req.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        signal.aborted
          ? new CopyFailure(false, 'the copy ran out of time')
          : new CopyFailure(false, error.code === 'ETIMEDOUT' ? `the media link did not answer within ${IDLE_TIMEOUT_MS} ms` : `could not reach the media link (${error.code ?? error.message})`),
      ),
    );
    req.end();
  });
  const status = response.statusCode ?? 0;
  if (status >= 300 && status < 400 && response.headers.location !== undefined) {
    response.resume();
    if (redirectsLeft === 0) throw new CopyFailure(true, `the media link redirected more than ${MAX_REDIRECTS} times`, status);
    let next: URL;
    try {
      next = new URL(response.headers.location, url);
    } catch {
      throw new CopyFailure(true, 'the media link redirected to an invalid URL', status);
    }
    return open(next, request, signal, resolve, redirectsLeft - 1);
  }
  if (status !== 200) {
    response.resume();
    const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
    const why = permanent ? ' (expired or refused: the upstream\'s links are short-lived)' : '';
    throw new CopyFailure(permanent, `the media link answered HTTP ${status}${why}`, status);
  }
  return response;
}

/** The response's body, counted against the cap and its declared length; throws CopyFailure past either. */
async function* counted(first: readonly Buffer[], rest: AsyncIterator<Buffer>, maxBytes: number, declared: number | undefined, progress: { bytes: number }): AsyncGenerator<Buffer> {
  const check = (chunk: Buffer) => {
    const bytes = (progress.bytes += chunk.length);
    if (bytes > maxBytes) throw new CopyFailure(true, `the medium is larger than the ${maxBytes}-byte cap (assetMaxBytes)`);
    if (declared !== undefined && bytes > declared) throw new CopyFailure(false, `the media link sent more than the ${declared} bytes it declared`);
  };
  for (const chunk of first) {
    check(chunk);
    yield chunk;
  }
  for (;;) {
    const next = await rest.next();
    if (next.done) break;
    check(next.value);
    yield next.value;
  }
  if (declared !== undefined && progress.bytes !== declared) throw new CopyFailure(false, `the media link sent ${progress.bytes} of the ${declared} bytes it declared`);
}

export interface MediaCopierOptions {
  readonly writer: ObjectWriter;
  /** Resolves host names (tests pass a fixed resolver). */
  readonly resolve?: Resolver;
  readonly now?: () => number;
}

export function createMediaCopier({ writer, resolve, now = Date.now }: MediaCopierOptions): MediaCopier {
  return async (request): Promise<MediaCopyOutcome> => {
    const started = now();
    const controller = new AbortController();
    const deadline = setTimeout(() => controller.abort(), Math.max(0, request.deadlineAtMs - started));
    let response: IncomingMessage | undefined;
    /** What went wrong on the download side, which the upload then reports as its own failure. */
    let cause: CopyFailure | undefined;
    const progress = { bytes: 0 };
    try {
      response = await open(new URL(request.url), request, controller.signal, resolve);
      const declaredHeader = response.headers['content-length'];
      const declared = declaredHeader === undefined ? undefined : Number(declaredHeader);
      if (declared !== undefined && !(Number.isInteger(declared) && declared >= 0)) throw new CopyFailure(false, `the media link declared an unreadable Content-Length (${declaredHeader})`);
      if (declared !== undefined && declared > request.maxBytes) throw new CopyFailure(true, `the medium declares ${declared} bytes, over the ${request.maxBytes}-byte cap (assetMaxBytes)`);

      // The first bytes, to tell a generic type (and to check a declared one is not an error page).
      const iterator = (response as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
      const head: Buffer[] = [];
      let headBytes = 0;
      while (headBytes < 12) {
        const next = await iterator.next();
        if (next.done) break;
        head.push(next.value);
        headBytes += next.value.length;
      }
      const declaredType = String(response.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      const contentType = GENERIC_TYPES.has(declaredType) ? sniffType(Buffer.concat(head)) : declaredType;
      if (contentType === undefined || !contentType.startsWith(`${request.family}/`)) {
        throw new CopyFailure(true, `the media link served ${declaredType || 'no type'}${contentType && contentType !== declaredType ? ` (${contentType})` : ''}, not ${request.family === 'video' ? 'a video' : 'an image'}`);
      }

      const body = (async function* () {
        try {
          yield* counted(head, iterator, request.maxBytes, declared, progress);
        } catch (error) {
          cause = error instanceof CopyFailure ? error : new CopyFailure(false, `the media link's answer broke off (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
          throw cause;
        }
      })();
      await writer.put({
        key: request.key,
        body,
        contentType,
        contentDisposition: `inline; filename="${fileNameOf(request.kind, contentType)}"`,
        contentLength: declared,
        signal: controller.signal,
      });
      return { ok: true, bytes: progress.bytes, contentType, durationMs: now() - started };
    } catch (error) {
      const failure =
        cause ??
        (error instanceof CopyFailure
          ? error
          : controller.signal.aborted
            ? new CopyFailure(false, 'the copy ran out of time')
            : new CopyFailure(false, `the bucket refused the upload (${(error as Error).name}: ${(error as Error).message})`));
      return { ok: false, permanent: failure.permanent, error: failure.message, ...(failure.httpStatus !== undefined && { httpStatus: failure.httpStatus }), durationMs: now() - started };
    } finally {
      clearTimeout(deadline);
      response?.destroy();
    }

  };
}
