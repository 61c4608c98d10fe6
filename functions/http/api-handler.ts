/**
 * Wires an API route's logic into middy: logging context, header
 * normalisation, JSON body parsing, and the error envelope. The logic itself
 * is a plain async function of the event that returns the envelope's data.
 */
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { logger } from '#adapters/logger';
import { unauthenticated } from '#domain/errors';
import { idempotencyKeySchema } from '#domain/generation-request';
import { MAX_BODY_BYTES } from '../routes';
import { successResponse } from './envelope';
import { errorEnvelope, jsonBody, type JsonEvent } from './middleware';
import { parseOrThrow } from './validation';

export type RouteLogic = (event: JsonEvent, context: Context) => Promise<unknown>;

export interface ApiHandlerOptions {
  /** The route takes a JSON body. */
  readonly jsonBody: boolean;
  /** Parse the JSON body whatever its Content-Type (upstream callbacks). */
  readonly anyContentType?: boolean;
}

export function apiHandler(logic: RouteLogic, options: ApiHandlerOptions) {
  const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(httpHeaderNormalizer())
    .use(errorEnvelope(logger));
  if (options.jsonBody) handler.use(jsonBody({ maxBytes: MAX_BODY_BYTES, anyContentType: options.anyContentType }));
  return handler.handler(async (event, context) => {
    logger.appendKeys({ request_id: event.requestContext?.requestId });
    const data = await logic(event as unknown as JsonEvent, context);
    return successResponse(data, event.requestContext.requestId);
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
