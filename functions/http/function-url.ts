/**
 * A route served by its function's own Lambda Function URL (front
 * 'function-url' in functions/routes.ts). The URL hands every method and
 * path to the function as a payload format 2.0 event; this thin adapter
 * matches the route, turns the event into the REST API proxy event the
 * handler is written for (the handler stays one implementation), and writes
 * the access-log line a Function URL does not have: the route's template,
 * never the path, which holds the callback token. A REST API event (the
 * route kept there for a deprecation period) passes through unchanged.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, APIGatewayProxyResult, Context } from 'aws-lambda';
import { logger } from '#adapters/logger';
import type { RouteDefinition } from '../routes';
import { gatewayResponse, gatewayResponseBody } from './gateway-responses';

type RoutePath = Pick<RouteDefinition, 'method' | 'path'>;

export type ProxyHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

export function isFunctionUrlEvent(event: unknown): event is APIGatewayProxyEventV2 {
  const candidate = event as Partial<APIGatewayProxyEventV2> | null;
  return candidate?.version === '2.0' && typeof candidate.rawPath === 'string' && candidate.requestContext?.http !== undefined;
}

/** The path parameters of `rawPath` under a route template such as /luma/callbacks/{token}, or undefined. */
export function matchRoutePath(template: string, rawPath: string): Record<string, string> | undefined {
  const names: string[] = [];
  const source = template
    .split('/')
    .map((segment) => {
      const param = /^\{(\w+)\}$/.exec(segment);
      if (!param) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(param[1]);
      return '([^/]+)';
    })
    .join('/');
  const found = new RegExp(`^${source}$`).exec(rawPath);
  if (!found) return undefined;
  const decode = (value: string) => {
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  };
  return Object.fromEntries(names.map((name, i) => [name, decode(found[i + 1])]));
}

/** The REST API proxy event a 2.0 event stands for (headers keep their lower-case names and joined values). */
export function proxyEventOf(event: APIGatewayProxyEventV2, route: RoutePath, pathParameters: Record<string, string>): APIGatewayProxyEvent {
  const { http } = event.requestContext;
  const headers = { ...(event.headers as Record<string, string>) };
  if (event.cookies?.length) headers.cookie = event.cookies.join('; ');
  const query = (event.queryStringParameters ?? null) as Record<string, string> | null;
  return {
    resource: route.path,
    path: event.rawPath,
    httpMethod: http.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    queryStringParameters: query,
    multiValueQueryStringParameters: query && Object.fromEntries(Object.entries(query).map(([name, value]) => [name, value.split(',')])),
    pathParameters,
    stageVariables: null,
    body: event.body ?? null,
    isBase64Encoded: event.isBase64Encoded,
    requestContext: {
      accountId: event.requestContext.accountId,
      apiId: event.requestContext.apiId,
      authorizer: undefined,
      domainName: event.requestContext.domainName,
      domainPrefix: event.requestContext.domainPrefix,
      httpMethod: http.method,
      identity: { sourceIp: http.sourceIp, userAgent: http.userAgent } as APIGatewayProxyEvent['requestContext']['identity'],
      path: event.rawPath,
      protocol: http.protocol,
      requestId: event.requestContext.requestId,
      requestTimeEpoch: event.requestContext.timeEpoch,
      resourceId: 'function-url',
      resourcePath: route.path,
      stage: event.requestContext.stage,
    },
  };
}

/** What the REST API answers for a path or method it has no route for, in the API's envelope. */
function noSuchRoute(requestId: string): APIGatewayProxyResult {
  const definition = gatewayResponse('MISSING_AUTHENTICATION_TOKEN');
  return {
    statusCode: definition.statusCode ?? definition.fallbackStatus,
    headers: { 'Content-Type': 'application/json', ...definition.headers },
    body: JSON.stringify(gatewayResponseBody(definition, requestId)),
  };
}

/** `handler` behind its function's URL as well as behind the REST API. */
export function servedByFunctionUrl(route: RoutePath, handler: ProxyHandler) {
  return async (event: APIGatewayProxyEvent | APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyResult> => {
    if (!isFunctionUrlEvent(event)) return handler(event, context);
    const started = Date.now();
    const { http, requestId } = event.requestContext;
    const pathParameters = http.method === route.method ? matchRoutePath(route.path, event.rawPath) : undefined;
    let status: number | 'error' = 'error';
    try {
      const result = pathParameters === undefined ? noSuchRoute(requestId) : await handler(proxyEventOf(event, route, pathParameters), context);
      status = result.statusCode;
      return result;
    } finally {
      // The access log a Function URL lacks: no path, header or body (the path is the token).
      logger.info('access', {
        front: 'function-url',
        request_id: requestId,
        method: http.method,
        route: pathParameters === undefined ? '-' : route.path,
        status,
        latency_ms: Date.now() - started,
        source_ip: http.sourceIp,
        request_bytes: event.body === undefined ? 0 : Buffer.byteLength(event.body, event.isBase64Encoded ? 'base64' : 'utf8'),
      });
    }
  };
}
