/**
 * The upstream video API over HTTP (UpstreamClient, functions/domain/ports.ts),
 * on node:http/node:https with a keep-alive agent. Sends submissions and
 * reads generations, accepts both response shapes, and sorts every way a
 * call can fail into `refused` (the upstream definitely created nothing) or
 * `unknown` (it may have), each with the kind of failure the client is told.
 *
 * Submissions are never retried blindly: a retry could start a second
 * generation. The one retry is after a 401 (a refusal), with a freshly read
 * key, and only when the caller's deadline leaves room for it.
 */
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { UpstreamError, type FailureKind } from '#domain/errors';
import { silentLog, silentMetrics, type LogSink, type MetricSink, type SecretSource, type UpstreamCallOptions, type UpstreamClient, type UpstreamGeneration } from '#domain/ports';
import { AWS_CALL_WORST_MS, MIN_UPSTREAM_ATTEMPT_MS } from '../../time-budget';
import { envelopeRefusal, parseUpstreamGeneration } from './response';

export interface UpstreamClientOptions {
  readonly baseUrl: string;
  readonly apiKey: SecretSource;
  /** Longest one attempt may take, when the caller's deadline allows it. */
  readonly timeoutMs: number;
  /** Longest a read of the key may take (a refresh after a 401 is tried only when it fits). @default one AWS SDK call at worst */
  readonly keyReadMs?: number;
  /** One line per exchange (never a key, a body or a URL with a token: the path holds only upstream ids). @default none */
  readonly log?: LogSink;
  /** UpstreamRequests, UpstreamLatency, UpstreamErrors, UpstreamRefusals. @default none */
  readonly metrics?: MetricSink;
}

const MAX_REASON_LENGTH = 300;
/** Idle longer than this (a frozen Lambda, say), pooled sockets are dropped: a submission never goes out on a socket the upstream may have closed. */
const MAX_SOCKET_IDLE_MS = 2000;

/** The upstream's message made safe to show: no credential-looking token, one line, bounded. */
export function cleanReason(reason: string): string {
  const clean = reason
    .replace(/(bearer\s+)\S+/gi, '$1[redacted]')
    .replace(/\b(?:sk|pk|rk|key|token|secret)[-_][A-Za-z0-9_-]{6,}/gi, '[redacted]')
    .replace(/[A-Za-z0-9+/_-]{32,}={0,2}/g, '[redacted]')
    .replace(/[\r\n\t]+/g, ' ')
    .trim();
  return clean.length > MAX_REASON_LENGTH ? `${clean.slice(0, MAX_REASON_LENGTH)}…` : clean;
}

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
  return typeof reason === 'string' ? cleanReason(reason) : undefined;
}

/** Retry-After (seconds or an HTTP date) as seconds, at most an hour; undefined when absent or unreadable. */
function retryAfterSeconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = /^\d+$/.test(value.trim()) ? Number(value) : Math.ceil((Date.parse(value) - Date.now()) / 1000);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds, 3600) : undefined;
}

const CONTENT_REFUSAL = /moderat|safety|nsfw|content polic|violat|inappropriate|prohibit|sensitive|not allowed|审核|违规|敏感/i;
const BALANCE_REFUSAL = /balance|insufficient|credit|payment|billing|余额|欠费/i;
const QUOTA_REFUSAL = /quota|rate limit|too many|concurren|limit exceeded|频繁|限流/i;

/**
 * What kind of refusal an upstream's reason is, for the client: its content
 * (422), the account's balance (402), a quota (429), else the request (400).
 */
export function refusalKind(reason: string | undefined): FailureKind {
  if (reason === undefined) return 'upstream-rejected';
  if (CONTENT_REFUSAL.test(reason)) return 'upstream-content-refused';
  if (BALANCE_REFUSAL.test(reason)) return 'upstream-balance';
  if (QUOTA_REFUSAL.test(reason)) return 'upstream-quota';
  return 'upstream-rejected';
}

