/**
 * The local HTTP front, with stand-in handlers and authorizer: the API
 * Gateway proxy event it builds, authorizer calls and caching, the gateway
 * responses it answers itself, and the access log.
 */
import { request } from 'node:http';
import type { APIGatewayAuthorizerResult, APIGatewayProxyEvent, APIGatewayTokenAuthorizerEvent, Context } from 'aws-lambda';
import type { RouteDefinition } from '../../functions/routes';
import { gatewayResponse } from '../../functions/http/gateway-responses';
import { startHttpFront, type AccessLogEntry, type HttpFront, type HttpFrontOptions } from '../../lib/local/http-front';
import type { LambdaHandler } from '../../lib/local/lambda-runtime';

const routes: RouteDefinition[] = [
  { functionName: 'echo', method: 'GET', path: '/luma/generations/{task_id}', auth: 'client', jsonBody: false, summary: '' },
  { functionName: 'echo', method: 'POST', path: '/luma/generations/{task_id}/extend', auth: 'client', jsonBody: true, summary: '' },
  { functionName: 'hook', method: 'POST', path: '/luma/callbacks/{token}', auth: 'none', jsonBody: true, summary: '' },
  { functionName: 'throws', method: 'GET', path: '/throws', auth: 'none', jsonBody: false, summary: '' },
  { functionName: 'malformed', method: 'GET', path: '/malformed', auth: 'none', jsonBody: false, summary: '' },
  { functionName: 'slow', method: 'GET', path: '/slow', auth: 'none', jsonBody: false, summary: '' },
];

const GOOD = 'Bearer lgw_good-key-0123456789abcdef';
const DENY = 'Bearer lgw_denied-key-0123456789abcd';
const BROKEN = 'Bearer lgw_broken-key-0123456789abcd';

let seen: { event: APIGatewayProxyEvent; context: Context }[] = [];
let authorizerEvents: APIGatewayTokenAuthorizerEvent[] = [];
let slowMs = 0;

const handlers: Record<string, LambdaHandler> = {
  echo: async (event, context) => {
    seen.push({ event, context });
    return {
      statusCode: 201,
      headers: { 'Content-Type': 'application/json', 'X-One': 'a' },
      multiValueHeaders: { 'Set-Cookie': ['a=1', 'b=2'] },
      body: JSON.stringify({ ok: true, remaining: context.getRemainingTimeInMillis() }),
    };
  },
  hook: async (event, context) => {
    seen.push({ event, context });
    return { statusCode: 200, body: '{}' };
  },
  throws: async () => {
    throw new Error('boom at /secret/place');
  },
  malformed: async () => ({ body: 'no status' }),
  slow: () => new Promise((resolve) => setTimeout(() => resolve({ statusCode: 200, body: 'late' }), slowMs)),
};

async function authorizer(event: APIGatewayTokenAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  authorizerEvents.push(event);
  if (event.authorizationToken === BROKEN) throw new Error('DynamoDB is down');
  if (event.authorizationToken !== GOOD && event.authorizationToken !== DENY) throw new Error('Unauthorized');
  const [apiArn, stage] = event.methodArn.split('/');
  return {
    principalId: 'client-1',
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: event.authorizationToken === DENY ? 'Deny' : 'Allow', Resource: `${apiArn}/${stage}/*/*` }],
    },
    context: { clientId: 'client-1' },
  };
}

const fronts: HttpFront[] = [];
let log: AccessLogEntry[] = [];
let errors: string[] = [];

async function start(options: Partial<HttpFrontOptions> = {}): Promise<HttpFront> {
  const front = await startHttpFront({
    routes,
    loadHandler: async (name) => handlers[name],
    authorizer,
    accessLog: (entry) => log.push(entry),
    errorLog: (line) => errors.push(line),
    ...options,
  });
  fronts.push(front);
  return front;
}

let front: HttpFront;
beforeAll(async () => {
  front = await start();
});
afterAll(async () => {
  await Promise.all(fronts.map((f) => f.stop()));
});
beforeEach(() => {
  seen = [];
  authorizerEvents = [];
  log = [];
  errors = [];
  front.clearAuthorizerCache();
});

