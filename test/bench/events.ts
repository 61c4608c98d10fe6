/**
 * Realistic Lambda events for the benchmarks: what API Gateway (REST, proxy
 * integration, TOKEN authorizer with a context), EventBridge and a DynamoDB
 * stream event source mapping hand to the functions.
 */
import { randomUUID } from 'node:crypto';
import { marshall } from '@aws-sdk/util-dynamodb';
import { callerIdentity } from '../../lib/local/http-front';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, APIGatewayTokenAuthorizerEvent, Context, DynamoDBRecord, DynamoDBStreamEvent, ScheduledEvent } from 'aws-lambda';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const API_ID = 'a1b2c3d4e5';
const STAGE = 'dev';

export interface ApiEventOptions {
  readonly method: 'GET' | 'POST';
  /** The route's resource path, e.g. /luma/generations/{task_id}/extend */
  readonly resource: string;
  readonly pathParameters?: Record<string, string>;
  /** The query string's parameters (none: null, as API Gateway gives it). */
  readonly query?: Record<string, string>;
  readonly body?: unknown;
  /** Behind the client authorizer: its context. */
  readonly clientId?: string;
  readonly clientKey?: string;
  readonly headers?: Record<string, string>;
}

export function apiEvent(options: ApiEventOptions): APIGatewayProxyEvent {
  const path = options.resource.replace(/\{(\w+)\}/g, (_, name: string) => options.pathParameters?.[name] ?? name);
  const headers: Record<string, string> = {
    Accept: 'application/json',
    'CloudFront-Forwarded-Proto': 'https',
    'CloudFront-Viewer-Country': 'DE',
    Host: `${API_ID}.execute-api.${REGION}.amazonaws.com`,
    'User-Agent': 'bench-client/1.0',
    Via: '2.0 5f2a0c6b8e1d.cloudfront.net (CloudFront)',
    'X-Amz-Cf-Id': 'mNq2JZ3f4b5c6d7e8f9g0h1i2j3k4l5m6n7o8p9q0r1s2t3u4v5w6x==',
    'X-Amzn-Trace-Id': 'Root=1-6745c3a1-0b1c2d3e4f5a6b7c8d9e0f1a',
    'X-Forwarded-For': '203.0.113.7, 130.176.1.1',
    'X-Forwarded-Port': '443',
    'X-Forwarded-Proto': 'https',
    ...(options.clientKey && { Authorization: `Bearer ${options.clientKey}` }),
    ...(options.body !== undefined && { 'Content-Type': 'application/json' }),
    ...options.headers,
  };
  const requestId = randomUUID();
  return {
    resource: options.resource,
    path,
    httpMethod: options.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    queryStringParameters: options.query ?? null,
    multiValueQueryStringParameters: options.query ? Object.fromEntries(Object.entries(options.query).map(([name, value]) => [name, [value]])) : null,
    pathParameters: options.pathParameters ?? null,
    stageVariables: null,
    body: options.body === undefined ? null : typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
    isBase64Encoded: false,
    requestContext: {
      accountId: ACCOUNT,
      apiId: API_ID,
      authorizer: options.clientId ? { clientId: options.clientId, principalId: options.clientId, integrationLatency: 0 } : undefined,
      domainName: headers.Host,
      domainPrefix: API_ID,
      extendedRequestId: 'BxJ5hFx0IAMEbXw=',
      httpMethod: options.method,
      identity: callerIdentity('203.0.113.7', headers['User-Agent']),
      path: `/${STAGE}${path}`,
      protocol: 'HTTP/1.1',
      requestId,
      requestTime: '24/Nov/2026:17:26:03 +0000',
      requestTimeEpoch: Date.now(),
      resourceId: 'abc123',
      resourcePath: options.resource,
      stage: STAGE,
    },
  } as APIGatewayProxyEvent;
}

export interface FunctionUrlEventOptions {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: unknown;
  /** @default application/json when there is a body; undefined: none, and the body arrives base64-encoded. */
  readonly contentType?: string;
}

/** What a Lambda Function URL hands its function (payload format 2.0): the callback's event in AWS. */
export function functionUrlEvent(options: FunctionUrlEventOptions): APIGatewayProxyEventV2 {
  const contentType = 'contentType' in options ? options.contentType : options.body === undefined ? undefined : 'application/json';
  const text = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const base64 = text !== undefined && contentType === undefined;
  const domainName = 'a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6.lambda-url.us-east-1.on.aws';
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: options.path,
    rawQueryString: '',
    headers: {
      accept: '*/*',
      host: domainName,
      'user-agent': 'upstream-callbacks/1.0',
      'x-amzn-trace-id': 'Root=1-6745c3a1-0b1c2d3e4f5a6b7c8d9e0f1a',
      'x-forwarded-for': '198.51.100.23',
      'x-forwarded-port': '443',
      'x-forwarded-proto': 'https',
      ...(contentType && { 'content-type': contentType }),
      ...(text !== undefined && { 'content-length': String(Buffer.byteLength(text)) }),
    },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6',
      domainName,
      domainPrefix: 'a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6',
      http: { method: options.method, path: options.path, protocol: 'HTTP/1.1', sourceIp: '198.51.100.23', userAgent: 'upstream-callbacks/1.0' },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: '24/Nov/2026:17:26:03 +0000',
      timeEpoch: Date.now(),
    },
    ...(text !== undefined && { body: base64 ? Buffer.from(text).toString('base64') : text }),
    isBase64Encoded: base64,
  };
}

