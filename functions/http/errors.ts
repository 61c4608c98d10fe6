/**
 * Errors as the API shows them: an HTTP status, a stable numeric code for
 * the envelope, a message a person can act on, and headers such as
 * Retry-After. Domain errors are mapped here, kind by kind; anything else
 * is an internal error without detail.
 */
import { isDomainError, type FailureKind } from '#domain/errors';

export const ErrorCode = {
  badRequest: 40000,
  validation: 40001,
  unauthorized: 40100,
  notFound: 40400,
  paymentRequired: 40200,
  conflict: 40900,
  idempotencyMismatch: 40901,
  inProgress: 40902,
  payloadTooLarge: 41300,
  unsupportedMediaType: 41500,
  contentRefused: 42200,
  throttled: 42900,
  upstreamQuota: 42901,
  openTasksLimit: 42902,
  tasksPerDayLimit: 42903,
  internal: 50000,
  upstreamBadResponse: 50200,
  dependencyUnavailable: 50300,
  upstreamTimeout: 50400,
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

export class HttpError extends Error {
  override readonly name = 'HttpError';

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

/** The status and envelope code of each kind of domain failure. */
const HTTP_OF_KIND: Readonly<Record<FailureKind, { readonly status: number; readonly code: ErrorCodeValue }>> = {
  invalid: { status: 400, code: ErrorCode.validation },
  unauthenticated: { status: 401, code: ErrorCode.unauthorized },
  'not-found': { status: 404, code: ErrorCode.notFound },
  conflict: { status: 409, code: ErrorCode.conflict },
  'idempotency-mismatch': { status: 409, code: ErrorCode.idempotencyMismatch },
  unavailable: { status: 503, code: ErrorCode.dependencyUnavailable },
  'upstream-rejected': { status: 400, code: ErrorCode.validation },
  'upstream-content-refused': { status: 422, code: ErrorCode.contentRefused },
  'upstream-balance': { status: 402, code: ErrorCode.paymentRequired },
  'upstream-quota': { status: 429, code: ErrorCode.upstreamQuota },
  'in-progress': { status: 409, code: ErrorCode.inProgress },
  'limit-open-tasks': { status: 429, code: ErrorCode.openTasksLimit },
  'limit-tasks-per-day': { status: 429, code: ErrorCode.tasksPerDayLimit },
  'upstream-failed': { status: 502, code: ErrorCode.upstreamBadResponse },
  'upstream-timeout': { status: 504, code: ErrorCode.upstreamTimeout },
};

export const internalError = () => new HttpError(500, ErrorCode.internal, 'the gateway failed to handle the request; it has been logged, retry later');

/** What the client is told of an error: HTTP errors as they are, domain errors by kind, anything else undefined. */
export function httpErrorOf(error: unknown): HttpError | undefined {
  if (error instanceof HttpError) return error;
  if (!isDomainError(error)) return undefined;
  const { status, code } = HTTP_OF_KIND[error.kind];
  const headers: Record<string, string> = error.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(error.retryAfterSeconds) };
  return new HttpError(status, code, error.message, headers);
}
