/** The function URL adapter (functions/http/function-url.ts): route matching, the event it hands on, its token-free access line. */
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { logger } from '#adapters/logger';
import { isFunctionUrlEvent, matchRoutePath, servedByFunctionUrl } from '#http/function-url';
import { CALLBACK_ROUTE, routes } from '../../functions/routes';
import { apiEvent, functionUrlEvent, lambdaContext } from '../bench/events';

const TOKEN = '0b6f5a58-1d2c-4b7e-9f3a-2c1d0e9f8a7b.c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA';
const context = lambdaContext('callback', 256, 5000) as Context;

function served() {
  const seen: APIGatewayProxyEvent[] = [];
  const handler = servedByFunctionUrl(CALLBACK_ROUTE, async (event) => {
    seen.push(event);
    return { statusCode: 200, body: '{}' };
  });
  return { handler, seen };
}

let info: jest.SpyInstance;
beforeEach(() => {
  info = jest.spyOn(logger, 'info').mockImplementation(() => undefined);
});
afterEach(() => info.mockRestore());

test('matches a route template, decoding its parameters', () => {
  expect(matchRoutePath('/luma/callbacks/{token}', `/luma/callbacks/${TOKEN}`)).toEqual({ token: TOKEN });
  expect(matchRoutePath('/luma/callbacks/{token}', '/luma/callbacks/a%2Eb')).toEqual({ token: 'a.b' });
  expect(matchRoutePath('/luma/callbacks/{token}', '/luma/callbacks/a/b')).toBeUndefined();
  expect(matchRoutePath('/luma/callbacks/{token}', '/luma/callbacks/')).toBeUndefined();
});

test('hands the handler the REST proxy event of the route: path parameters, resource, request id, body', async () => {
  const { handler, seen } = served();
  const event = functionUrlEvent({ method: 'POST', path: `/luma/callbacks/${TOKEN}`, body: { id: 'g', state: 'processing' } });
  expect(isFunctionUrlEvent(event)).toBe(true);
  await expect(handler(event, context)).resolves.toEqual({ statusCode: 200, body: '{}' });
  expect(seen[0]).toMatchObject({
    resource: CALLBACK_ROUTE.path,
    httpMethod: 'POST',
    pathParameters: { token: TOKEN },
    body: JSON.stringify({ id: 'g', state: 'processing' }),
    isBase64Encoded: false,
    requestContext: { requestId: event.requestContext.requestId, resourcePath: CALLBACK_ROUTE.path },
  });
  expect(seen[0].headers['content-type']).toBe('application/json');
});

test('keeps a base64 body as the function URL sent it (the JSON middleware decodes it)', async () => {
  const { handler, seen } = served();
  const event = functionUrlEvent({ method: 'POST', path: `/luma/callbacks/${TOKEN}`, body: { id: 'g', state: 'completed' }, contentType: undefined });
  expect(event.isBase64Encoded).toBe(true);
  await handler(event, context);
  expect(seen[0].isBase64Encoded).toBe(true);
  expect(JSON.parse(Buffer.from(seen[0].body!, 'base64').toString('utf8'))).toEqual({ id: 'g', state: 'completed' });
});

test.each([
  ['another path', 'POST', '/luma/generations'],
  ['another method', 'GET', `/luma/callbacks/${TOKEN}`],
  ['the root', 'POST', '/'],
])('answers %s as the REST API answers an unknown route (404 envelope), without calling the handler', async (_name, method, path) => {
  const { handler, seen } = served();
  const event = functionUrlEvent({ method: method as 'GET' | 'POST', path });
  const result = await handler(event, context);
  expect(result.statusCode).toBe(404);
  expect(JSON.parse(result.body)).toEqual({ code: 40400, message: 'no such route: check the method and the path', request_id: event.requestContext.requestId, data: null });
  expect(seen).toEqual([]);
});

test('writes one access line per request with the route template, never the path or its token', async () => {
  const { handler } = served();
  await handler(functionUrlEvent({ method: 'POST', path: `/luma/callbacks/${TOKEN}`, body: { id: 'g', state: 'processing' } }), context);
  await handler(functionUrlEvent({ method: 'POST', path: `/elsewhere/${TOKEN}` }), context);
  expect(info).toHaveBeenCalledTimes(2);
  const lines = info.mock.calls.map((call) => JSON.stringify(call));
  for (const line of lines) expect(line).not.toContain(TOKEN.split('.')[1]);
  expect(info.mock.calls[0][1]).toMatchObject({ front: 'function-url', method: 'POST', route: CALLBACK_ROUTE.path, status: 200 });
  expect(info.mock.calls[1][1]).toMatchObject({ route: '-', status: 404 });
});

test('passes a REST API event through unchanged, without an access line of its own (the stage has one)', async () => {
  const { handler, seen } = served();
  const event = apiEvent({ method: 'POST', resource: CALLBACK_ROUTE.path, pathParameters: { token: TOKEN }, body: {} });
  await handler(event, context);
  expect(seen[0]).toBe(event);
  expect(info).not.toHaveBeenCalled();
});

test('a v2 event is told apart from a REST one', () => {
  expect(isFunctionUrlEvent(apiEvent({ method: 'GET', resource: '/x' }))).toBe(false);
  expect(isFunctionUrlEvent({ version: '2.0' } as unknown as APIGatewayProxyEventV2)).toBe(false);
});

test('CALLBACK_ROUTE is the route table\'s callback entry', () => {
  expect(routes).toContainEqual(expect.objectContaining(CALLBACK_ROUTE));
});
