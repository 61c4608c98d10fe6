/**
 * Errors a client can see. Every failure that leaves the gateway is a
 * GatewayError: an HTTP status, a stable numeric code for the envelope, and a
 * message a person can act on. Anything else is reported as an internal error
 * without detail.
 */
export const ErrorCode = {
  badRequest: 40000,
  validation: 40001,
  unauthorized: 40100,
  notFound: 40400,
  conflict: 40900,
  idempotencyMismatch: 40901,
  payloadTooLarge: 41300,
  unsupportedMediaType: 41500,
  throttled: 42900,
  internal: 50000,
  upstreamBadResponse: 50200,
  dependencyUnavailable: 50300,
  upstreamTimeout: 50400,
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

export class GatewayError extends Error {
  override readonly name = 'GatewayError';

  constructor(
    readonly status: number,
    readonly code: ErrorCodeValue,
    message: string,
    /** Extra response headers, such as Retry-After. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

export const badRequest = (message: string) => new GatewayError(400, ErrorCode.validation, message);
export const unauthorized = (message = 'missing or invalid API key: send Authorization: Bearer <key>') =>
  new GatewayError(401, ErrorCode.unauthorized, message);
export const notFound = (message: string) => new GatewayError(404, ErrorCode.notFound, message);
export const conflict = (message: string) => new GatewayError(409, ErrorCode.conflict, message);
export const storeUnavailable = () =>
  new GatewayError(503, ErrorCode.dependencyUnavailable, 'the task store is unavailable; retry in a few seconds');

export function isGatewayError(error: unknown): error is GatewayError {
  return error instanceof GatewayError;
}

/**
 * Base of errors that report an expected outcome to the caller (such as an
 * Idempotency-Key already taken) rather than a failure of a dependency.
 */
export class ExpectedOutcome extends Error {}
