/**
 * What can go wrong, in the domain's terms. A DomainError carries a kind and
 * a message a person can act on; it knows nothing of HTTP: the API maps each
 * kind onto a status and an envelope code (functions/http/errors.ts), and
 * anything else that runs the domain (the reconciler, a CLI) reads the kind.
 */
export type FailureKind =
  /** The request is wrong: a field, a header, a path parameter. */
  | 'invalid'
  /** No valid credential (a client key). */
  | 'unauthenticated'
  /** No such thing, or not the caller's. */
  | 'not-found'
  /** The request does not fit the current state (extending an unfinished task). */
  | 'conflict'
  /** An Idempotency-Key reused with another request. */
  | 'idempotency-mismatch'
  /** A dependency (the task store, the upstream, the key store) cannot answer now; retry later. */
  | 'unavailable'
  /** The upstream refused the request itself: the client has to change it. */
  | 'upstream-rejected'
  /** The upstream refused the content (moderation, safety). */
  | 'upstream-content-refused'
  /** The upstream refused for lack of balance or credit. */
  | 'upstream-balance'
  /** The upstream refused for a quota or rate limit; retry later. */
  | 'upstream-quota'
  /** A request with this Idempotency-Key is still being handled; retry shortly. */
  | 'in-progress'
  /** The client has as many tasks open as its limit allows; retry once one ends. */
  | 'limit-open-tasks'
  /** The client submitted as many tasks today (UTC) as its limit allows; retry after midnight UTC. */
  | 'limit-tasks-per-day'
  /** The upstream answered, but not with anything usable. */
  | 'upstream-failed'
  /** The upstream did not answer in time. */
  | 'upstream-timeout';

export class DomainError extends Error {
  override readonly name = 'DomainError';

  constructor(
    readonly kind: FailureKind,
    message: string,
    /** For `unavailable`, `in-progress` and the limits: when a retry may succeed, in seconds (Retry-After). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainError;
}

export const invalid = (message: string) => new DomainError('invalid', message);
export const unauthenticated = (message = 'missing or invalid API key: send Authorization: Bearer <key>') => new DomainError('unauthenticated', message);
export const notFound = (message: string) => new DomainError('not-found', message);
export const conflict = (message: string) => new DomainError('conflict', message);
export const storeUnavailable = () => new DomainError('unavailable', 'the task store is unavailable; retry in a few seconds', 2);
export const outOfTime = () => new DomainError('unavailable', 'the gateway ran out of time waiting for a dependency; retry in a few seconds', 2);

/**
 * What the gateway knows of a call that did not give a usable answer:
 * `refused` is a definite answer that nothing was created (a 4xx with a
 * body, an error envelope, a connection refused before anything was sent);
 * `unknown` is every outcome the gateway did not see (a timeout after
 * sending, a reset, a 5xx, an unreadable 2xx): the upstream may have
 * accepted the work.
 */
export type UpstreamOutcome = 'refused' | 'unknown';

/** An upstream call that failed; keeps the upstream's own status for callers such as the reconciler. */
export class UpstreamError extends DomainError {
  constructor(
    kind: FailureKind,
    message: string,
    readonly outcome: UpstreamOutcome,
    /** The HTTP status the upstream answered (absent when it did not answer). */
    readonly upstreamStatus?: number,
    retryAfterSeconds?: number,
  ) {
    super(kind, message, retryAfterSeconds);
  }
}

/** True for an upstream call whose outcome the gateway did not see: never a final state, never a second call. */
export function isUnknownOutcome(error: unknown): error is UpstreamError {
  return error instanceof UpstreamError && error.outcome === 'unknown';
}

export function isUpstreamStatus(error: unknown, status: number): boolean {
  return error instanceof UpstreamError && error.upstreamStatus === status;
}

/**
 * Base of errors that report an expected outcome to the caller (such as an
 * Idempotency-Key already taken) rather than a failure of a dependency.
 */
export class ExpectedOutcome extends Error {}
