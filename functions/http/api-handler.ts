/**
 * Wires an API route's logic into middy, one concern per middleware, in
 * this order:
 *
 *   1-3. the Powertools middlewares (functions/instrumentation.ts): Lambda
 *        context on every log line, the Tracer's subsegment where the
 *        function traces, the EMF metrics written when the invocation ends;
 *   4.   requestIdKey: the API Gateway request id on every later log line;
 *   5.   header normalisation;
 *   6.   the error envelope (its onError runs first of all: it answers,
 *        then the metrics are written and the subsegment closed);
 *   7.   JSON body parsing, for routes that take one.
 *
 * Around all of it, middy's early timeout answers a 503 just before the
 * function would time out (through the same onError chain). The logic
 * itself is a plain async function of the event that returns the
 * envelope's data (or a SuccessAnswer).
 */
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { logger } from '#adapters/logger';
import { outOfTime, unauthenticated } from '#domain/errors';
import { idempotencyKeySchema } from '#domain/generation-request';
import { instrument } from '../instrumentation';
import { MAX_BODY_BYTES } from '../routes';
import { INVOCATION_MARGIN_MS } from '../time-budget';
import { successResponse, SuccessAnswer } from './envelope';
import { errorEnvelope, jsonBody, requestIdKey, type JsonEvent } from './middleware';
import { parseOrThrow } from './validation';

export type RouteLogic = (event: JsonEvent, context: Context) => Promise<unknown>;

export interface ApiHandlerOptions {
  /** The route takes a JSON body. */
  readonly jsonBody: boolean;
  /** Parse the JSON body whatever its Content-Type (upstream callbacks). */
  readonly anyContentType?: boolean;
  /** The Tracer's middleware (functions/tracing.ts), for a route whose function traces. */
  readonly tracing?: middy.MiddlewareObj;
}

export function apiHandler(logic: RouteLogic, options: ApiHandlerOptions) {
  const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>({
    // Before Lambda's own timeout (which API Gateway shows as a bare 5xx): a 503 with Retry-After in the envelope.
    timeoutEarlyInMillis: INVOCATION_MARGIN_MS,
    timeoutEarlyResponse: () => {
      throw outOfTime();
    },
  });
  instrument(handler, { tracing: options.tracing })
    .use(requestIdKey(logger))
    .use(httpHeaderNormalizer())
    .use(errorEnvelope(logger));
  if (options.jsonBody) handler.use(jsonBody({ maxBytes: MAX_BODY_BYTES, anyContentType: options.anyContentType }));
  return handler.handler(async (event, context) => {
    const data = await logic(event as unknown as JsonEvent, context);
    const requestId = event.requestContext.requestId;
    return data instanceof SuccessAnswer ? successResponse(data.data, requestId, data.status, data.message) : successResponse(data, requestId);
  });
}

/** The client the authorizer identified. A route behind the authorizer always has one. */
export function callerId(event: JsonEvent): string {
  const clientId = event.requestContext.authorizer?.clientId;
  if (typeof clientId !== 'string' || clientId === '') throw unauthenticated();
  return clientId;
}

/** The optional Idempotency-Key header, validated (headers arrive lower-cased by httpHeaderNormalizer). */
export function idempotencyKey(event: JsonEvent): string | undefined {
  const value = event.headers?.['idempotency-key'];
  return value === undefined ? undefined : parseOrThrow(idempotencyKeySchema, value, 'Idempotency-Key header');
}
