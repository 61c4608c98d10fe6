/**
 * The local HTTP front: a node:http server on 127.0.0.1 that does what API
 * Gateway (REST API, Lambda proxy integration) does in AWS, so the same
 * handlers answer the same way:
 *
 * - routes come from functions/routes.ts; an unknown path or method is the
 *   MISSING_AUTHENTICATION_TOKEN gateway response (404 envelope here);
 * - bodies over API Gateway's 10 MB are refused with 413 while streaming,
 *   before they are buffered; an event over Lambda's 6 MB invocation limit is
 *   INTEGRATION_FAILURE (as in AWS: the handler never sees it);
 * - routes with auth 'client' run the TOKEN authorizer (functions/authorizer)
 *   with the Authorization header, its verdict cached per token for
 *   `authorizerCacheTtlSeconds` (API Gateway's resultsCacheTtl); no header →
 *   401 without calling it; "Unauthorized" → 401; a Deny or non-matching
 *   policy → ACCESS_DENIED; any other failure → AUTHORIZER_FAILURE;
 * - a route served by a function URL in AWS (`front` in functions/routes.ts:
 *   the upstream's callback) gets the payload 2.0 event a function URL sends
 *   (function-url-event.ts), without the authorizer;
 * - the request becomes an API Gateway proxy (v1) event, the handler gets a
 *   Lambda context, and its result is written back; a handler that throws,
 *   times out or answers a malformed result → 502 envelope (never a stack
 *   trace); past the 29 s integration timeout → INTEGRATION_TIMEOUT (504).
 *
 * Errors the front answers itself use functions/http/gateway-responses.ts,
 * the definitions the CDK stack deploys, so local and AWS answer alike.
 * One access-log line per request, with the TEMPLATE resource path only
 * (the raw path carries callback tokens), never headers or keys.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type {
  APIGatewayAuthorizerResult,
  APIGatewayProxyEvent,
  APIGatewayTokenAuthorizerEvent,
} from 'aws-lambda';
import { frontOf, routes as defaultRoutes, type RouteDefinition } from '../../functions/routes';
import { gatewayResponse, gatewayResponseBody, type GatewayResponseType } from '../../functions/http/gateway-responses';
import { FunctionTimeoutError, handlerCache, InvocationKilledError, invokeWith, LOCAL_ACCOUNT_ID, LOCAL_REGION, type LambdaHandler } from './lambda-runtime';
import { functionUrlEvent } from './function-url-event';
import { BodyTooLargeError, closeServer, discardRest, listen, LOOPBACK, readBody, trackSockets } from './net';

/** API Gateway's maximum request payload. */

/** requestContext.identity of an API Gateway REST proxy event for a caller without IAM or Cognito credentials. */
export function callerIdentity(sourceIp: string, userAgent: string | null): APIGatewayProxyEvent['requestContext']['identity'] {
  return {
    accessKey: null,
    accountId: null,
    apiKey: null,
    apiKeyId: null,
    caller: null,
    clientCert: null,
    cognitoAuthenticationProvider: null,
    cognitoAuthenticationType: null,
    cognitoIdentityId: null,
    cognitoIdentityPoolId: null,
    principalOrgId: null,
    sourceIp,
    user: null,
    userAgent,
    userArn: null,
  };
}

export const API_GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;
/** Lambda's synchronous invocation payload limit (the whole event, as JSON). */
export const LAMBDA_MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** API Gateway's default (and, for REST APIs, usual maximum) integration timeout. */
export const INTEGRATION_TIMEOUT_MS = 29_000;

