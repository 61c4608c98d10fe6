/**
 * The upstream video API. Sends submissions and reads generations, accepts
 * both response shapes, and turns every way a call can fail into a
 * GatewayError (502 answered badly, 503 unavailable, 504 timed out).
 * Submissions are never retried blindly: a retry could start a second
 * generation. The one retry is after a 401, with a freshly read key.
 */
import { ErrorCode, GatewayError, type ErrorCodeValue } from './errors';
import type { SecretSource } from './secret-cache';
import { parseUpstreamGeneration, type UpstreamGeneration } from './upstream-response';

/** What the upstream receives for a submission (the seed's body). */
export interface UpstreamSubmission {
  readonly user_prompt: string;
  readonly expand_prompt?: boolean;
  readonly image_url?: string;
  readonly image_end_url?: string;
  /** Always the gateway's own callback URL, never the client's hook. */
  readonly notify_hook: string;
}

export interface UpstreamClient {
  /** Extends `parentUpstreamId`, or creates a new video when it is undefined. */
  submit(parentUpstreamId: string | undefined, submission: UpstreamSubmission): Promise<UpstreamGeneration>;
  getGeneration(upstreamId: string): Promise<UpstreamGeneration>;
}

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

function retryAfterHeader(value: string | null): Record<string, string> {
  if (value === null) return {};
  const seconds = /^\d+$/.test(value.trim()) ? Number(value) : Math.ceil((Date.parse(value) - Date.now()) / 1000);
  return Number.isFinite(seconds) && seconds >= 0 ? { 'Retry-After': String(Math.min(seconds, 3600)) } : {};
}

/** An upstream HTTP error answer, as the client is told of it; keeps the upstream's status for callers such as the reconciler. */
export class UpstreamHttpError extends GatewayError {
  constructor(
    status: number,
    code: ErrorCodeValue,
    message: string,
    readonly upstreamStatus: number,
    headers: Readonly<Record<string, string>> = {},
  ) {
    super(status, code, message, headers);
  }
}

/** Maps an upstream HTTP error answer onto what the client is told. */
export function upstreamHttpError(status: number, bodyText: string, retryAfter: string | null = null): UpstreamHttpError {
  const reason = upstreamReason(bodyText);
  const said = reason ? `: ${reason}` : '';
  const error = (httpStatus: number, code: ErrorCodeValue, message: string, headers?: Record<string, string>) =>
    new UpstreamHttpError(httpStatus, code, message, status, headers);
  if (status === 400 || status === 422) return error(400, ErrorCode.validation, `the upstream rejected the request${said}`);
  if (status === 404) return error(404, ErrorCode.notFound, `the upstream does not know that generation${said}`);
  if (status === 401 || status === 403) {
    return error(502, ErrorCode.upstreamBadResponse, `the upstream rejected the gateway's credentials (HTTP ${status}); the operator must update the upstream key`);
  }
  if (status === 429) return error(503, ErrorCode.dependencyUnavailable, `the upstream is throttling requests${said}; retry later`, retryAfterHeader(retryAfter));
  if (status === 503) return error(503, ErrorCode.dependencyUnavailable, `the upstream is unavailable (HTTP 503)${said}`, retryAfterHeader(retryAfter));
  return error(502, ErrorCode.upstreamBadResponse, `the upstream answered HTTP ${status}${said}`);
}

/** Maps a failed fetch (timeout, reset, refused) onto what the client is told. */
export function upstreamTransportError(error: unknown, timeoutMs: number): GatewayError {
  const name = (error as Error)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new GatewayError(504, ErrorCode.upstreamTimeout, `the upstream did not answer within ${timeoutMs / 1000} s`);
  }
  const code = (error as { cause?: { code?: string } })?.cause?.code ?? (error as { code?: string })?.code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    return new GatewayError(503, ErrorCode.dependencyUnavailable, 'the upstream is unreachable; retry later');
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'ETIMEDOUT') {
    return new GatewayError(504, ErrorCode.upstreamTimeout, `the upstream did not answer within ${timeoutMs / 1000} s`);
  }
  return new GatewayError(502, ErrorCode.upstreamBadResponse, 'the upstream closed the connection without a complete answer');
}

async function readKey(read: () => Promise<string>): Promise<string> {
  try {
    return await read();
  } catch {
    // The SDK's error may name the secret; the client learns only that it failed.
    throw new GatewayError(503, ErrorCode.dependencyUnavailable, "the gateway's upstream credentials are unavailable; retry later");
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
      throw new GatewayError(502, ErrorCode.upstreamBadResponse, `the upstream answered HTTP ${response.status} with a body that is not JSON`);
    }
    const parsed = parseUpstreamGeneration(json);
    if (!parsed.ok) {
      throw new GatewayError(502, ErrorCode.upstreamBadResponse, `the upstream answered with an unexpected body: ${parsed.problem}`);
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