const envelopeOf = (type: Parameters<typeof gatewayResponse>[0]) => {
  const definition = gatewayResponse(type);
  return { code: definition.code, message: definition.message, request_id: expect.any(String), data: null };
};

describe('the proxy event', () => {
  test('GET: resource, path, decoded path parameters, query, headers as sent, request context, authorizer context', async () => {
    const response = await fetch(`${front.url}/luma/generations/abc%20d%C3%A9f?x=1&x=2&y=z`, {
      headers: { Authorization: GOOD, 'X-Custom': 'v', 'User-Agent': 'jest' },
    });
    expect(response.status).toBe(201);
    const { event, context } = seen[0];
    expect(event).toMatchObject({
      resource: '/luma/generations/{task_id}',
      path: '/luma/generations/abc%20d%C3%A9f',
      httpMethod: 'GET',
      pathParameters: { task_id: 'abc déf' },
      queryStringParameters: { x: '2', y: 'z' },
      multiValueQueryStringParameters: { x: ['1', '2'], y: ['z'] },
      body: null,
      isBase64Encoded: false,
      stageVariables: null,
    });
    expect(event.headers).toMatchObject({ Authorization: GOOD, 'X-Custom': 'v', 'X-Forwarded-For': '127.0.0.1', 'X-Forwarded-Proto': 'http' });
    expect(event.multiValueHeaders['X-Custom']).toEqual(['v']);
    expect(event.requestContext).toMatchObject({
      stage: 'local',
      resourcePath: '/luma/generations/{task_id}',
      httpMethod: 'GET',
      path: '/local/luma/generations/abc%20d%C3%A9f',
      identity: { sourceIp: '127.0.0.1', userAgent: 'jest' },
      authorizer: { clientId: 'client-1', principalId: 'client-1' },
    });
    expect(event.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get('x-amzn-requestid')).toBe(event.requestContext.requestId);
    expect(context).toMatchObject({ awsRequestId: event.requestContext.requestId, functionName: 'luma-gateway-local-echo', functionVersion: '$LATEST' });
    expect(context.getRemainingTimeInMillis()).toBeGreaterThan(0);
    expect(authorizerEvents[0]).toEqual({
      type: 'TOKEN',
      authorizationToken: GOOD,
      methodArn: 'arn:aws:execute-api:us-east-1:000000000000:local/local/GET/luma/generations/abc%20d%C3%A9f',
    });
  });

  test('POST: utf8 body text; the result is written back with its status, headers and multi-value headers', async () => {
    const response = await fetch(`${front.url}/luma/generations/4665a07c-7641-4809-a133-10786201bb56/extend`, {
      method: 'POST',
      headers: { Authorization: GOOD, 'Content-Type': 'application/json' },
      body: JSON.stringify({ user_prompt: 'chat noir é' }),
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-one')).toBe('a');
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(((await response.json()) as any).ok).toBe(true);
    expect(seen[0].event.body).toBe('{"user_prompt":"chat noir é"}');
    expect(seen[0].event.queryStringParameters).toBeNull();
  });

  test("a route with auth 'none' never calls the authorizer and has no authorizer context", async () => {
    const response = await fetch(`${front.url}/luma/callbacks/task.s3cr3t-token`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(200);
    expect(authorizerEvents).toHaveLength(0);
    expect(seen[0].event.requestContext.authorizer).toBeUndefined();
    expect(seen[0].event.pathParameters).toEqual({ token: 'task.s3cr3t-token' });
  });
});

/** A request whose headers are sent exactly as listed (name, value, name, value...); resolves with the status. */
function rawRequest(url: string, method: string, headers: string[], body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
    req.end(body);
  });
}

describe('header and query names are data, not object keys', () => {
  // Names an object inherits: as keys of a plain object they once made every route answer 500, before authentication.
  const names = ['constructor', '__proto__', 'toString', 'hasOwnProperty'];
  const routesToTry = [
    { kind: 'authenticated', method: 'GET', path: '/luma/generations/abc', headers: { Authorization: GOOD }, status: 201 },
    { kind: 'open', method: 'POST', path: '/luma/callbacks/task.token', headers: {}, status: 200 },
  ];
  const cases = names.flatMap((name) => routesToTry.map((route) => ({ name, ...route })));

  test.each(cases)('$name on the $kind route arrives as an ordinary query parameter and header', async ({ name, method, path, headers, status }) => {
    const query = `${encodeURIComponent(name)}=one&${encodeURIComponent(name)}=two`;
    // node:http, not fetch: fetch drops a header named __proto__.
    const headerList = [['Host', new URL(front.url).host], ...Object.entries(headers), [name, 'header-value']].flat();
    const answered = await rawRequest(`${front.url}${path}?${query}`, method, headerList, method === 'POST' ? '{}' : undefined);
    expect(answered).toBe(status);
    expect(errors).toEqual([]);
    const { event } = seen[0];
    // Own properties of ordinary objects, as in the JSON.parse'd event Lambda hands a handler.
    for (const record of [event.queryStringParameters, event.multiValueQueryStringParameters, event.headers, event.multiValueHeaders]) {
      expect(Object.getPrototypeOf(record)).toBe(Object.prototype);
      expect(Object.prototype.hasOwnProperty.call(record, name)).toBe(true);
    }
    expect(event.queryStringParameters![name]).toBe('two');
    expect(event.multiValueQueryStringParameters![name]).toEqual(['one', 'two']);
    expect(event.headers[name]).toBe('header-value');
    expect(event.multiValueHeaders[name]).toEqual(['header-value']);
    expect(JSON.parse(JSON.stringify(event.queryStringParameters))).toEqual(event.queryStringParameters);
  });

  test.each(names)('%s without a key on the authenticated route: 401, as without it', async (name) => {
    const host = new URL(front.url).host;
    expect(await rawRequest(`${front.url}/luma/generations/abc?${encodeURIComponent(name)}=1`, 'GET', ['Host', host, name, 'x'])).toBe(401);
    expect(errors).toEqual([]);
  });
});

describe('the authorizer', () => {
  const call = (authorization?: string) =>
    fetch(`${front.url}/luma/generations/abc`, { headers: authorization === undefined ? {} : { Authorization: authorization } });

  test('no Authorization header: 401 envelope without calling the authorizer', async () => {
    const response = await call();
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(await response.json()).toEqual(envelopeOf('UNAUTHORIZED'));
    expect(authorizerEvents).toHaveLength(0);
    expect(seen).toHaveLength(0);
  });

  test("'Unauthorized' → 401; Deny → ACCESS_DENIED; any other failure → AUTHORIZER_FAILURE (503)", async () => {
    const bad = await call('Bearer lgw_unknown-key-000000000000');
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual(envelopeOf('UNAUTHORIZED'));
    const denied = await call(DENY);
    expect(denied.status).toBe(gatewayResponse('ACCESS_DENIED').statusCode);
    expect(await denied.json()).toEqual(envelopeOf('ACCESS_DENIED'));
    const broken = await call(BROKEN);
    expect(broken.status).toBe(503);
    expect(await broken.json()).toEqual(envelopeOf('AUTHORIZER_FAILURE'));
    expect(seen).toHaveLength(0);
  });

  test('its verdict is cached per token: one call for N requests with the same key, even concurrent ones', async () => {
    const statuses = await Promise.all(Array.from({ length: 10 }, () => call(GOOD).then((r) => r.status)));
    for (let i = 0; i < 10; i += 1) statuses.push((await call(GOOD)).status);
    expect(statuses).toEqual(Array(20).fill(201));
    expect(authorizerEvents).toHaveLength(1);
    await call(DENY);
    await call(DENY);
    expect(authorizerEvents.filter((e) => e.authorizationToken === DENY)).toHaveLength(1);
    expect(front.authorizerCalls).toBeGreaterThanOrEqual(2);
  });

  test('sequential requests with one key: exactly one authorizer call', async () => {
    for (let i = 0; i < 20; i += 1) expect((await call(GOOD)).status).toBe(201);
    expect(authorizerEvents).toHaveLength(1);
  });

  test('the TTL is configurable: 0 disables the cache; a short TTL expires', async () => {
    const uncached = await start({ authorizerCacheTtlSeconds: 0 });
    for (let i = 0; i < 3; i += 1) await fetch(`${uncached.url}/luma/generations/a`, { headers: { Authorization: GOOD } });
    expect(authorizerEvents).toHaveLength(3);

    authorizerEvents = [];
    const short = await start({ authorizerCacheTtlSeconds: 0.2 });
    await fetch(`${short.url}/luma/generations/a`, { headers: { Authorization: GOOD } });
    await fetch(`${short.url}/luma/generations/a`, { headers: { Authorization: GOOD } });
    expect(authorizerEvents).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 250));
    await fetch(`${short.url}/luma/generations/a`, { headers: { Authorization: GOOD } });
    expect(authorizerEvents).toHaveLength(2);
  });
});