const REFUSAL_MESSAGE: Partial<Record<FailureKind, string>> = {
  'upstream-content-refused': 'the upstream refused the content of the request',
  'upstream-balance': 'the upstream refused the request for lack of balance',
  'upstream-quota': 'the upstream refused the request for a quota or rate limit; retry later',
};

function refusal(kind: FailureKind, reason: string | undefined, status: number, retryAfter?: number): UpstreamError {
  const said = reason ? `: ${reason}` : '';
  return new UpstreamError(kind, `${REFUSAL_MESSAGE[kind] ?? 'the upstream rejected the request'}${said}`, 'refused', status, retryAfter);
}

/**
 * Maps an upstream HTTP error answer: a 4xx is a refusal (the upstream said
 * no; 408 is a timeout, so unknown), a 5xx is unknown: the upstream may have
 * accepted the work before failing, and its text stays out of the message.
 */
export function upstreamHttpError(status: number, bodyText: string, retryAfter: string | undefined = undefined): UpstreamError {
  const reason = upstreamReason(bodyText);
  const said = reason ? `: ${reason}` : '';
  if (status === 404) return new UpstreamError('not-found', `the upstream does not know that generation${said}`, 'refused', status);
  if (status === 401 || status === 403) {
    return new UpstreamError(
      'upstream-failed',
      `the upstream rejected the gateway's credentials (HTTP ${status}); the operator must update the upstream key`,
      'refused',
      status,
    );
  }
  if (status === 429) {
    return new UpstreamError('unavailable', `the upstream is throttling requests${said}; retry later`, 'refused', status, retryAfterSeconds(retryAfter));
  }
  if (status === 408) return new UpstreamError('upstream-timeout', 'the upstream gave up waiting (HTTP 408)', 'unknown', status);
  if (status >= 400 && status < 500) return refusal(refusalKind(reason), reason, status);
  return new UpstreamError('upstream-failed', `the upstream answered HTTP ${status}`, 'unknown', status, retryAfterSeconds(retryAfter));
}

/** A request that failed before or after it may have reached the upstream. */
export class TransportFailure extends Error {
  constructor(
    /** The connection was established: the request may have reached the upstream. */
    readonly mayHaveArrived: boolean,
    readonly timedOut: boolean,
    readonly code: string | undefined,
  ) {
    super(`upstream transport failure (${code ?? (timedOut ? 'timeout' : 'error')})`);
  }
}

/** Maps a transport failure: nothing sent is a refusal (unreachable), anything else is unknown. */
export function upstreamTransportError(failure: TransportFailure, timeoutMs: number): UpstreamError {
  if (!failure.mayHaveArrived) {
    const message = failure.timedOut ? `the upstream could not be reached within ${timeoutMs / 1000} s; retry later` : 'the upstream is unreachable; retry later';
    return new UpstreamError('unavailable', message, 'refused');
  }
  if (failure.timedOut) return new UpstreamError('upstream-timeout', `the upstream did not answer within ${timeoutMs / 1000} s`, 'unknown');
  return new UpstreamError('upstream-failed', 'the upstream closed the connection without a complete answer', 'unknown');
}

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

interface Exchange {
  readonly url: URL;
  readonly method: 'GET' | 'POST';
  readonly headers: Record<string, string>;
  readonly body?: string;
  readonly timeoutMs: number;
}

/** One HTTP exchange with a single timeout over connect, request and answer; never follows redirects. */
type Send = (url: URL, options: RequestOptions) => ClientRequest;