export function authorizerEvent(clientKey: string): APIGatewayTokenAuthorizerEvent {
  return {
    type: 'TOKEN',
    authorizationToken: `Bearer ${clientKey}`,
    methodArn: `arn:aws:execute-api:${REGION}:${ACCOUNT}:${API_ID}/${STAGE}/POST/luma/generations/4665a07c-7641-4809-a133-10786201bb56/extend`,
  };
}

export function scheduledEvent(): ScheduledEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: ACCOUNT,
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: REGION,
    resources: [`arn:aws:events:${REGION}:${ACCOUNT}:rule/luma-gateway-dev-reconciler`],
    detail: {},
  };
}

let sequence = 100_000_000_000_000_000_000n;

/** A MODIFY record as a Lambda event source mapping delivers it (NEW_AND_OLD_IMAGES). */
export function modifyRecord(oldImage: Record<string, unknown>, newImage: Record<string, unknown>): DynamoDBRecord {
  sequence += 1n;
  const options = { removeUndefinedValues: true };
  return {
    eventID: randomUUID().replace(/-/g, ''),
    eventName: 'MODIFY',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: REGION,
    dynamodb: {
      ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
      Keys: marshall({ task_id: newImage.task_id }) as any,
      NewImage: marshall(newImage, options) as any,
      OldImage: marshall(oldImage, options) as any,
      SequenceNumber: String(sequence),
      SizeBytes: 900,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
    eventSourceARN: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/luma-gateway-dev-Tasks/stream/2026-11-24T17:00:00.000`,
  };
}

export function streamEvent(records: DynamoDBRecord[]): DynamoDBStreamEvent {
  return { Records: records };
}

/** A Lambda context as the Node.js runtime passes it. */
export function lambdaContext(functionName: string, memoryMb: number, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: `luma-gateway-dev-${functionName}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:luma-gateway-dev-${functionName}`,
    memoryLimitInMB: String(memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/luma-gateway-dev-${functionName}`,
    logStreamName: '2026/11/24/[$LATEST]0123456789abcdef0123456789abcdef',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** The upstream's raw generation object, as its callbacks carry it (like fixtures/upstream/generation-*.json). */
/**
 * An upstream generation as its callbacks send it. `mediaBase`: where its
 * media are served (the simulator's `/media`, links valid an hour), for runs
 * whose completed tasks get their media copied; else the CDN's (unreachable
 * here: a handler-only run that copies nothing).
 */
export function generationBody(id: string, state: 'pending' | 'processing' | 'completed' | 'failed', prompt = 'bench prompt', mediaBase?: string): Record<string, unknown> {
  const cdn = `https://storage.cdn-luma.com/dream_machine/${id.slice(0, 8)}`;
  const signed = mediaBase === undefined ? '' : `?X-Amz-Date=${Date.now()}&X-Amz-Expires=3600`;
  const link = (file: string) => (mediaBase === undefined ? `${cdn}/${file}` : `${mediaBase}/${id}/${file}${signed}`);
  const done = state === 'completed';
  return {
    id,
    prompt,
    state,
    queue_state: null,
    created_at: '2026-11-24T17:26:03.123000Z',
    batch_id: '',
    ...(done && {
      request: { prompt, aspect_ratio: '16:9' },
      artifact: { video: { url: link('watermarked_video.mp4') }, thumbnail: { url: link('thumbnail.jpg') }, last_frame: { url: link('last_frame.jpg') } },
    }),
    video: done ? { url: link('watermarked_video.mp4'), width: 1360, height: 752, download_url: link('video.mp4') } : null,
    video_raw: done ? { url: link('video.mp4'), width: 1360, height: 752 } : null,
    liked: null,
    estimate_wait_seconds: state === 'processing' ? 42 : null,
    thumbnail: done ? { url: link('thumbnail.jpg'), width: 1360, height: 752 } : null,
    last_frame: done ? { url: link('last_frame.jpg'), width: 1360, height: 752 } : null,
    ...(state === 'failed' ? { failure_reason: 'Advanced moderation failed' } : done ? { failure_reason: null } : {}),
  };
}
