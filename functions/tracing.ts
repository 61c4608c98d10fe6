/**
 * Tracing (Powertools Tracer, X-Ray), where it earns its cost: the
 * reconciler. Its runs make up to reconcileMaxTasks upstream look-ups, four
 * at a time, each followed by a conditional write: a trace shows which
 * look-up or write was slow, which no single log line does. Its cold start
 * is on nobody's path (a schedule, then warm).
 *
 * Not the API functions: the X-Ray SDK adds about 124 KB to a bundle and
 * made extend's cold start 1.3x (import and first invocation, p50; README
 * "Tracing"), while extend's one slow step, the upstream call, already has
 * its log line (duration, status) and the UpstreamLatency metric, and every
 * function keeps Lambda's active tracing (its invocation and init
 * segments). Functions that do not trace never import this module, so they
 * carry none of the X-Ray SDK (test/budgets holds it).
 */
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { documentClient } from '#adapters/dynamodb/document-client';
import { tracer } from '#adapters/tracer';

/** The Tracer's middleware (for instrument()), with the function's DynamoDB calls as subsegments. */
export function tracing() {
  tracer.captureAWSv3Client(documentClient());
  // The response is the run's summary or a task: no value in a trace, and not recorded.
  return captureLambdaHandler(tracer, { captureResponse: false });
}
