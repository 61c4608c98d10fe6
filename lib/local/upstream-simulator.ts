/**
 * An upstream simulator: a real HTTP server on 127.0.0.1 that behaves like
 * the upstream video API (SPEC section 2, fixtures in shared/fixtures/upstream).
 *
 *   POST /luma/generations/{id}/extend   submit an extension   (Bearer auth)
 *   POST /luma/generations               submit a new video    (Bearer auth)
 *   GET  /luma/generations/{id}          the generation's current state
 *
 * Answers in the configured shape: 'raw' (a Luma generation object, like
 * submit-raw-pending.json) or 'wrapped' ({code, message, request_id, data},
 * millisecond timestamps, like submit-wrapped.json). After accepting a
 * submission with a notify_hook it moves the generation pending → processing
 * → completed | failed, one step every `stepDelayMs`, and POSTs the
 * generation object to the hook at each state change (5 s timeout, retried
 * 3 times 100 ms apart, like the official Luma API). Callbacks go only to the
 * notify_hook given, and only to loopback unless `allowCallbackHost` says
 * otherwise: a simulator never calls out to the internet.
 *
 * Faults (set at construction, changed at runtime with setFaults() or
 * `POST /_sim/faults`): latencyMs, errorRate + errorStatus (the upstream's
 * real error bodies), hang, resetConnection, shape, outcome ('never' = stays
 * processing), and callback faults: dropRate, duplicate, reorder, delayMs.
 * These request faults hit any request before it is looked at, so nothing
 * is created.
 *
 * Faults that lose the answer to a submission the upstream DID accept (the
 * generation is created, progresses by its steps and calls back as usual;
 * only the HTTP answer is lost), each drawn with `afterAcceptRate`:
 *   afterAccept 'hang'   the answer is never sent (the caller times out);
 *   afterAccept 'reset'  the connection is destroyed instead of answering;
 *   afterAccept '5xx'    answered `afterAcceptStatus` (500-599) with the
 *                        upstream's real error body for it.
 * And a refusal in a 200, as aggregators answer: `errorEnvelope` {code,
 * message} (null = off), drawn with `errorEnvelopeRate`, answers HTTP 200
 * {"code": <code>, "message": <message>, "data": null} and creates nothing.
 * Both apply to submissions only (POST extend and create, with a valid key
 * and body; the envelope wins when both are drawn); GET is answered as
 * usual, so a generation accepted behind a lost answer can still be read.
 * Every request's record says which fault applied (`fault`) and which
 * generation it created (`generationId`); createdGenerations() (GET
 * /_sim/generations) and submissions() count what was created and POSTed.
 * Random choices use a seeded generator, so runs repeat.
 *
 * Control endpoints (never faulted): GET|POST /_sim/faults, GET /_sim/requests,
 * GET /_sim/callbacks, GET /_sim/generations, POST /_sim/reset,
 * POST /_sim/api-key {"apiKey"}.
 * What is recorded never includes the Authorization value (only whether it
 * was valid), and nothing is logged.
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { mediumBytes, videoSize, videoStream, type SampleMedium } from './media';
import { BodyTooLargeError, closeServer, discardRest, listen, LOOPBACK, readBody, sendJson, sleep, trackSockets } from './net';

export type UpstreamShape = 'raw' | 'wrapped';
export type SimulatedOutcome = 'completed' | 'failed' | 'never';
export type SimulatedState = 'pending' | 'processing' | 'completed' | 'failed';
/** How the answer to an accepted submission is lost ('none': answered as usual). */
export type AfterAcceptFault = 'none' | 'hang' | 'reset' | '5xx';

/** An aggregator's refusal in an HTTP 200: {"code": code, "message": message, "data": null}. */
export interface ErrorEnvelope {
  readonly code: number;
  readonly message: string;
}

export interface CallbackFaults {
  /** Probability (0..1) that a callback is lost. */
  readonly dropRate: number;
  /** Send every callback twice. */
  readonly duplicate: boolean;
  /** Hold the callbacks and send them in reverse order after the last step. */
  readonly reorder: boolean;
  /** Extra delay before each callback is sent (ms). */
  readonly delayMs: number;
}

