/**
 * The upstream video API over HTTP (UpstreamClient, functions/domain/ports.ts).
 * Sends submissions and reads generations, accepts both response shapes, and
 * turns every way a call can fail into an UpstreamError of the right kind
 * (upstream-failed: answered badly; unavailable; upstream-timeout).
 * Submissions are never retried blindly: a retry could start a second
 * generation. The one retry is after a 401, with a freshly read key.
 */
import { DomainError, UpstreamError, type FailureKind } from '#domain/errors';
import type { SecretSource, UpstreamClient, UpstreamGeneration } from '#domain/ports';
import { parseUpstreamGeneration } from './response';

export interface UpstreamClientOptions {
  readonly baseUrl: string;
  readonly apiKey: SecretSource;
  readonly timeoutMs: number;
  readonly fetch?: typeof globalThis.fetch;
}

const MAX_REASON_LENGTH = 300;

/** The upstream's own words for an error, from any of the shapes it uses. */
export function upstreamReason(bodyText: string): string | undefined {
  let reason: unknown;
  try {
    const body = JSON.parse(bodyText) as Record<string, any>;
    const detail = body?.detail;
    reason =
      (typeof detail === 'string' && detail) ||
      (typeof detail?.reason === 'string' && detail.reason) ||
      (typeof detail?.message === 'string' && detail.message) ||
      (Array.isArray(detail) && typeof detail[0]?.msg === 'string' && detail[0].msg) ||
      (typeof body?.error?.message === 'string' && body.error.message) ||
      (typeof body?.error === 'string' && body.error) ||
      (typeof body?.message === 'string' && body.message) ||
      undefined;
  } catch {
    reason = undefined;
  }
  if (typeof reason !== 'string') return undefined;
  // Keep it short and free of anything that looks like a credential.
  const clean = reason.replace(/(bearer\s+)\S+/gi, '$1[redacted]').replace(/[\r\n\t]+/g, ' ').trim();
  return clean.length > MAX_REASON_LENGTH ? `${clean.slice(0, MAX_REASON_LENGTH)}…` : clean;
}

/** Retry-After (seconds or an HTTP date) as seconds, at most an hour; undefined when absent or unreadable. */
function retryAfterSeconds(value: string | null): number | undefined {
  if (value === null) return undefined;
  const seconds = /^\d+$/.test(value.trim()) ? Number(value) : Math.ceil((Date.parse(value) - Date.now()) / 1000);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds, 3600) : undefined;
}

/** Maps an upstream HTTP error answer onto the kind of failure it is. */
export function upstreamHttpError(status: number, bodyText: string, retryAfter: string | null = null): UpstreamError {
  const reason = upstreamReason(bodyText);
  const said = reason ? `: ${reason}` : '';
  const error = (kind: FailureKind, message: string, retryAfterSecs?: number) => new UpstreamError(kind, message, status, retryAfterSecs);
  if (status === 400 || status === 422) return error('upstream-rejected', `the upstream rejected the request${said}`);
  if (status === 404) return error('not-found', `the upstream does not know that generation${said}`);
  if (status === 401 || status === 403) {
    return error('upstream-failed', `the upstream rejected the gateway's credentials (HTTP ${status}); the operator must update the upstream key`);
  }
  if (status === 429) return error('unavailable', `the upstream is throttling requests${said}; retry later`, retryAfterSeconds(retryAfter));
  if (status === 503) return error('unavailable', `the upstream is unavailable (HTTP 503)${said}`, retryAfterSeconds(retryAfter));
  return error('upstream-failed', `the upstream answered HTTP ${status}${said}`);
}

/** Maps a failed fetch (timeout, reset, refused) onto the kind of failure it is. */
export function upstreamTransportError(error: unknown, timeoutMs: number): UpstreamError {
  const timedOut = () => new UpstreamError('upstream-timeout', `the upstream did not answer within ${timeoutMs / 1000} s`);
  const name = (error as Error)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return timedOut();
  const code = (error as { cause?: { code?: string } })?.cause?.code ?? (error as { code?: string })?.code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    return new UpstreamError('unavailable', 'the upstream is unreachable; retry later');
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'ETIMEDOUT') return timedOut();
  return new UpstreamError('upstream-failed', 'the upstream closed the connection without a complete answer');
}

async function readKey(read: () => Promise<string>): Promise<string> {
  try {
    return await read();
  } catch {
    // The SDK's error may name the secret; the client learns only that it failed.
    throw new DomainError('unavailable', "the gateway's upstream credentials are unavailable; retry later");
  }
}

export function createUpstreamClient({ baseUrl, apiKey, timeoutMs, fetch = globalThis.fetch }: UpstreamClientOptions): UpstreamClient {
  const base = baseUrl.replace(/\/+$/, '');

  async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<UpstreamGeneration> {
    const send = async (key: string) => {
      try {
        const response = await fetch(`${base}${path}`, {
          method,
          headers: {
            Authorization: `Bearer ${key}`,
            Accept: 'application/json',
            ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          redirect: 'error',
          signal: AbortSignal.timeout(timeoutMs),
        });
        return { response, text: await response.text() };
      } catch (error) {
        throw upstreamTransportError(error, timeoutMs);
      }
    };

    let answer = await send(await readKey(apiKey.get));
    if (answer.response.status === 401) answer = await send(await readKey(apiKey.refresh));

    const { response, text } = answer;
    if (!response.ok) throw upstreamHttpError(response.status, text, response.headers.get('retry-after'));
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new UpstreamError('upstream-failed', `the upstream answered HTTP ${response.status} with a body that is not JSON`, response.status);
    }
    const parsed = parseUpstreamGeneration(json);
    if (!parsed.ok) {
      throw new UpstreamError('upstream-failed', `the upstream answered with an unexpected body: ${parsed.problem}`, response.status);
    }
    return parsed.generation;
  }

  return {
    submit: (parentUpstreamId, submission) =>
      call(
        'POST',
        parentUpstreamId === undefined ? '/luma/generations' : `/luma/generations/${encodeURIComponent(parentUpstreamId)}/extend`,
        submission,
      ),
    getGeneration: (upstreamId) => call('GET', `/luma/generations/${encodeURIComponent(upstreamId)}`),
  };
}
