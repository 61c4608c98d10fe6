/** The API's one response envelope: {code, message, request_id, data}. */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { ErrorCode, GatewayError } from '#domain/errors';

const JSON_HEADERS = {
  'Content-Type': 'application/json; charset=utf-8',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
} as const;

export function successResponse(data: unknown, requestId: string): APIGatewayProxyResult {
  return {
    statusCode: 200,
    headers: { ...JSON_HEADERS, 'X-Request-Id': requestId },
    body: JSON.stringify({ code: 0, message: 'success', request_id: requestId, data }),
  };
}

export function errorResponse(error: GatewayError, requestId: string): APIGatewayProxyResult {
  return {
    statusCode: error.status,
    headers: { ...JSON_HEADERS, 'X-Request-Id': requestId, ...error.headers },
    body: JSON.stringify({ code: error.code, message: error.message, request_id: requestId, data: null }),
  };
}

export const internalError = () =>
  new GatewayError(500, ErrorCode.internal, 'the gateway failed to handle the request; it has been logged, retry later');
