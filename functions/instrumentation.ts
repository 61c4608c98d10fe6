/**
 * The Powertools middlewares every handler runs, first and in this order
 * (middy runs `before` in order, `after` and `onError` in reverse):
 *
 *   1. injectLambdaContext (Logger): every line of the invocation carries
 *      its Lambda context; the keys appended during it (request_id,
 *      task_id...) are reset when it ends, whatever happened.
 *   2. the Tracer's handler subsegment, in the functions that trace
 *      (functions/tracing.ts): it opens before and closes after everything
 *      else, so it times the whole invocation.
 *   3. logMetrics (Metrics): counts a cold start,
 *      and writes what the invocation counted as one EMF line when it ends,
 *      after the handler's own middlewares (the error envelope, the early
 *      timeout's 503) have answered, and on failures too.
 *
 * API handlers add theirs after these (functions/http/api-handler.ts);
 * background handlers are these three around a plain async function.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { Context } from 'aws-lambda';
import { logger } from '#adapters/logger';
import { metrics } from '#adapters/metrics';

export interface InstrumentationOptions {
  /** The Tracer's middleware (functions/tracing.ts), for a function that traces. */
  readonly tracing?: middy.MiddlewareObj;
}

export function instrument<E, R>(handler: middy.MiddyfiedHandler<E, R>, options: InstrumentationOptions = {}): middy.MiddyfiedHandler<E, R> {
  handler.use(injectLambdaContext(logger, { resetKeys: true }));
  if (options.tracing) handler.use(options.tracing);
  handler.use(logMetrics(metrics, { captureColdStartMetric: true }));
  return handler;
}

/** A background function (a schedule, a stream consumer): a plain async function, instrumented. */
export function backgroundHandler<E, R>(run: (event: E, context: Context) => Promise<R>, options: InstrumentationOptions = {}) {
  return instrument(middy<E, R>(), options).handler(run);
}