function exchange(send: Send, agent: HttpAgent, { url, method, headers, body, timeoutMs }: Exchange): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let connected = false;
    let settled = false;
    const fail = (timedOut: boolean, code?: string) => {
      if (settled) return;
      settled = true;
      reject(new TransportFailure(connected, timedOut, code));
    };
    const req = send(url, {
      method,
      agent,
      headers: { ...headers, ...(body === undefined ? {} : { 'Content-Length': Buffer.byteLength(body) }) },
    });
    const timer = setTimeout(() => {
      fail(true, 'ETIMEDOUT');
      req.destroy();
    }, timeoutMs);
    req.on('socket', (socket: Socket) => {
      // A pooled socket is connected already; a new one once it connects (and, for https, once TLS is up).
      if (!socket.connecting) connected = true;
      else socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => (connected = true));
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        clearTimeout(timer);
        if (settled) return;
        settled = true;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        fail(false, error.code);
      });
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      fail(false, error.code);
    });
    req.end(body);
  });
}

async function readKey(read: () => Promise<string>): Promise<string> {
  try {
    return await read();
  } catch {
    // The SDK's error may name the secret; the client learns only that it failed.
    throw new UpstreamError('unavailable', "the gateway's upstream credentials are unavailable; retry later", 'refused');
  }
}

/** Reads a 2xx answer: a generation, or an error envelope (a refusal), or something unreadable (unknown). */
function readAnswer(answer: Answer): UpstreamGeneration {
  let json: unknown;
  try {
    json = JSON.parse(answer.text);
  } catch {
    throw new UpstreamError('upstream-failed', `the upstream answered HTTP ${answer.status} with a body that is not JSON`, 'unknown', answer.status);
  }
  const refused = envelopeRefusal(json);
  if (refused) {
    const reason = refused.message === undefined ? `code ${refused.code}` : cleanReason(`${refused.message} (code ${refused.code})`);
    throw refusal(refusalKind(refused.message), reason, answer.status);
  }
  const parsed = parseUpstreamGeneration(json);
  if (!parsed.ok) throw new UpstreamError('upstream-failed', `the upstream answered with an unexpected body: ${parsed.problem}`, 'unknown', answer.status);
  return parsed.generation;
}

/**
 * What an upstream exchange that failed counts as: an upstream error (no
 * usable answer: timeouts, resets, unreachable, 5xx, 429, 401/403, an
 * unreadable 2xx) or a refusal of the client's request (any other 4xx, an
 * error envelope, 404), which is the upstream working as it should.
 */
export function isUpstreamFault(error: UpstreamError): boolean {
  return error.outcome === 'unknown' || error.kind === 'unavailable' || error.kind === 'upstream-failed';
}

type Operation = 'submit' | 'look-up';