export interface SimulatorSettings {
  readonly shape: UpstreamShape;
  readonly outcome: SimulatedOutcome;
  /** Time between state changes (ms). */
  readonly stepDelayMs: number;
  /** Delay before answering any request (ms). */
  readonly latencyMs: number;
  /** Probability (0..1) that a request is answered with `errorStatus`. */
  readonly errorRate: number;
  readonly errorStatus: number;
  /** Retry-After sent with 429 and 503 errors (seconds). */
  readonly retryAfterSeconds: number;
  /** Never answer (the caller times out). */
  readonly hang: boolean;
  /** Destroy the connection instead of answering. */
  readonly resetConnection: boolean;
  /** Reason given when the outcome is 'failed'. */
  readonly failureReason: string;
  /** Submissions only: accept (create the generation), then lose the answer this way. */
  readonly afterAccept: AfterAcceptFault;
  /** The status answered by afterAccept '5xx' (500-599). */
  readonly afterAcceptStatus: number;
  /** Probability (0..1) that afterAccept applies to a submission. */
  readonly afterAcceptRate: number;
  /** Submissions only: refuse in an HTTP 200 with this envelope, creating nothing (null = off). */
  readonly errorEnvelope: ErrorEnvelope | null;
  /** Probability (0..1) that errorEnvelope applies to a submission. */
  readonly errorEnvelopeRate: number;
  readonly callbacks: CallbackFaults;
  /**
   * Media of completed generations (GET /media/...): each link the simulator hands out works for this long,
   * then answers 403 as the upstreams' presigned links do (X-Amz-Expires=3600).
   */
  readonly mediaLinkTtlSeconds: number;
  /** 0: media served; else every media request is answered with this HTTP status (400-599). */
  readonly mediaStatus: number;
  /** Size of each generation's video in bytes (a valid MP4 padded to it); 0: the smallest (about 5 KB). */
  readonly mediaVideoBytes: number;
}

export type SimulatorPatch = Partial<Omit<SimulatorSettings, 'callbacks' | 'errorEnvelope'>> & {
  callbacks?: Partial<CallbackFaults>;
  /** Missing fields take the defaults (1001, 'insufficient balance'); null turns it off. */
  errorEnvelope?: Partial<ErrorEnvelope> | null;
};

/** What the recorded request says was done to it. */
export type RequestFault = 'latency' | 'error' | 'hang' | 'reset' | 'accept-hang' | 'accept-reset' | 'accept-5xx' | 'error-envelope';

export interface SimulatorOptions extends SimulatorPatch {
  /** The key the simulator expects as `Authorization: Bearer <key>`; random by default. */
  readonly apiKey?: string;
  /** 0 (default) = a free port. */
  readonly port?: number;
  /** Seed of the random choices (error rate, drop rate). */
  readonly seed?: number;
  readonly callbackTimeoutMs?: number;
  readonly callbackRetries?: number;
  readonly callbackRetryDelayMs?: number;
  /** Hosts a callback may be sent to; loopback only by default. */
  readonly allowCallbackHost?: (hostname: string) => boolean;
  /** Extending an id the simulator does not know answers 404 (default: accepted, like an id from elsewhere). */
  readonly strictParents?: boolean;
  /** Base of the asset URLs of completed generations; by default the simulator's own /media, where it serves them. */
  readonly assetBaseUrl?: string;
}

export interface RecordedRequest {
  readonly at: number;
  readonly method: string;
  readonly path: string;
  /** Request headers, lower-cased, without Authorization. */
  readonly headers: Readonly<Record<string, string>>;
  /** Whether the Authorization header carried the expected key. */
  readonly auth: 'valid' | 'invalid' | 'missing';
  readonly authValid: boolean;
  /** The JSON body, or the text when it is not JSON (truncated), or undefined. */
  readonly body: unknown;
  /** The fault applied, if any (the last one: a latency followed by a hang records 'hang'). */
  fault?: RequestFault;
  /** The status answered (undefined for hang and reset, including after an accept). */
  status?: number;
  /** The generation this submission created, whether or not its answer was sent. */
  generationId?: string;
}

export interface CallbackDelivery {
  readonly generationId: string;
  /** The notify_hook URL (holds the gateway's callback token: never log it). */
  readonly url: string;
  readonly state: SimulatedState;
  readonly body: unknown;
  readonly copy: number;
  outcome: 'sending' | 'delivered' | 'failed' | 'dropped' | 'refused';
  attempts: number;
  status?: number;
  error?: string;
  at: number;
}

export interface GenerationSnapshot {
  readonly id: string;
  readonly prompt: string;
  readonly state: SimulatedState;
  readonly parentId?: string;
  readonly notifyHook?: string;
  /** When the submission created it (ms). */
  readonly createdAt: number;
  /** How its submission's answer was lost, if it was ('none': answered). */
  readonly afterAccept: AfterAcceptFault;
}

