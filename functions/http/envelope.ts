/** The API's one response envelope: {code, message, request_id, data}. */
import type { APIGatewayProxyResult } from 'aws-lambda';
import type { HttpError } from './errors';

const JSON_HEADERS = {
  'Content-Type': 'application/json; charset=utf-8',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
} as const;

/** A success other than a plain 200 "success": another 2xx status, or a message the client should read. */
export class SuccessAnswer {
  constructor(
    readonly data: unknown,
    readonly status: 200 | 202,
    readonly message: string,
  ) {}
}

export function successResponse(data: unknown, requestId: string, status = 200, message = 'success'): APIGatewayProxyResult {
  return {
    statusCode: status,
    headers: { ...JSON_HEADERS, 'X-Request-Id': requestId },
    body: JSON.stringify({ code: 0, message, request_id: requestId, data }),
  };
}

export function errorResponse(error: HttpError, requestId: string): APIGatewayProxyResult {
  return {
    statusCode: error.status,
    headers: { ...JSON_HEADERS, 'X-Request-Id': requestId, ...error.headers },
    body: JSON.stringify({ code: error.code, message: error.message, request_id: requestId, data: null }),
  };
}
