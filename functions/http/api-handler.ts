/**
 * Wires an API route's logic into middy: logging context, header
 * normalisation, JSON body parsing, and the error envelope. The logic itself
 * is a plain async function of the event that returns the envelope's data.
 */
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import * as z from 'zod/mini';
import { badRequest, unauthorized } from '#domain/errors';
import { idempotencyKeySchema, validate } from '#domain/schemas';
import { MAX_BODY_BYTES } from '../routes';
import { successResponse } from './envelope';
import { logger } from '#domain/logger';
import { errorEnvelope, jsonBody, type JsonEvent } from './middleware';

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

/** Parses a part of the request, or fails with a 400 naming each wrong field. */
export function parseOrThrow<S extends z.ZodMiniType>(schema: S, value: unknown, where: string): z.infer<S> {
  const result = validate(schema, value, where);
  if (!result.ok) throw badRequest(result.message);
  return result.data;
}

/** The client the authorizer identified. A route behind the authorizer always has one. */
export function callerId(event: JsonEvent): string {
  const clientId = event.requestContext.authorizer?.clientId;
  if (typeof clientId !== 'string' || clientId === '') throw unauthorized();
  return clientId;
}

/** The optional Idempotency-Key header, validated (headers arrive lower-cased by httpHeaderNormalizer). */
export function idempotencyKey(event: JsonEvent): string | undefined {
  const value = event.headers?.['idempotency-key'];
  return value === undefined ? undefined : parseOrThrow(idempotencyKeySchema, value, 'Idempotency-Key header');
}
