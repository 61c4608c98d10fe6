/**
 * The event a Lambda Function URL hands its function (payload format 2.0),
 * built by the local front for the routes functions/routes.ts serves on a
 * function URL (the upstream's callback), so the local stack runs the same
 * adapter (functions/http/function-url.ts) as AWS.
 */
import type { IncomingMessage } from 'node:http';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { LOOPBACK } from './net';

/** Bodies of these types arrive as text; any other (or none) base64-encoded, as a Function URL sends them. */
const TEXT_TYPE = /^(?:text\/|application\/(?:json|javascript|xml|yaml|x-www-form-urlencoded)\b|[^;]+\+(?:json|xml)\b)/i;

export function functionUrlEvent(req: IncomingMessage, path: string, rawQuery: string, body: Buffer, requestId: string, started: Date): APIGatewayProxyEventV2 {
  // Header names lower-cased, repeated values joined by commas; cookies apart.
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i].toLowerCase();
    const value = req.rawHeaders[i + 1];
    if (name === 'cookie') cookies.push(...value.split(/;\s*/));
    else headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  const sourceIp = req.socket.remoteAddress ?? LOOPBACK;
  headers['x-forwarded-for'] ??= sourceIp;
  headers['x-forwarded-proto'] ??= 'http';
  const query = new URLSearchParams(rawQuery);
  const queryStringParameters: Record<string, string> = {};
  for (const [name, value] of query) queryStringParameters[name] = name in queryStringParameters ? `${queryStringParameters[name]},${value}` : value;
  const text = body.length === 0 || TEXT_TYPE.test(headers['content-type'] ?? '');
  const host = headers.host ?? LOOPBACK;
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: rawQuery,
    ...(cookies.length > 0 && { cookies }),
    headers,
    ...(query.size > 0 && { queryStringParameters }),
    requestContext: {
      accountId: 'anonymous',
      apiId: 'local',
      domainName: host,
      domainPrefix: host.split('.')[0],
      http: { method: req.method ?? 'GET', path, protocol: `HTTP/${req.httpVersion}`, sourceIp, userAgent: headers['user-agent'] ?? '' },
      requestId,
      routeKey: '$default',
      stage: '$default',
      time: started.toISOString(),
      timeEpoch: started.getTime(),
    },
    ...(body.length > 0 && { body: text ? body.toString('utf8') : body.toString('base64') }),
    isBase64Encoded: !text,
  };
}
