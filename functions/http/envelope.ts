/** The API's one response envelope: {code, message, request_id, data}. */
import type { APIGatewayProxyResult } from 'aws-lambda';
import type { HttpError } from './errors';

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

export function errorResponse(error: HttpError, requestId: string): APIGatewayProxyResult {
  return {
    statusCode: error.status,
    headers: { ...JSON_HEADERS, 'X-Request-Id': requestId, ...error.headers },
    body: JSON.stringify({ code: error.code, message: error.message, request_id: requestId, data: null }),
  };
}