export interface UpstreamSimulator {
  readonly url: string;
  readonly port: number;
  readonly requests: readonly RecordedRequest[];
  readonly callbacks: readonly CallbackDelivery[];
  readonly settings: SimulatorSettings;
  /** The key currently expected (for the local stack, which puts it in the local secret). */
  readonly apiKey: string;
  /** Media requests answered (GET /media/...), served or refused. */
  readonly mediaRequests: number;
  setFaults(patch: SimulatorPatch): SimulatorSettings;
  /** Changes the expected key (simulates a rotation at the upstream). */
  setApiKey(apiKey: string): void;
  generation(id: string): GenerationSnapshot | undefined;
  /** Every generation created by a submission since the start or the last reset, oldest first (not the seed generation). */
  createdGenerations(): GenerationSnapshot[];
  /** Every submission received (POST extend or create), whatever its outcome, oldest first. */
  submissions(): RecordedRequest[];
  /** Forgets requests, callbacks and generations, cancels pending steps, restores the construction settings. */
  reset(): void;
  /** Resolves when `count` callbacks matching `filter` have finished (delivered, failed, dropped or refused). */
  waitForCallbacks(count: number, options?: { filter?: (delivery: CallbackDelivery) => boolean; timeoutMs?: number }): Promise<CallbackDelivery[]>;
  /** Resolves when no step is scheduled and no callback is in flight. */
  idle(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** The generation the seed's example extends; known to the simulator from the start (completed). */
export const SEED_GENERATION_ID = '4665a07c-7641-4809-a133-10786201bb56';

export const DEFAULT_SETTINGS: SimulatorSettings = {
  shape: 'raw',
  outcome: 'completed',
  stepDelayMs: 300,
  latencyMs: 0,
  errorRate: 0,
  errorStatus: 500,
  retryAfterSeconds: 7,
  hang: false,
  resetConnection: false,
  failureReason: 'Advanced moderation failed',
  afterAccept: 'none',
  afterAcceptStatus: 500,
  afterAcceptRate: 1,
  errorEnvelope: null,
  errorEnvelopeRate: 1,
  callbacks: { dropRate: 0, duplicate: false, reorder: false, delayMs: 0 },
  mediaLinkTtlSeconds: 3600,
  mediaStatus: 0,
  mediaVideoBytes: 0,
};

const MAX_RECORDS = 10_000;
const MAX_BODY_BYTES = 16 * 1024 * 1024;
const MAX_RECORDED_TEXT = 10_000;

/** mulberry32: a tiny seeded PRNG, so faults repeat from run to run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function snapshot(g: Generation): GenerationSnapshot {
  return { id: g.id, prompt: g.prompt, state: g.state, parentId: g.parentId, notifyHook: g.notifyHook, createdAt: g.createdAt, afterAccept: g.afterAccept };
}

const SUBMISSION_PATH = /^\/luma\/generations(?:\/[^/]+\/extend)?$/;
const isSubmission = (r: RecordedRequest) => r.method === 'POST' && SUBMISSION_PATH.test(r.path);

const withoutToken = (url: string) => url.replace(/\/luma\/callbacks\/[^/?#]+/, '/luma/callbacks/{token}');

function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/** An error answer as the upstream's real errors look (fixtures/upstream/error-*.json). */
export function errorAnswer(status: number, retryAfterSeconds: number): { status: number; headers: Record<string, string>; body: string } {
  const json = (body: unknown, headers: Record<string, string> = {}) => ({
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  switch (status) {
    case 400:
      return json({ detail: { reason: 'invalid request body', code: 1 } });
    case 401:
      return json({ detail: 'Invalid API key is provided' });
    case 403:
      return json({ detail: { reason: 'unauthorized secret token', code: 1 } });
    case 404:
      return json({ detail: 'generation not found' });
    case 422:
      return json({ detail: [{ loc: ['body', 'user_prompt'], msg: 'field required', type: 'value_error.missing' }] });
    case 429:
      return json({ detail: { reason: 'too many requests, please slow down', code: 429 } }, { 'Retry-After': String(retryAfterSeconds) });
    case 502:
      return { status, headers: { 'Content-Type': 'text/html' }, body: '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>\n' };
    case 503:
      return {
        status,
        headers: { 'Content-Type': 'text/plain', 'Retry-After': String(retryAfterSeconds) },
        body: 'upstream connect error or disconnect/reset before headers. reset reason: overflow',
      };
    default:
      return json({ error: { message: 'Panic detected, error: runtime error: index out of range [0] with length 0', type: 'api_panic' } });
  }
}

const AFTER_ACCEPT_FAULTS: readonly AfterAcceptFault[] = ['none', 'hang', 'reset', '5xx'];
const DEFAULT_ERROR_ENVELOPE: ErrorEnvelope = { code: 1001, message: 'insufficient balance' };

const isServerErrorStatus = (value: unknown) => typeof value === 'number' && Number.isInteger(value) && value >= 500 && value <= 599;

function checkErrorEnvelope(value: unknown): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'object' || Array.isArray(value)) throw new Error('errorEnvelope must be {"code", "message"} or null');
  const { code, message, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new Error(`unknown errorEnvelope setting ${unknown[0]}; known: code, message`);
  // A zero code is the wrapped shape's success: an envelope must refuse.
  if (code !== undefined && (typeof code !== 'number' || !Number.isInteger(code) || code === 0)) throw new Error('errorEnvelope.code must be a non-zero integer');
  if (message !== undefined && typeof message !== 'string') throw new Error('errorEnvelope.message must be a string');
}

function checkPatch(patch: unknown): SimulatorPatch {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) throw new Error('faults must be a JSON object');
  const p = patch as Record<string, unknown>;
  const known = new Set([...Object.keys(DEFAULT_SETTINGS)]);
  for (const key of Object.keys(p)) if (!known.has(key)) throw new Error(`unknown setting ${key}; known: ${[...known].join(', ')}`);
  const rate = (name: string, value: unknown) => {
    if (value !== undefined && (typeof value !== 'number' || !(value >= 0 && value <= 1))) throw new Error(`${name} must be a number from 0 to 1`);
  };
  const ms = (name: string, value: unknown) => {
    if (value !== undefined && (typeof value !== 'number' || !(value >= 0 && value <= 600_000))) throw new Error(`${name} must be a number of milliseconds from 0 to 600000`);
  };
  const bool = (name: string, value: unknown) => {
    if (value !== undefined && typeof value !== 'boolean') throw new Error(`${name} must be true or false`);
  };
  if (p.shape !== undefined && p.shape !== 'raw' && p.shape !== 'wrapped') throw new Error("shape must be 'raw' or 'wrapped'");
  if (p.outcome !== undefined && !['completed', 'failed', 'never'].includes(p.outcome as string)) throw new Error("outcome must be 'completed', 'failed' or 'never'");
  ms('stepDelayMs', p.stepDelayMs);
  ms('latencyMs', p.latencyMs);
  rate('errorRate', p.errorRate);
  if (p.errorStatus !== undefined && (typeof p.errorStatus !== 'number' || !Number.isInteger(p.errorStatus) || p.errorStatus < 400 || p.errorStatus > 599)) {
    throw new Error('errorStatus must be an HTTP error status (400-599)');
  }
  if (p.retryAfterSeconds !== undefined && (typeof p.retryAfterSeconds !== 'number' || !(p.retryAfterSeconds >= 0))) throw new Error('retryAfterSeconds must be a number >= 0');
  bool('hang', p.hang);
  bool('resetConnection', p.resetConnection);
  if (p.failureReason !== undefined && typeof p.failureReason !== 'string') throw new Error('failureReason must be a string');
  if (p.afterAccept !== undefined && !AFTER_ACCEPT_FAULTS.includes(p.afterAccept as AfterAcceptFault)) {
    throw new Error(`afterAccept must be one of ${AFTER_ACCEPT_FAULTS.map((f) => `'${f}'`).join(', ')}`);
  }
  if (p.afterAcceptStatus !== undefined && !isServerErrorStatus(p.afterAcceptStatus)) throw new Error('afterAcceptStatus must be an HTTP server error status (500-599)');
  rate('afterAcceptRate', p.afterAcceptRate);
  checkErrorEnvelope(p.errorEnvelope);
  rate('errorEnvelopeRate', p.errorEnvelopeRate);
  if (p.mediaLinkTtlSeconds !== undefined && (typeof p.mediaLinkTtlSeconds !== 'number' || !(p.mediaLinkTtlSeconds >= 0))) throw new Error('mediaLinkTtlSeconds must be a number >= 0');
  if (p.mediaStatus !== undefined && (typeof p.mediaStatus !== 'number' || !(p.mediaStatus === 0 || (Number.isInteger(p.mediaStatus) && p.mediaStatus >= 400 && p.mediaStatus <= 599)))) {
    throw new Error('mediaStatus must be 0 (served) or an HTTP error status (400-599)');
  }
  if (p.mediaVideoBytes !== undefined && (typeof p.mediaVideoBytes !== 'number' || !Number.isInteger(p.mediaVideoBytes) || p.mediaVideoBytes < 0)) throw new Error('mediaVideoBytes must be an integer >= 0');
  if (p.callbacks !== undefined) {
    if (p.callbacks === null || typeof p.callbacks !== 'object' || Array.isArray(p.callbacks)) throw new Error('callbacks must be a JSON object');
    const c = p.callbacks as Record<string, unknown>;
    const knownCallbacks = new Set(Object.keys(DEFAULT_SETTINGS.callbacks));
    for (const key of Object.keys(c)) if (!knownCallbacks.has(key)) throw new Error(`unknown callbacks setting ${key}; known: ${[...knownCallbacks].join(', ')}`);
    rate('callbacks.dropRate', c.dropRate);
    bool('callbacks.duplicate', c.duplicate);
    bool('callbacks.reorder', c.reorder);
    ms('callbacks.delayMs', c.delayMs);
  }
  return p as SimulatorPatch;
}

function merge(settings: SimulatorSettings, patch: SimulatorPatch): SimulatorSettings {
  const { callbacks, errorEnvelope, ...rest } = checkPatch(patch);
  const defined = <T extends object>(object: T) => Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as Partial<T>;
  return {
    ...settings,
    ...defined(rest),
    errorEnvelope: mergeErrorEnvelope(settings.errorEnvelope, errorEnvelope),
    callbacks: { ...settings.callbacks, ...defined(callbacks ?? {}) },
  };
}

/** undefined keeps the current envelope, null turns it off, a partial one fills in from the current or the default. */
function mergeErrorEnvelope(current: ErrorEnvelope | null, patch: Partial<ErrorEnvelope> | null | undefined): ErrorEnvelope | null {
  if (patch === undefined) return current;
  if (patch === null) return null;
  const base = current ?? DEFAULT_ERROR_ENVELOPE;
  return { code: patch.code ?? base.code, message: patch.message ?? base.message };
}

interface Generation {
  readonly id: string;
  readonly prompt: string;
  readonly parentId?: string;
  readonly createdAt: number;
  updatedAt: number;
  state: SimulatedState;
  readonly notifyHook?: string;
  /** Settings as they were when the generation was submitted. */
  readonly settings: SimulatorSettings;
  /** How its submission's answer was lost ('none': answered). */
  readonly afterAccept: AfterAcceptFault;
  held: { state: SimulatedState; body: unknown }[];
}

export async function startUpstreamSimulator(options: SimulatorOptions = {}): Promise<UpstreamSimulator> {
  const {
    apiKey: initialKey,
    port: requestedPort,
    seed = 1,
    callbackTimeoutMs = 5_000,
    callbackRetries = 3,
    callbackRetryDelayMs = 100,
    allowCallbackHost = isLoopbackHost,
    strictParents = false,
    assetBaseUrl: givenAssetBaseUrl,
    ...patch
  } = options;
  const initialSettings = merge(DEFAULT_SETTINGS, patch);
  let settings = initialSettings;
  let apiKey = initialKey ?? `sk-sim-${randomBytes(24).toString('base64url')}`;
  let random = seededRandom(seed);
  const requests: RecordedRequest[] = [];
  const callbacks: CallbackDelivery[] = [];
  const generations = new Map<string, Generation>();
  const timers = new Set<NodeJS.Timeout>();
  let abort = new AbortController();
  let inFlight = 0;
  let mediaRequests = 0;

  const seedGeneration = () => {
    const at = Date.parse('2024-12-22T14:40:00.000Z');
    generations.set(SEED_GENERATION_ID, {
      id: SEED_GENERATION_ID,
      prompt: 'a dog running on the beach',
      createdAt: at,
      updatedAt: at,
      state: 'completed',
      settings: initialSettings,
      afterAccept: 'none',
      held: [],
    });
  };
  seedGeneration();

  /** Whether a fault with this probability applies; draws only for a rate strictly between 0 and 1, so rates of 0 and 1 leave the other faults' sequence as it was. */
  const drawn = (rate: number) => rate >= 1 || (rate > 0 && random() < rate);

  const later = (ms: number, run: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, ms);
    timers.add(timer);
  };

  // ---------- shapes ----------

  /** Links to a generation's media: its own /media (served below), signed with their issue time, or under assetBaseUrl. */
  const assets = (id: string) => {
    const own = givenAssetBaseUrl === undefined;
    const base = `${givenAssetBaseUrl ?? `${simulator.url}/media`}/${id}`;
    // Like the aggregators' presigned links: when it was issued and for how long, in the query.
    const signed = own ? `?X-Amz-Date=${Date.now()}&X-Amz-Expires=${settings.mediaLinkTtlSeconds}` : '';
    return {
      video: `${base}/watermarked_video.mp4${signed}`,
      download: `${base}/video.mp4${signed}`,
      thumbnail: `${base}/thumbnail.jpg${signed}`,
      lastFrame: `${base}/last_frame.jpg${signed}`,
    };
  };

  const MEDIA_FILES: Readonly<Record<string, { medium: SampleMedium; type: string }>> = {
    'watermarked_video.mp4': { medium: 'video', type: 'video/mp4' },
    'video.mp4': { medium: 'video', type: 'video/mp4' },
    'thumbnail.jpg': { medium: 'thumbnail', type: 'image/jpeg' },
    'last_frame.jpg': { medium: 'last_frame', type: 'image/jpeg' },
  };

  /** GET /media/<generation id>/<file>?X-Amz-Date=..&X-Amz-Expires=..: the medium's real bytes while the link lasts, then 403. */
  function handleMedia(req: IncomingMessage, res: ServerResponse, path: string) {
    mediaRequests += 1;
    const [, , id, file] = path.split('/');
    const entry = MEDIA_FILES[file ?? ''];
    const query = new URL(req.url ?? '/', 'http://simulator').searchParams;
    const issued = Number(query.get('X-Amz-Date'));
    const ttl = Number(query.get('X-Amz-Expires'));
    const deny = (status: number, code: string) => {
      res.writeHead(status, { 'Content-Type': 'application/xml' }).end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code></Error>`);
    };
    if (req.method !== 'GET' || entry === undefined || !generations.has(id)) return deny(404, 'NoSuchKey');
    if (!Number.isFinite(issued) || !Number.isFinite(ttl) || Date.now() > issued + ttl * 1000) return deny(403, 'AccessDenied');
    if (settings.mediaStatus !== 0) return deny(settings.mediaStatus, 'SimulatedFault');
    // The watermarked and the plain video differ (their tags), so a test tells which one was copied.
    const tag = `${id}/${file}`;
    if (entry.medium === 'video') {
      res.writeHead(200, { 'Content-Type': entry.type, 'Content-Length': String(videoSize(tag, settings.mediaVideoBytes)) });
      videoStream(tag, settings.mediaVideoBytes).pipe(res);
      return;
    }
    const bytes = mediumBytes(entry.medium, tag);
    res.writeHead(200, { 'Content-Type': entry.type, 'Content-Length': String(bytes.length) }).end(bytes);
  }

  /** A raw Luma generation object, like fixtures/upstream/generation-*.json. */
  const rawBody = (g: Generation, promptOverride?: string) => {
    const a = assets(g.id);
    const done = g.state === 'completed';
    return {
      id: g.id,
      prompt: promptOverride ?? g.prompt,
      state: g.state,
      queue_state: null,
      created_at: new Date(g.createdAt).toISOString().replace('Z', '000Z'),
      batch_id: '',
      ...(done && {
        request: { prompt: g.prompt, aspect_ratio: '16:9' },
        artifact: { video: { url: a.video }, thumbnail: { url: a.thumbnail }, last_frame: { url: a.lastFrame } },
      }),
      video: done ? { url: a.video, width: 1360, height: 752, download_url: a.download } : null,
      video_raw: done ? { url: a.download, width: 1360, height: 752 } : null,
      liked: null,
      estimate_wait_seconds: g.state === 'processing' ? 42 : null,
      thumbnail: done ? { url: a.thumbnail, width: 1360, height: 752 } : null,
      last_frame: done ? { url: a.lastFrame, width: 1360, height: 752 } : null,
      ...(g.state === 'failed' ? { failure_reason: g.settings.failureReason } : done ? { failure_reason: null } : {}),
    };
  };

  const WRAPPED_STATUS: Record<SimulatedState, string> = { pending: 'submitted', processing: 'processing', completed: 'succeed', failed: 'failed' };

  /** The aggregator's wrapped form, like fixtures/upstream/submit-wrapped.json (ms timestamps). */
  const wrappedBody = (g: Generation) => {
    const a = assets(g.id);
    return {
      code: 0,
      message: 'SUCCEED',
      request_id: randomUUID(),
      data: {
        task_id: g.id,
        task_status: WRAPPED_STATUS[g.state],
        created_at: g.createdAt,
        updated_at: g.updatedAt,
        ...(g.state === 'completed' && {
          task_result: { videos: [{ id: 'v1', url: a.download, duration: '5.1' }], thumbnail_url: a.thumbnail, last_frame_url: a.lastFrame },
        }),
        ...(g.state === 'failed' && { fail_reason: g.settings.failureReason }),
      },
    };
  };

  const render = (g: Generation, shape: UpstreamShape, submitAnswer = false) =>
    shape === 'wrapped' ? wrappedBody(g) : rawBody(g, submitAnswer ? '' : undefined);

  // ---------- callbacks ----------

  const finished = (d: CallbackDelivery) => d.outcome !== 'sending';

  async function deliver(g: Generation, state: SimulatedState, body: unknown, copy: number): Promise<void> {
    const url = g.notifyHook!;
    const delivery: CallbackDelivery = { generationId: g.id, url, state, body, copy, outcome: 'sending', attempts: 0, at: Date.now() };
    callbacks.push(delivery);
    if (callbacks.length > MAX_RECORDS) callbacks.shift();
    let hostname = '';
    try {
      const parsed = new URL(url);
      if (parsed.protocol === 'http:' || parsed.protocol === 'https:') hostname = parsed.hostname;
    } catch {
      // refused below
    }
    if (hostname === '' || !allowCallbackHost(hostname)) {
      delivery.outcome = 'refused';
      delivery.error = 'the simulator only calls loopback notify_hook URLs';
      return;
    }
    const signal = abort.signal;
    for (let attempt = 0; attempt <= callbackRetries; attempt += 1) {
      if (signal.aborted) break;
      if (attempt > 0) await sleep(callbackRetryDelayMs);
      delivery.attempts += 1;
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'User-Agent': 'luma-upstream-simulator/1' },
          body: JSON.stringify(body),
          redirect: 'manual',
          signal: AbortSignal.any([signal, AbortSignal.timeout(callbackTimeoutMs)]),
        });
        await response.arrayBuffer().catch(() => undefined);
        delivery.status = response.status;
        if (response.ok) {
          delivery.outcome = 'delivered';
          delivery.error = undefined;
          return;
        }
        delivery.error = `HTTP ${response.status}`;
      } catch (error) {
        delivery.error = (error as Error).name === 'TimeoutError' ? `no answer within ${callbackTimeoutMs} ms` : String((error as Error).message);
      }
    }
    delivery.outcome = 'failed';
  }

  /** Sends one callback (with its faults), after the previous ones of the same generation. */
  const chains = new Map<string, Promise<void>>();
  function sendCallback(g: Generation, state: SimulatedState, body: unknown): void {
    const faults = g.settings.callbacks;
    const dropped = random() < faults.dropRate;
    const copies = faults.duplicate ? 2 : 1;
    inFlight += 1;
    const previous = chains.get(g.id) ?? Promise.resolve();
    const next = previous.then(async () => {
      try {
        if (faults.delayMs > 0) await sleep(faults.delayMs);
        for (let copy = 1; copy <= copies; copy += 1) {
          if (abort.signal.aborted) return;
          if (dropped) {
            callbacks.push({ generationId: g.id, url: g.notifyHook!, state, body, copy, outcome: 'dropped', attempts: 0, at: Date.now() });
            continue;
          }
          await deliver(g, state, body, copy);
        }
      } finally {
        inFlight -= 1;
      }
    });
    chains.set(g.id, next);
    void next.finally(() => {
      if (chains.get(g.id) === next) chains.delete(g.id);
    });
  }

  /** A state change: update the generation, then tell its hook (or hold the callback when reordering). */
  function step(g: Generation, state: SimulatedState, last: boolean): void {
    g.state = state;
    g.updatedAt = Date.now();
    if (g.notifyHook === undefined) return;
    const body = render(g, g.settings.shape);
    if (g.settings.callbacks.reorder) {
      g.held.push({ state, body });
      if (last) {
        for (const held of g.held.reverse()) sendCallback(g, held.state, held.body);
        g.held = [];
      }
      return;
    }
    sendCallback(g, state, body);
  }

  function progress(g: Generation): void {
    const { stepDelayMs, outcome } = g.settings;
    const neverEnds = outcome === 'never';
    // The submission itself is the pending state; its callback follows the answer.
    later(0, () => step(g, 'pending', false));
    later(stepDelayMs, () => step(g, 'processing', neverEnds));
    if (!neverEnds) later(2 * stepDelayMs, () => step(g, outcome, true));
  }

  // ---------- HTTP ----------

  const keyMatches = (header: string | undefined): RecordedRequest['auth'] => {
    if (header === undefined || header === '') return 'missing';
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (!match) return 'invalid';
    const given = Buffer.from(match[1]);
    const expected = Buffer.from(apiKey);
    return given.length === expected.length && timingSafeEqual(given, expected) ? 'valid' : 'invalid';
  };

  const record = (req: IncomingMessage, path: string, auth: RecordedRequest['auth'], text: string): RecordedRequest => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (name === 'authorization' || value === undefined) continue;
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    let body: unknown;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        body = text.slice(0, MAX_RECORDED_TEXT);
      }
    }
    const entry: RecordedRequest = { at: Date.now(), method: req.method ?? '', path, headers, auth, authValid: auth === 'valid', body };
    requests.push(entry);
    if (requests.length > MAX_RECORDS) requests.shift();
    return entry;
  };

  const reply = (res: ServerResponse, entry: RecordedRequest, status: number, body: unknown, headers: Record<string, string> = {}) => {
    entry.status = status;
    sendJson(res, status, body, headers);
  };

  const replyError = (res: ServerResponse, entry: RecordedRequest, status: number) => {
    const answer = errorAnswer(status, settings.retryAfterSeconds);
    entry.status = status;
    res.writeHead(answer.status, { ...answer.headers, 'Content-Length': String(Buffer.byteLength(answer.body)) });
    res.end(answer.body);
  };

  /** The answer to an accepted submission, or the way it is lost (the generation exists and progresses either way). */
  function answerAccepted(res: ServerResponse, entry: RecordedRequest, g: Generation): void {
    switch (g.afterAccept) {
      case 'none':
        return reply(res, entry, 200, render(g, g.settings.shape, true));
      case 'hang':
        entry.fault = 'accept-hang';
        return; // The socket stays open until the caller gives up (or stop()).
      case 'reset':
        entry.fault = 'accept-reset';
        res.socket?.resetAndDestroy();
        return;
      case '5xx':
        entry.fault = 'accept-5xx';
        return replyError(res, entry, g.settings.afterAcceptStatus);
    }
  }

  function submit(res: ServerResponse, entry: RecordedRequest, parentId: string | undefined) {
    const body = entry.body as Record<string, unknown> | undefined;
    if (body === null || typeof body !== 'object' || Array.isArray(body) || typeof body.user_prompt !== 'string' || body.user_prompt.trim() === '') {
      return replyError(res, entry, 400);
    }
    if (parentId !== undefined && strictParents && !generations.has(parentId)) return replyError(res, entry, 404);
    const current = settings;
    // A refusal is decided before anything is created, as an aggregator checks the balance first.
    if (current.errorEnvelope !== null && drawn(current.errorEnvelopeRate)) {
      entry.fault = 'error-envelope';
      return reply(res, entry, 200, { code: current.errorEnvelope.code, message: current.errorEnvelope.message, data: null });
    }
    const afterAccept = current.afterAccept !== 'none' && drawn(current.afterAcceptRate) ? current.afterAccept : 'none';
    const now = Date.now();
    const hook = typeof body.notify_hook === 'string' && body.notify_hook !== '' ? body.notify_hook : undefined;
    const g: Generation = {
      id: randomUUID(),
      prompt: body.user_prompt,
      parentId,
      createdAt: now,
      updatedAt: now,
      state: 'pending',
      notifyHook: hook,
      settings: current,
      afterAccept,
      held: [],
    };
    generations.set(g.id, g);
    entry.generationId = g.id;
    answerAccepted(res, entry, g);
    progress(g);
  }

  async function handleApi(req: IncomingMessage, res: ServerResponse, path: string) {
    let text = '';
    try {
      text = (await readBody(req, MAX_BODY_BYTES)).toString('utf8');
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        sendJson(res, 413, { detail: 'request entity too large' }, { Connection: 'close' });
        discardRest(req);
        return;
      }
      throw error;
    }
    const auth = keyMatches(req.headers.authorization);
    const entry = record(req, path, auth, text);
    const current = settings;
    if (current.latencyMs > 0) {
      entry.fault = 'latency';
      await sleep(current.latencyMs);
    }
    if (current.hang) {
      entry.fault = 'hang';
      return; // The socket stays open until the caller gives up (or stop()).
    }
    if (current.resetConnection) {
      entry.fault = 'reset';
      req.socket.resetAndDestroy();
      return;
    }
    if (current.errorRate > 0 && random() < current.errorRate) {
      entry.fault = 'error';
      return replyError(res, entry, current.errorStatus);
    }
    if (auth !== 'valid') return replyError(res, entry, 401);

    const extend = /^\/luma\/generations\/([^/]+)\/extend$/.exec(path);
    const one = /^\/luma\/generations\/([^/]+)$/.exec(path);
    if (req.method === 'POST' && extend) return submit(res, entry, decodeURIComponent(extend[1]));
    if (req.method === 'POST' && path === '/luma/generations') return submit(res, entry, undefined);
    if (req.method === 'GET' && one) {
      const g = generations.get(decodeURIComponent(one[1]));
      return g ? reply(res, entry, 200, render(g, settings.shape)) : replyError(res, entry, 404);
    }
    return reply(res, entry, 404, { detail: 'Not Found' });
  }

  async function handleControl(req: IncomingMessage, res: ServerResponse, path: string) {
    const json = async () => {
      const text = (await readBody(req, 64 * 1024)).toString('utf8');
      return text.trim() === '' ? {} : JSON.parse(text);
    };
    try {
      if (path === '/_sim/faults' && req.method === 'GET') return sendJson(res, 200, settings);
      if (path === '/_sim/faults' && req.method === 'POST') return sendJson(res, 200, simulator.setFaults(await json()));
      if (path === '/_sim/requests' && req.method === 'GET') return sendJson(res, 200, requests);
      // Callback URLs hold the gateway's tokens: show only the path's shape.
      if (path === '/_sim/callbacks' && req.method === 'GET') return sendJson(res, 200, callbacks.map((d) => ({ ...d, url: withoutToken(d.url) })));
      if (path === '/_sim/generations' && req.method === 'GET') {
        return sendJson(res, 200, simulator.createdGenerations().map((g) => ({ ...g, notifyHook: g.notifyHook && withoutToken(g.notifyHook) })));
      }
      if (path === '/_sim/reset' && req.method === 'POST') {
        simulator.reset();
        return sendJson(res, 200, settings);
      }
      if (path === '/_sim/api-key' && req.method === 'POST') {
        const body = await json();
        if (typeof body?.apiKey !== 'string' || body.apiKey.length < 8) throw new Error('send {"apiKey": "<at least 8 characters>"}');
        simulator.setApiKey(body.apiKey);
        return sendJson(res, 200, { rotated: true });
      }
      return sendJson(res, 404, { detail: 'unknown control endpoint: /_sim/faults, /_sim/requests, /_sim/callbacks, /_sim/generations, /_sim/reset, /_sim/api-key' });
    } catch (error) {
      return sendJson(res, 400, { detail: (error as Error).message });
    }
  }

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path.startsWith('/media/')) return handleMedia(req, res, path);
    const handle = path.startsWith('/_sim/') ? handleControl(req, res, path) : handleApi(req, res, path);
    handle.catch(() => {
      if (!res.headersSent) sendJson(res, 500, { error: { message: 'simulator failure', type: 'simulator' } });
      else res.destroy();
    });
  });
  const sockets = trackSockets(server);
  const port = await listen(server, requestedPort ?? 0, 'upstream simulator');

  const simulator: UpstreamSimulator = {
    url: `http://${LOOPBACK}:${port}`,
    port,
    requests,
    callbacks,
    get settings() {
      return settings;
    },
    get apiKey() {
      return apiKey;
    },
    get mediaRequests() {
      return mediaRequests;
    },
    setFaults: (change) => {
      settings = merge(settings, change);
      return settings;
    },
    setApiKey: (key) => {
      apiKey = key;
    },
    generation: (id) => {
      const g = generations.get(id);
      return g && snapshot(g);
    },
    createdGenerations: () => [...generations.values()].filter((g) => g.id !== SEED_GENERATION_ID).map(snapshot),
    submissions: () => requests.filter(isSubmission),
    reset: () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      abort.abort();
      abort = new AbortController();
      requests.length = 0;
      callbacks.length = 0;
      generations.clear();
      seedGeneration();
      settings = initialSettings;
      random = seededRandom(seed);
    },
    waitForCallbacks: async (count, { filter = () => true, timeoutMs = 10_000 } = {}) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const done = callbacks.filter((d) => finished(d) && filter(d));
        if (done.length >= count) return done;
        if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${count} callbacks, ${done.length} finished`);
        await sleep(20);
      }
    },
    idle: async (timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      while (timers.size > 0 || inFlight > 0) {
        if (Date.now() > deadline) throw new Error(`the simulator was still busy after ${timeoutMs} ms`);
        await sleep(20);
      }
    },
    stop: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      abort.abort();
      await closeServer(server, sockets);
    },
  };
  return simulator;
}