describe('gateway responses', () => {
  test('unknown path or method: MISSING_AUTHENTICATION_TOKEN (404 envelope)', async () => {
    for (const [method, path] of [
      ['GET', '/nope'],
      ['DELETE', '/luma/generations/abc'],
      ['GET', '/luma/generations/abc/extend'],
      ['GET', '/luma/generations/a/b'],
    ]) {
      const response = await fetch(`${front.url}${path}`, { method, headers: { Authorization: GOOD } });
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual(envelopeOf('MISSING_AUTHENTICATION_TOKEN'));
    }
    expect(authorizerEvents).toHaveLength(0);
  });

  test('over 10 MB: 413 before the body is buffered, declared or streamed; the handler never runs', async () => {
    const big = Buffer.alloc(10 * 1024 * 1024 + 1, 'a');
    const declared = await fetch(`${front.url}/luma/generations/abc/extend`, { method: 'POST', headers: { Authorization: GOOD }, body: big });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toEqual(envelopeOf('REQUEST_TOO_LARGE'));

    const chunk = new Uint8Array(1024 * 1024).fill(97);
    let sent = 0;
    const stream = new ReadableStream({
      pull(controller) {
        if (sent >= 11) return controller.close();
        sent += 1;
        controller.enqueue(chunk);
      },
    });
    const streamed = await fetch(`${front.url}/luma/generations/abc/extend`, {
      method: 'POST',
      headers: { Authorization: GOOD },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(seen).toHaveLength(0);
    expect(authorizerEvents).toHaveLength(0);
  });

  test("an event over Lambda's 6 MB invocation limit: INTEGRATION_FAILURE, the handler never runs", async () => {
    const small = await start({ lambdaPayloadLimitBytes: 4096 });
    const response = await fetch(`${small.url}/luma/callbacks/t`, { method: 'POST', body: 'x'.repeat(5000) });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual(envelopeOf('INTEGRATION_FAILURE'));
    expect(seen).toHaveLength(0);
  });

  test('a handler that throws or answers a malformed result: 502 envelope, no stack trace', async () => {
    for (const path of ['/throws', '/malformed']) {
      const response = await fetch(`${front.url}${path}`);
      expect(response.status).toBe(502);
      const text = await response.text();
      expect(JSON.parse(text)).toEqual(envelopeOf('DEFAULT_5XX'));
      expect(text).not.toMatch(/boom|at |\.ts/);
    }
    expect(errors.join('\n')).toContain('boom');
  });

  test('Lambda timeout → 502; integration timeout → 504', async () => {
    slowMs = 300;
    const timeouts = await start({ functionTimeoutMs: () => 100 });
    const lambdaTimeout = await fetch(`${timeouts.url}/slow`);
    expect(lambdaTimeout.status).toBe(502);
    expect(errors.join('\n')).toContain('timed out');

    const integration = await start({ integrationTimeoutMs: 100 });
    const integrationTimeout = await fetch(`${integration.url}/slow`);
    expect(integrationTimeout.status).toBe(504);
    expect(await integrationTimeout.json()).toEqual(envelopeOf('INTEGRATION_TIMEOUT'));
  });

  test('requests wait for the ready gate', async () => {
    let open!: () => void;
    const gated = await start({ ready: new Promise<void>((resolve) => (open = resolve)) });
    let answered = false;
    const pending = fetch(`${gated.url}/luma/callbacks/t`, { method: 'POST', body: '{}' }).then((r) => {
      answered = true;
      return r.status;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(answered).toBe(false);
    open();
    expect(await pending).toBe(200);
  });
});

describe('the access log', () => {
  test('one line per request: method, template path, status, latency; never the raw path, headers or keys', async () => {
    await fetch(`${front.url}/luma/callbacks/abcd.secret-callback-token`, { method: 'POST', body: '{}' });
    await fetch(`${front.url}/luma/generations/xyz`, { headers: { Authorization: GOOD } });
    await fetch(`${front.url}/nowhere/secret-path-part`);
    expect(log.map((e) => [e.httpMethod, e.resourcePath, e.status])).toEqual([
      ['POST', '/luma/callbacks/{token}', 200],
      ['GET', '/luma/generations/{task_id}', 201],
      ['GET', '-', 404],
    ]);
    expect(log[1]).toMatchObject({ principalId: 'client-1', integrationLatency: expect.any(Number) });
    expect(log[2].errorResponseType).toBe('MISSING_AUTHENTICATION_TOKEN');
    expect(log.every((e) => typeof e.responseLatency === 'number')).toBe(true);
    const text = JSON.stringify(log);
    for (const secret of ['secret-callback-token', 'good-key', 'xyz', 'secret-path-part']) expect(text).not.toContain(secret);
  });
});

describe('a route on a function URL in AWS (issue 13)', () => {
  const urlRoutes: RouteDefinition[] = [{ functionName: 'hook', method: 'POST', path: '/luma/callbacks/{token}', auth: 'none', jsonBody: true, summary: '', front: 'function-url' }];

  test('gets the payload 2.0 event a function URL sends: raw path, lower-case headers, text body, no authorizer', async () => {
    const urlFront = await start({ routes: urlRoutes });
    const response = await fetch(`${urlFront.url}/luma/callbacks/abcd.token?x=1&x=2`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Custom': 'v' }, body: '{"id":"g"}' });
    expect(response.status).toBe(200);
    const event = seen[0].event as unknown as Record<string, any>;
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: '$default',
      rawPath: '/luma/callbacks/abcd.token',
      rawQueryString: 'x=1&x=2',
      queryStringParameters: { x: '1,2' },
      body: '{"id":"g"}',
      isBase64Encoded: false,
      requestContext: { http: { method: 'POST', path: '/luma/callbacks/abcd.token', sourceIp: '127.0.0.1' }, stage: '$default' },
    });
    expect(event.headers).toMatchObject({ 'content-type': 'application/json', 'x-custom': 'v', 'x-forwarded-for': '127.0.0.1' });
    expect(event.pathParameters).toBeUndefined();
    expect(authorizerEvents).toEqual([]);
    expect(log.map((e) => [e.httpMethod, e.resourcePath, e.status])).toEqual([['POST', '/luma/callbacks/{token}', 200]]);
  });

  test('sends a body without a text content type base64-encoded, as a function URL does', async () => {
    const urlFront = await start({ routes: urlRoutes });
    await fetch(`${urlFront.url}/luma/callbacks/abcd.token`, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: '{"id":"g"}' });
    const event = seen[0].event as unknown as Record<string, any>;
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body, 'base64').toString('utf8')).toBe('{"id":"g"}');
  });

  test("answers 413 for an event over the function URL's 6 MB", async () => {
    const urlFront = await start({ routes: urlRoutes, lambdaPayloadLimitBytes: 2048 });
    const response = await fetch(`${urlFront.url}/luma/callbacks/abcd.token`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(4096) }) });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual(envelopeOf('REQUEST_TOO_LARGE'));
    expect(seen).toEqual([]);
  });
});
