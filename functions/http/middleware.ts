/**
 * middy middlewares for the HTTP handlers, one concern each: requestIdKey
 * (the request id on every log line), jsonBody (content type, size,
 * parsing) and errorEnvelope (every error in the API's envelope, never a
 * stack trace).
 */
import type middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { LogSink } from '#domain/ports';
import { errorResponse } from './envelope';
import { ErrorCode, HttpError, httpErrorOf, internalError } from './errors';

/** An API Gateway proxy event whose body has been parsed as JSON. */
export type JsonEvent = Omit<APIGatewayProxyEvent, 'body'> & { body: unknown };

const JSON_CONTENT_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

export interface JsonBodyOptions {
  readonly maxBytes: number;
  /** Parse the body as JSON whatever Content-Type says (for senders we do not control, such as the upstream). */
  readonly anyContentType?: boolean;
}

/**
 * The API Gateway request id (the envelope's request_id, sent upstream as
 * X-Request-Id) on every later log line of the invocation, from its start:
 * the id a client quotes is the one an operator searches for.
 */
export function requestIdKey(log: Pick<LogSink, 'appendKeys'>): middy.MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> {
  return {
    before: (request) => {
      log.appendKeys({ request_id: request.event?.requestContext?.requestId });
    },
  };
}

export function jsonBody({ maxBytes, anyContentType = false }: JsonBodyOptions): middy.MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> {
  return {
    before: (request) => {
      const event = request.event;
      const contentType = event.headers?.['content-type'] ?? event.headers?.['Content-Type'];
      if (!anyContentType && (contentType === undefined || !JSON_CONTENT_TYPE.test(contentType))) {
        throw new HttpError(415, ErrorCode.unsupportedMediaType, `Content-Type must be application/json${contentType ? `, got ${contentType.slice(0, 80)}` : ''}`);
      }
      const raw = event.body ?? '';
      const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
      if (Buffer.byteLength(text, 'utf8') > maxBytes) {
        throw new HttpError(413, ErrorCode.payloadTooLarge, `the body must be at most ${maxBytes} bytes`);
      }
      if (text.trim() === '') throw new HttpError(400, ErrorCode.badRequest, 'the body is empty; send a JSON object');
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (error) {
        throw new HttpError(400, ErrorCode.badRequest, `the body is not valid JSON (${(error as Error).message})`);
      }
      (event as unknown as JsonEvent).body = parsed;
      event.isBase64Encoded = false;
    },
  };
}

export function errorEnvelope(log: LogSink): middy.MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> {
  return {
    onError: (request) => {
      const requestId = request.event?.requestContext?.requestId ?? request.context?.awsRequestId ?? 'unknown';
      const error = request.error;
      const answer = httpErrorOf(error);
      if (answer) {
        if (answer.status >= 500) log.warn('request failed', { status: answer.status, reason: answer.message, cause: (error as { cause?: unknown }).cause });
        request.response = errorResponse(answer, requestId);
        return;
      }
      log.error('unhandled error', { error });
      request.response = errorResponse(internalError(), requestId);
    },
  };
}
