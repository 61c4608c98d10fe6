/**
 * Time budgets, written once. Every outbound call of a function is bounded
 * (connect and request timeouts, bounded attempts), the submit pipeline
 * slices each invocation's remaining time between its steps, and the CDK
 * stack derives the functions' timeouts from the same numbers
 * (lib/function-needs.ts), so no answer can come after API Gateway gives up.
 */
import { SETTINGS } from './settings';

/** API Gateway (REST) ends every integration at 29 s. */
export const API_GATEWAY_INTEGRATION_TIMEOUT_MS = 29_000;

/**
 * Every AWS SDK call (DynamoDB, Secrets Manager): a regional endpoint
 * answers in milliseconds, so these bound a stall, not a slow answer.
 */
export const AWS_CALL = {
  connectionTimeoutMs: 500,
  requestTimeoutMs: 1500,
  maxAttempts: 2,
  /** The SDK's standard retry waits at most this long before its one retry (throttling base delay). */
  maxRetryDelayMs: 500,
} as const;

/** The longest one SDK call can take, retries included. */
export const AWS_CALL_WORST_MS = AWS_CALL.maxAttempts * (AWS_CALL.connectionTimeoutMs + AWS_CALL.requestTimeoutMs) + AWS_CALL.maxRetryDelayMs;

/** Kept at the end of every invocation for the answer itself (middy answers 503 this long before the function's timeout). */
export const INVOCATION_MARGIN_MS = 300;

/** An upstream attempt shorter than this is not started: it could not succeed, and a refused call is better than a lost one. */
export const MIN_UPSTREAM_ATTEMPT_MS = 1000;

/**
 * extend and create, at worst: read the parent, write the task, read the
 * key, call the upstream; after a 401 read the key again and call again;
 * record the outcome. With every step at its bound that is more than API
 * Gateway allows, so the function gets what API Gateway allows (less a
 * second for the integration itself) and the pipeline gives each upstream
 * attempt only what remains after the steps that must follow it.
 */
export function submitWorstCaseMs(upstreamTimeoutMs: number): number {
  const sdkCalls = 5; // parent, task (+ key), upstream key, upstream key again, outcome
  return sdkCalls * AWS_CALL_WORST_MS + 2 * upstreamTimeoutMs + INVOCATION_MARGIN_MS;
}

export const SUBMIT_FUNCTION_TIMEOUT_MS = Math.min(
  API_GATEWAY_INTEGRATION_TIMEOUT_MS - 1000,
  submitWorstCaseMs(SETTINGS.upstreamTimeoutMs.default),
);

/** Reserved after the upstream answers: the one write that records the outcome. */
export const SUBMIT_RESERVE_AFTER_UPSTREAM_MS = AWS_CALL_WORST_MS + INVOCATION_MARGIN_MS;

/** Whole seconds (Lambda's unit) for a function that makes `awsCalls` SDK calls at worst, plus `otherMs`, with room to answer. */
export function timeoutSecondsFor(awsCalls: number, otherMs = 0): number {
  return Math.ceil((awsCalls * AWS_CALL_WORST_MS + otherMs + INVOCATION_MARGIN_MS) / 1000);
}

/**
 * The callback: one read and one conditional write. The official Luma API
 * waits 5 s for a callback's answer and retries it: answer (even 503) within 4 s.
 */
export const CALLBACK_FUNCTION_TIMEOUT_SECONDS = 4;