export function createUpstreamClient({
  baseUrl,
  apiKey,
  timeoutMs,
  keyReadMs = AWS_CALL_WORST_MS,
  log = silentLog,
  metrics = silentMetrics,
}: UpstreamClientOptions): UpstreamClient {
  const base = new URL(baseUrl.replace(/\/+$/, ''));
  const https = base.protocol === 'https:';
  // Looked up at each call, not kept: an instrumentation that wraps node:http later (the Tracer's) still sees every call.
  const send: Send = (url, options) => (https ? httpsRequest : httpRequest)(url, options);
  const agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: 50 }) : new HttpAgent({ keepAlive: true, maxSockets: 50 });
  let lastUsedAt = 0;

  /** One exchange's line and metrics: what it gave, and how long it took. */
  function record(operation: Operation, options: UpstreamCallOptions, durationMs: number, answer: Answer | undefined, error: UpstreamError | undefined): void {
    metrics.count('UpstreamRequests');
    metrics.milliseconds('UpstreamLatency', durationMs);
    const result = error === undefined ? 'answered' : isUpstreamFault(error) ? 'error' : 'refused';
    if (error !== undefined && result === 'error') metrics.count('UpstreamErrors', 1, { outcome: error.outcome, kind: error.kind });
    if (error !== undefined && result === 'refused') metrics.count('UpstreamRefusals', 1, { kind: error.kind });
    const line = {
      // Absent, not undefined: a submission's line carries the task id its logger has appended.
      ...(options.taskId !== undefined && { task_id: options.taskId }),
      operation,
      http_status: answer?.status,
      duration_ms: durationMs,
      result,
      ...(error && { outcome: error.outcome, kind: error.kind }),
      // The upstream's own words on a failure, cleaned of anything credential-like (a 5xx's text is in no client's answer).
      ...(answer && (answer.status < 200 || answer.status >= 300) && { upstream_reason: upstreamReason(answer.text) }),
    };
    if (result === 'error') log.warn('upstream call failed', line);
    else log.info('upstream call', line);
  }

  async function call(method: 'GET' | 'POST', path: string, body: unknown, options: UpstreamCallOptions = {}): Promise<UpstreamGeneration> {
    const deadlineAt = options.deadlineAt ?? Infinity;
    const operation: Operation = method === 'POST' ? 'submit' : 'look-up';
    /** One exchange; a transport failure is recorded here, an answer by the caller once it is read. */
    const attempt = async (key: string): Promise<{ answer: Answer; startedAt: number }> => {
      const left = deadlineAt - Date.now();
      const timeout = Math.min(timeoutMs, left);
      if (left < MIN_UPSTREAM_ATTEMPT_MS) {
        throw new UpstreamError('unavailable', 'the gateway ran out of time before it could call the upstream; retry in a few seconds', 'refused', undefined, 2);
      }
      if (Date.now() - lastUsedAt > MAX_SOCKET_IDLE_MS) dropIdleSockets(agent);
      const startedAt = Date.now();
      try {
        const answer = await exchange(send, agent, {
          url: new URL(`${base.pathname.replace(/\/$/, '')}${path}`, base),
          method,
          headers: {
            Authorization: `Bearer ${key}`,
            Accept: 'application/json',
            ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
            ...(options.requestId ? { 'X-Request-Id': options.requestId } : {}),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          timeoutMs: timeout,
        });
        return { answer, startedAt };
      } catch (error) {
        if (!(error instanceof TransportFailure)) throw error;
        const failure = upstreamTransportError(error, timeout);
        record(operation, options, Date.now() - startedAt, undefined, failure);
        throw failure;
      } finally {
        lastUsedAt = Date.now();
      }
    };
    /** What an answer means: the generation, or the error it is (recorded either way). */
    const settle = ({ answer, startedAt }: { answer: Answer; startedAt: number }): UpstreamGeneration => {
      const durationMs = Date.now() - startedAt;
      try {
        if (answer.status < 200 || answer.status >= 300) throw upstreamHttpError(answer.status, answer.text, headerValue(answer.headers['retry-after']));
        const generation = readAnswer(answer);
        record(operation, options, durationMs, answer, undefined);
        return generation;
      } catch (error) {
        if (error instanceof UpstreamError) record(operation, options, durationMs, answer, error);
        throw error;
      }
    };

    let exchanged = await attempt(await readKey(apiKey.get));
    // A 401 created nothing: read the key again (a rotation) and try once more, when there is time for both.
    if (exchanged.answer.status === 401 && deadlineAt - Date.now() >= keyReadMs + MIN_UPSTREAM_ATTEMPT_MS) {
      record(operation, options, Date.now() - exchanged.startedAt, exchanged.answer, upstreamHttpError(401, exchanged.answer.text));
      exchanged = await attempt(await readKey(apiKey.refresh));
    }
    return settle(exchanged);
  }

  return {
    submit: (parentUpstreamId, submission, options) =>
      call(
        'POST',
        parentUpstreamId === undefined ? '/luma/generations' : `/luma/generations/${encodeURIComponent(parentUpstreamId)}/extend`,
        submission,
        options,
      ),
    getGeneration: (upstreamId, options) => call('GET', `/luma/generations/${encodeURIComponent(upstreamId)}`, undefined, options),
  };
}

/** Closes the agent's pooled idle sockets (never one in use by a call in flight). */
function dropIdleSockets(agent: HttpAgent): void {
  for (const sockets of Object.values(agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
