/**
 * Errors that API Gateway answers by itself, before (or instead of) a Lambda:
 * no key, unknown route, throttled, body too large, integration timeout...
 * Written once: the CDK stack (lib/api.ts) turns each entry into a gateway
 * response, and the local HTTP front answers the same situations with the
 * same status, code and message. Plain data only: no CDK imports here.
 *
 * Every body is the API's envelope:
 *   {"code":<code>,"message":"<message>","request_id":"<id>","data":null}
 */
import { ErrorCode } from './errors';

/** The API Gateway (REST) gateway response types this API customises. */
export type GatewayResponseType =
  | 'UNAUTHORIZED'
  | 'ACCESS_DENIED'
  | 'MISSING_AUTHENTICATION_TOKEN'
  | 'RESOURCE_NOT_FOUND'
  | 'THROTTLED'
  | 'QUOTA_EXCEEDED'
  | 'REQUEST_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'BAD_REQUEST_BODY'
  | 'BAD_REQUEST_PARAMETERS'
  | 'WAF_FILTERED'
  | 'AUTHORIZER_FAILURE'
  | 'AUTHORIZER_CONFIGURATION_ERROR'
  | 'INTEGRATION_FAILURE'
  | 'INTEGRATION_TIMEOUT'
  | 'DEFAULT_4XX'
  | 'DEFAULT_5XX';

export interface GatewayResponseDefinition {
  readonly type: GatewayResponseType;
  /**
   * HTTP status. Absent only for the DEFAULT_* catch-alls, which keep the
   * status API Gateway chose (a local front uses `fallbackStatus`).
   */
  readonly statusCode?: number;
  /** Status to use where no API Gateway status exists (local front). */
  readonly fallbackStatus: number;
  /** The envelope's numeric code (functions/http/errors.ts where one exists). */
  readonly code: number;
  /** Static text: no `$`, `#`, `"` or `\` (the message is embedded in a VTL template). */
  readonly message: string;
  /** Extra response headers (plain values). */
  readonly headers?: Readonly<Record<string, string>>;
}

const unauthorized = 'missing or invalid API key: send Authorization: Bearer <key>';
const unavailable = 'a dependency is temporarily unavailable; retry in a few seconds';

export const gatewayResponses: readonly GatewayResponseDefinition[] = [
  // No Authorization header, or the authorizer threw "Unauthorized".
  { type: 'UNAUTHORIZED', statusCode: 401, fallbackStatus: 401, code: ErrorCode.unauthorized, message: unauthorized, headers: { 'WWW-Authenticate': 'Bearer' } },
  // The authorizer returned a Deny policy: for this API that also means a bad key.
  { type: 'ACCESS_DENIED', statusCode: 401, fallbackStatus: 401, code: ErrorCode.unauthorized, message: unauthorized, headers: { 'WWW-Authenticate': 'Bearer' } },
  // What API Gateway answers for a path or method it does not know.
  { type: 'MISSING_AUTHENTICATION_TOKEN', statusCode: 404, fallbackStatus: 404, code: ErrorCode.notFound, message: 'no such route: check the method and the path' },
  { type: 'RESOURCE_NOT_FOUND', statusCode: 404, fallbackStatus: 404, code: ErrorCode.notFound, message: 'no such route: check the method and the path' },
  { type: 'THROTTLED', statusCode: 429, fallbackStatus: 429, code: ErrorCode.throttled, message: 'too many requests: slow down and retry after a second', headers: { 'Retry-After': '1' } },
  { type: 'QUOTA_EXCEEDED', statusCode: 429, fallbackStatus: 429, code: ErrorCode.throttled, message: 'request quota exceeded: retry later', headers: { 'Retry-After': '60' } },
  { type: 'REQUEST_TOO_LARGE', statusCode: 413, fallbackStatus: 413, code: ErrorCode.payloadTooLarge, message: 'request body too large: send images by URL or shrink them' },
  { type: 'UNSUPPORTED_MEDIA_TYPE', statusCode: 415, fallbackStatus: 415, code: ErrorCode.unsupportedMediaType, message: 'unsupported content type: send Content-Type: application/json' },
  { type: 'BAD_REQUEST_BODY', statusCode: 400, fallbackStatus: 400, code: ErrorCode.badRequest, message: 'invalid request body: send a JSON object' },
  { type: 'BAD_REQUEST_PARAMETERS', statusCode: 400, fallbackStatus: 400, code: ErrorCode.badRequest, message: 'invalid request parameters: check the path and headers' },
  { type: 'WAF_FILTERED', statusCode: 403, fallbackStatus: 403, code: 40300, message: 'request blocked by the firewall' },
  // The authorizer Lambda crashed or timed out: the key store is unreachable, not a bad key.
  { type: 'AUTHORIZER_FAILURE', statusCode: 503, fallbackStatus: 503, code: ErrorCode.dependencyUnavailable, message: unavailable, headers: { 'Retry-After': '2' } },
  { type: 'AUTHORIZER_CONFIGURATION_ERROR', statusCode: 503, fallbackStatus: 503, code: ErrorCode.dependencyUnavailable, message: unavailable },
  // The Lambda could not be invoked: throttled, failed to start, or the request exceeded
  // Lambda's 6 MB invocation limit (API Gateway itself accepts up to 10 MB).
  {
    type: 'INTEGRATION_FAILURE',
    statusCode: 503,
    fallbackStatus: 503,
    code: ErrorCode.dependencyUnavailable,
    message: 'the request could not be processed: retry in a few seconds; request bodies must stay under 6 MB',
    headers: { 'Retry-After': '2' },
  },
  { type: 'INTEGRATION_TIMEOUT', statusCode: 504, fallbackStatus: 504, code: ErrorCode.upstreamTimeout, message: 'the request timed out: retry with the same Idempotency-Key' },
  { type: 'DEFAULT_4XX', fallbackStatus: 400, code: ErrorCode.badRequest, message: 'request rejected' },
  { type: 'DEFAULT_5XX', fallbackStatus: 500, code: ErrorCode.internal, message: 'internal error: retry later' },
];

export function gatewayResponse(type: GatewayResponseType): GatewayResponseDefinition {
  const found = gatewayResponses.find((response) => response.type === type);
  if (!found) throw new Error(`no gateway response defined for ${type}`);
  return found;
}

/** The envelope a gateway response carries, for a given request id. */
export function gatewayResponseBody(definition: GatewayResponseDefinition, requestId: string) {
  return { code: definition.code, message: definition.message, request_id: requestId, data: null };
}