export type TokenAuthorizer = (event: APIGatewayTokenAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;

/** One access-log line: the fields of the deployed stage's access log that exist locally. */
export interface AccessLogEntry {
  readonly requestId: string;
  readonly requestTime: string;
  readonly httpMethod: string;
  /** The route's template (/luma/callbacks/{token}), never the raw path; '-' when no route matched. */
  readonly resourcePath: string;
  readonly status: number;
  readonly responseLength: number;
  readonly responseLatency: number;
  readonly integrationLatency?: number;
  readonly principalId?: string;
  readonly errorResponseType?: GatewayResponseType;
}

export interface HttpFrontOptions {
  /** 0 (default) = a free port. */
  readonly port?: number;
  readonly routes?: readonly RouteDefinition[];
  /** Loads functions/<name>/handler.ts by default. */
  readonly loadHandler?: (functionName: string) => Promise<LambdaHandler>;
  /** The TOKEN authorizer; functions/authorizer by default. */
  readonly authorizer?: TokenAuthorizer;
  /** API Gateway's resultsCacheTtl (0 disables caching). Default 300. */
  readonly authorizerCacheTtlSeconds?: number;
  readonly maxBodyBytes?: number;
  readonly lambdaPayloadLimitBytes?: number;
  readonly integrationTimeoutMs?: number;
  /** Lambda timeout per function; lib/function-needs.ts by default. */
  readonly functionTimeoutMs?: (functionName: string) => number | undefined;
  /** Where access-log lines go; a JSON line on stdout by default; false for none. */
  readonly accessLog?: ((entry: AccessLogEntry) => void) | false;
  /** Where the front reports handler crashes for the developer (name and message only); stderr by default. */
  readonly errorLog?: (line: string) => void;
  /** Requests wait until this settles (the stack finishes its wiring first). */
  readonly ready?: Promise<unknown>;
  readonly stage?: string;
  /**
   * JSON documents the front answers itself at GET <path>, without a key
   * (the OpenAPI document at /openapi.json): local only, never API routes.
   */
  readonly documents?: ReadonlyMap<string, () => unknown>;
}

export interface HttpFront {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** How many times the authorizer ran (cache misses). */
  readonly authorizerCalls: number;
  clearAuthorizerCache(): void;
  /** Imports every route's handler and the authorizer now (a warm start, and import errors at startup). */
  preload(): Promise<void>;
  stop(): Promise<void>;
}

interface CompiledRoute {
  readonly route: RouteDefinition;
  readonly pattern: RegExp;
  readonly params: readonly string[];
  /** Literal segments win over {param} ones, as in API Gateway. */
  readonly literalSegments: number;
}

function compileRoute(route: RouteDefinition): CompiledRoute {
  const params: string[] = [];
  let literalSegments = 0;
  const source = route.path
    .split('/')
    .map((segment) => {
      const param = /^\{([A-Za-z0-9_]+)(\+?)\}$/.exec(segment);
      if (!param) {
        if (segment !== '') literalSegments += 1;
        return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      }
      params.push(param[1]);
      return param[2] === '+' ? '(.+)' : '([^/]+)';
    })
    .join('/');
  return { route, pattern: new RegExp(`^${source}$`), params, literalSegments };
}

/** Glob of IAM resource ARNs: `*` any run of characters, `?` one. */
function arnMatches(pattern: string, arn: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`).test(arn);
}

const asList = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** API Gateway's evaluation of an authorizer policy for one method ARN: an explicit Deny wins, an Allow is required. */
export function policyAllows(result: APIGatewayAuthorizerResult, methodArn: string): boolean {
  let allowed = false;
  for (const statement of asList(result.policyDocument?.Statement) as any[]) {
    const actions = asList<string>(statement.Action);
    const resources = asList<string>(statement.Resource);
    const actionMatches = actions.some((action) => arnMatches(action.toLowerCase(), 'execute-api:invoke'));
    if (!actionMatches || !resources.some((resource) => arnMatches(resource, methodArn))) continue;
    if (statement.Effect === 'Deny') return false;
    if (statement.Effect === 'Allow') allowed = true;
  }
  return allowed;
}

/** CLF-like time, as $context.requestTime: 24/Nov/2026:17:26:03 +0000. */
function requestTime(date: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

function decodeParam(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function appendValue(values: Map<string, string[]>, name: string, value: string): void {
  const list = values.get(name);
  if (list) list.push(value);
  else values.set(name, [value]);
}

/** API Gateway's two views of repeated names: the last value, and every value. */
function singleAndMultiValue(values: Map<string, string[]>): { single: Record<string, string>; multi: Record<string, string[]> } {
  return {
    single: Object.fromEntries([...values].map(([name, list]) => [name, list[list.length - 1]])),
    multi: Object.fromEntries(values),
  };
}

class GatewayAnswer extends Error {
  constructor(
    readonly type: GatewayResponseType,
    readonly status?: number,
  ) {
    super(type);
  }
}

interface CachedVerdict {
  readonly result: APIGatewayAuthorizerResult;
  readonly expiresAt: number;
}

const MAX_CACHED_TOKENS = 10_000;

export async function startHttpFront(options: HttpFrontOptions = {}): Promise<HttpFront> {
  const compiled = (options.routes ?? defaultRoutes).map(compileRoute).sort((a, b) => b.literalSegments - a.literalSegments);
  const load = handlerCache(options.loadHandler);
  const cacheTtlMs = (options.authorizerCacheTtlSeconds ?? 300) * 1000;
  const maxBodyBytes = options.maxBodyBytes ?? API_GATEWAY_MAX_BODY_BYTES;
  const payloadLimit = options.lambdaPayloadLimitBytes ?? LAMBDA_MAX_PAYLOAD_BYTES;
  const integrationTimeoutMs = options.integrationTimeoutMs ?? INTEGRATION_TIMEOUT_MS;
  const stage = options.stage ?? 'local';
  const apiId = 'local';
  const accessLog = options.accessLog === false ? undefined : (options.accessLog ?? ((entry: AccessLogEntry) => console.log(JSON.stringify(entry))));
  const errorLog = options.errorLog ?? ((line: string) => console.error(line));
  const verdicts = new Map<string, CachedVerdict>();
  const inFlight = new Map<string, Promise<CachedVerdict>>();
  let authorizerCalls = 0;

  const callAuthorizer = async (event: APIGatewayTokenAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
    authorizerCalls += 1;
    const authorizer: LambdaHandler = options.authorizer ? (e) => options.authorizer!(e) : await load('authorizer');
    return (await invokeWith(authorizer, 'authorizer', event, timeoutOf('authorizer'))) as APIGatewayAuthorizerResult;
  };

  function timeoutOf(functionName: string): { timeoutMs?: number } {
    const timeoutMs = options.functionTimeoutMs?.(functionName);
    return timeoutMs === undefined ? {} : { timeoutMs };
  }

  function match(method: string, path: string): { route: RouteDefinition; pathParameters: Record<string, string> | null } | undefined {
    for (const candidate of compiled) {
      if (candidate.route.method !== method) continue;
      const found = candidate.pattern.exec(path);
      if (!found) continue;
      const pathParameters = Object.fromEntries(candidate.params.map((name, i) => [name, decodeParam(found[i + 1])]));
      return { route: candidate.route, pathParameters: candidate.params.length > 0 ? pathParameters : null };
    }
    return undefined;
  }

  async function runAuthorizer(token: string, methodArn: string): Promise<CachedVerdict> {
    let result: APIGatewayAuthorizerResult;
    try {
      result = await callAuthorizer({ type: 'TOKEN', authorizationToken: token, methodArn });
    } catch (error) {
      if ((error as Error)?.message === 'Unauthorized') throw new GatewayAnswer('UNAUTHORIZED');
      errorLog(`authorizer failed: ${(error as Error)?.name ?? 'Error'}: ${(error as Error)?.message ?? String(error)}`);
      throw new GatewayAnswer('AUTHORIZER_FAILURE');
    }
    if (result === null || typeof result !== 'object' || typeof result.principalId !== 'string' || result.policyDocument === undefined) {
      errorLog('authorizer returned no principalId or policyDocument');
      throw new GatewayAnswer('AUTHORIZER_CONFIGURATION_ERROR');
    }
    const verdict = { result, expiresAt: Date.now() + cacheTtlMs };
    if (cacheTtlMs > 0) {
      if (verdicts.size >= MAX_CACHED_TOKENS) verdicts.delete(verdicts.keys().next().value as string);
      verdicts.set(token, verdict);
    }
    return verdict;
  }

  /** Runs the authorizer (or uses its cached verdict); returns requestContext.authorizer. */
  async function authorize(token: string | undefined, methodArn: string): Promise<Record<string, unknown>> {
    if (token === undefined || token.trim() === '') throw new GatewayAnswer('UNAUTHORIZED');
    const now = Date.now();
    let verdict = verdicts.get(token);
    if (verdict === undefined || verdict.expiresAt <= now) {
      // Concurrent first requests with one token share one authorizer call.
      let pending = inFlight.get(token);
      if (pending === undefined) {
        pending = runAuthorizer(token, methodArn).finally(() => inFlight.delete(token));
        inFlight.set(token, pending);
      }
      verdict = await pending;
    }
    if (!policyAllows(verdict.result, methodArn)) throw new GatewayAnswer('ACCESS_DENIED');
    return { ...(verdict.result.context ?? {}), principalId: verdict.result.principalId };
  }

  function buildEvent(
    req: IncomingMessage,
    route: RouteDefinition,
    path: string,
    query: URLSearchParams,
    pathParameters: Record<string, string> | null,
    body: Buffer,
    requestId: string,
    started: Date,
  ): APIGatewayProxyEvent {
    // Names are data: collected in Maps and turned into own properties (Object.fromEntries), as JSON.parse
    // does for the event Lambda receives, so `__proto__`, `constructor` or `toString` are ordinary names.
    const headerValues = new Map<string, string[]>();
    for (let i = 0; i < req.rawHeaders.length; i += 2) appendValue(headerValues, req.rawHeaders[i], req.rawHeaders[i + 1]);
    const sourceIp = req.socket.remoteAddress ?? LOOPBACK;
    for (const [name, value] of [
      ['X-Forwarded-For', sourceIp],
      ['X-Forwarded-Port', String(req.socket.localPort ?? '')],
      ['X-Forwarded-Proto', 'http'],
    ] as const) {
      if (![...headerValues.keys()].some((existing) => existing.toLowerCase() === name.toLowerCase())) headerValues.set(name, [value]);
    }
    const queryValues = new Map<string, string[]>();
    for (const [name, value] of query) appendValue(queryValues, name, value);
    const { single: headers, multi: multiValueHeaders } = singleAndMultiValue(headerValues);
    const { single: queryStringParameters, multi: multiValueQueryStringParameters } = singleAndMultiValue(queryValues);
    const hasQuery = queryValues.size > 0;
    const host = headers.Host ?? headers.host ?? `${LOOPBACK}`;
    return {
      resource: route.path,
      path,
      httpMethod: route.method,
      headers,
      multiValueHeaders,
      queryStringParameters: hasQuery ? queryStringParameters : null,
      multiValueQueryStringParameters: hasQuery ? multiValueQueryStringParameters : null,
      pathParameters,
      stageVariables: null,
      body: body.length === 0 ? null : body.toString('utf8'),
      isBase64Encoded: false,
      requestContext: {
        accountId: LOCAL_ACCOUNT_ID,
        apiId,
        authorizer: undefined,
        domainName: host,
        domainPrefix: host.split('.')[0],
        extendedRequestId: randomUUID(),
        httpMethod: route.method,
        identity: callerIdentity(sourceIp, headers['User-Agent'] ?? headers['user-agent'] ?? null),
        path: `/${stage}${path}`,
        protocol: `HTTP/${req.httpVersion}`,
        requestId,
        requestTime: requestTime(started),
        requestTimeEpoch: started.getTime(),
        resourceId: 'local',
        resourcePath: route.path,
        stage,
      },
    };
  }

  /** Writes a Lambda proxy result back, or throws when it is malformed (→ 502, as API Gateway). */
  function writeResult(res: ServerResponse, result: unknown, requestId: string): number {
    const r = result as { statusCode?: unknown; headers?: unknown; multiValueHeaders?: unknown; body?: unknown; isBase64Encoded?: unknown } | null;
    const status = r?.statusCode;
    if (r === null || typeof r !== 'object' || typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) {
      throw new Error('malformed Lambda proxy response: no valid statusCode');
    }
    if (r.body !== undefined && r.body !== null && typeof r.body !== 'string') throw new Error('malformed Lambda proxy response: body is not a string');
    const body = typeof r.body === 'string' ? Buffer.from(r.body, r.isBase64Encoded === true ? 'base64' : 'utf8') : Buffer.alloc(0);
    const headers = new Map<string, { name: string; values: string[] }>();
    const add = (name: string, value: unknown) => {
      if (value === undefined || value === null) return;
      const key = name.toLowerCase();
      if (key === 'content-length' || key === 'transfer-encoding' || key === 'connection') return;
      const entry = headers.get(key) ?? { name, values: [] };
      entry.values.push(String(value));
      headers.set(key, entry);
    };
    for (const [name, values] of Object.entries((r.multiValueHeaders as Record<string, unknown[]>) ?? {})) for (const value of asList(values)) add(name, value);
    for (const [name, value] of Object.entries((r.headers as Record<string, unknown>) ?? {})) {
      if (!headers.has(name.toLowerCase())) add(name, value);
    }
    res.statusCode = status;
    for (const { name, values } of headers.values()) res.setHeader(name, values.length === 1 ? values[0] : values);
    res.setHeader('x-amzn-RequestId', requestId);
    res.setHeader('Content-Length', String(body.length));
    res.end(body);
    return body.length;
  }

  function writeRouteResult(res: ServerResponse, route: RouteDefinition, result: unknown, requestId: string): number {
    try {
      return writeResult(res, result, requestId);
    } catch (error) {
      errorLog(`functions/${route.functionName}: ${(error as Error).message}`);
      throw new GatewayAnswer('DEFAULT_5XX', 502);
    }
  }

  function writeDocument(res: ServerResponse, document: unknown, requestId: string): number {
    const text = JSON.stringify(document);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)), 'x-amzn-RequestId': requestId });
    res.end(text);
    return Buffer.byteLength(text);
  }

  function writeGatewayResponse(res: ServerResponse, type: GatewayResponseType, requestId: string, status?: number): number {
    const definition = gatewayResponse(type);
    const text = JSON.stringify(gatewayResponseBody(definition, requestId));
    res.writeHead(status ?? definition.statusCode ?? definition.fallbackStatus, {
      ...definition.headers,
      'Content-Type': 'application/json',
      'Content-Length': String(Buffer.byteLength(text)),
      'x-amzn-RequestId': requestId,
      'x-amzn-ErrorType': type,
    });
    res.end(text);
    return Buffer.byteLength(text);
  }

  async function invokeRoute(route: RouteDefinition, event: unknown, requestId: string): Promise<unknown> {
    let handler: LambdaHandler;
    try {
      handler = await load(route.functionName);
    } catch (error) {
      // In AWS: Runtime.ImportModuleError, a function error → 502.
      errorLog(`functions/${route.functionName}/handler.ts failed to load: ${(error as Error)?.message ?? String(error)}`);
      throw new GatewayAnswer('DEFAULT_5XX', 502);
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        invokeWith(handler, route.functionName, event, { requestId, ...timeoutOf(route.functionName) }),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new GatewayAnswer('INTEGRATION_TIMEOUT')), integrationTimeoutMs);
        }),
      ]);
    } catch (error) {
      if (error instanceof GatewayAnswer) throw error;
      if (error instanceof FunctionTimeoutError || error instanceof InvocationKilledError) errorLog(error.message);
      else errorLog(`functions/${route.functionName} threw ${(error as Error)?.name ?? 'Error'}: ${(error as Error)?.message ?? String(error)}`);
      // A Lambda function error: API Gateway answers 502.
      throw new GatewayAnswer('DEFAULT_5XX', 502);
    } finally {
      clearTimeout(timer);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = new Date();
    const requestId = randomUUID();
    let resourcePath = '-';
    let principalId: string | undefined;
    let integrationLatency: number | undefined;
    let errorResponseType: GatewayResponseType | undefined;
    let responseLength = 0;
    const method = req.method ?? 'GET';
    try {
      await options.ready;
      const target = req.url ?? '/';
      const queryAt = target.indexOf('?');
      const path = queryAt < 0 ? target : target.slice(0, queryAt);
      const query = new URLSearchParams(queryAt < 0 ? '' : target.slice(queryAt + 1));
      const found = match(method, path);
      if (found) resourcePath = found.route.path;
      // The size limit comes first, as at API Gateway's door; then the route.
      let body: Buffer;
      try {
        body = await readBody(req, maxBodyBytes);
      } catch (error) {
        if (error instanceof BodyTooLargeError) {
          res.setHeader('Connection', 'close');
          discardRest(req);
          throw new GatewayAnswer('REQUEST_TOO_LARGE');
        }
        throw error;
      }
      const document = found || method !== 'GET' ? undefined : options.documents?.get(path);
      if (document) {
        resourcePath = path;
        responseLength = writeDocument(res, document(), requestId);
        return;
      }
      if (!found) throw new GatewayAnswer('MISSING_AUTHENTICATION_TOKEN');
      const { route, pathParameters } = found;

      // A route on a function URL in AWS gets the event a function URL sends (payload 2.0), whose 6 MB limit answers 413.
      if (frontOf(route) === 'function-url') {
        const event = functionUrlEvent(req, path, queryAt < 0 ? '' : target.slice(queryAt + 1), body, requestId, started);
        if (Buffer.byteLength(JSON.stringify(event)) > payloadLimit) throw new GatewayAnswer('REQUEST_TOO_LARGE');
        const integrationStarted = Date.now();
        const result = await invokeRoute(route, event, requestId);
        integrationLatency = Date.now() - integrationStarted;
        responseLength = writeRouteResult(res, route, result, requestId);
        return;
      }
      const event = buildEvent(req, route, path, query, pathParameters, body, requestId, started);
      if (route.auth === 'client') {
        const header = Object.entries(event.headers).find(([name]) => name.toLowerCase() === 'authorization')?.[1];
        const methodArn = `arn:aws:execute-api:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${apiId}/${stage}/${method}/${path.replace(/^\//, '')}`;
        const context = await authorize(header, methodArn);
        principalId = context.principalId as string;
        event.requestContext.authorizer = context;
      }
      if (Buffer.byteLength(JSON.stringify(event)) > payloadLimit) throw new GatewayAnswer('INTEGRATION_FAILURE');

      const integrationStarted = Date.now();
      const result = await invokeRoute(route, event, requestId);
      integrationLatency = Date.now() - integrationStarted;
      responseLength = writeRouteResult(res, route, result, requestId);
    } catch (error) {
      const answer = error instanceof GatewayAnswer ? error : new GatewayAnswer('DEFAULT_5XX', 500);
      if (!(error instanceof GatewayAnswer)) errorLog(`local front failure: ${(error as Error)?.message ?? String(error)}`);
      errorResponseType = answer.type;
      if (!res.headersSent) responseLength = writeGatewayResponse(res, answer.type, requestId, answer.status);
      else res.destroy();
    } finally {
      accessLog?.({
        requestId,
        requestTime: requestTime(started),
        httpMethod: method,
        resourcePath,
        status: res.statusCode,
        responseLength,
        responseLatency: Date.now() - started.getTime(),
        ...(integrationLatency !== undefined && { integrationLatency }),
        ...(principalId !== undefined && { principalId }),
        ...(errorResponseType !== undefined && { errorResponseType }),
      });
    }
  }

  const server = createServer((req, res) => void handle(req, res));
  // Requests that hang are bounded by the integration timeout, not by node's defaults.
  server.requestTimeout = 0;
  const sockets = trackSockets(server);
  const port = await listen(server, options.port ?? 0, 'API (local HTTP front)', 'PORT');

  return {
    url: `http://${LOOPBACK}:${port}`,
    port,
    server,
    get authorizerCalls() {
      return authorizerCalls;
    },
    clearAuthorizerCache: () => verdicts.clear(),
    preload: async () => {
      const names = new Set(compiled.map((c) => c.route.functionName));
      if (!options.authorizer) names.add('authorizer');
      await Promise.all([...names].map((name) => load(name)));
    },
    stop: () => closeServer(server, sockets),
  };
}
