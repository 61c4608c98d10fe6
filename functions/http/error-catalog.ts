/**
 * Every error answer of the API, as a client sees it: HTTP status, envelope
 * code and when it happens (the README's error table, plus the two codes it
 * leaves out: the firewall's 403 and the internal 500). The OpenAPI document
 * (functions/openapi.ts) lists each status's codes and meanings from here.
 * Tests hold this catalog to errors.ts, gateway-responses.ts and the README,
 * so a new code is documented by adding its row here.
 */
import { ErrorCode } from './errors';

export interface ErrorCatalogEntry {
  readonly status: number;
  readonly code: number;
  readonly when: string;
}

export const errorCatalog = [
  { status: 400, code: ErrorCode.badRequest, when: 'the body is empty or not JSON, or API Gateway refused the request' },
  { status: 400, code: ErrorCode.validation, when: 'a field missing or wrong (the message names each field), or the upstream refused the request (its reason follows)' },
  { status: 401, code: ErrorCode.unauthorized, when: 'no key, or an unknown one' },
  { status: 402, code: ErrorCode.paymentRequired, when: 'the upstream refused for lack of balance or credit' },
  { status: 403, code: 40300, when: 'blocked by the web ACL (only when one is attached)' },
  { status: 404, code: ErrorCode.notFound, when: 'an unknown route, a task that is not yours or does not exist, an unknown callback (a wrong token is one), or an upstream generation the upstream does not know' },
  { status: 409, code: ErrorCode.conflict, when: 'extending a task that is not completed, a callback for another generation, resending to a disabled endpoint, or resending a completed notification still waiting for its media to be stored' },
  { status: 409, code: ErrorCode.idempotencyMismatch, when: 'an Idempotency-Key reused with another body' },
  { status: 409, code: ErrorCode.inProgress, when: 'a request with this Idempotency-Key is still being handled (Retry-After)' },
  { status: 413, code: ErrorCode.payloadTooLarge, when: 'the body is over 6 MB − 64 KiB' },
  { status: 415, code: ErrorCode.unsupportedMediaType, when: 'Content-Type is not JSON' },
  { status: 422, code: ErrorCode.contentRefused, when: 'the upstream refused the content (moderation, safety)' },
  { status: 429, code: ErrorCode.throttled, when: 'throttled by the stage limits (Retry-After)' },
  { status: 429, code: ErrorCode.upstreamQuota, when: 'the upstream refused for a quota or rate limit' },
  { status: 429, code: ErrorCode.openTasksLimit, when: 'your open-task limit is reached: a slot frees when one of your open tasks ends (Retry-After); nothing was written' },
  { status: 429, code: ErrorCode.tasksPerDayLimit, when: 'your tasks-per-day limit is reached: it frees at the next midnight UTC (Retry-After: the seconds until then); nothing was written' },
  { status: 500, code: ErrorCode.internal, when: 'the gateway failed to handle the request (logged); retry later' },
  { status: 502, code: ErrorCode.upstreamBadResponse, when: "the upstream refused the gateway's own key (the operator must update it)" },
  // API Gateway's answer to a function that failed (DEFAULT_5XX keeps its status, 502).
  { status: 502, code: ErrorCode.internal, when: 'the function failed before answering' },
  {
    status: 503,
    code: ErrorCode.dependencyUnavailable,
    when: 'a dependency is unavailable or slow (DynamoDB, the key store, the upstream unreachable or throttling, the gateway out of time), with Retry-After',
  },
  { status: 504, code: ErrorCode.upstreamTimeout, when: "the request outlasted API Gateway's 29 s (the functions answer before it)" },
] as const satisfies readonly ErrorCatalogEntry[];

export type ErrorStatus = (typeof errorCatalog)[number]['status'];

/**
 * What API Gateway may answer on any route, before or instead of the
 * function (gateway-responses.ts): the firewall, the 10 MB limit,
 * throttling, a function that failed, could not run or outlasted 29 s.
 */
export const EVERY_ROUTE_ERRORS = [403, 413, 429, 500, 502, 503, 504] as const satisfies readonly ErrorStatus[];

/** What the client authorizer adds on the routes behind it: no key or an unknown one. */
export const CLIENT_ROUTE_ERRORS = [401] as const satisfies readonly ErrorStatus[];

/** The rows of one status. */
export function errorsOfStatus(status: number): readonly ErrorCatalogEntry[] {
  return errorCatalog.filter((entry) => entry.status === status);
}
