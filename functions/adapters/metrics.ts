/**
 * The gateway's metrics (lib/gateway-metrics.ts) in CloudWatch embedded
 * metric format, with Powertools Metrics: one instance per container,
 * namespace LumaGateway, dimensions service and stage (GATEWAY_STAGE, from
 * the stack); its middleware (functions/instrumentation.ts) writes what one
 * invocation counted as one EMF line when it ends.
 *
 * A breakdown (TasksFailed by failure_code, ...) is the same metric under an
 * extra dimension set: a single-metric line of its own, written at once. The
 * contract keeps breakdowns to rare events, so a task's ordinary life adds
 * no line.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricSink } from '#domain/ports';
import { GATEWAY_METRICS_NAMESPACE, GATEWAY_SERVICE_NAME } from '../../lib/gateway-metrics';
import { readSettings } from '../settings';
import { logger } from './logger';

/** An invocation that counted nothing (a GET) is normal here: Powertools' warning about it is dropped. */
const EMPTY_FLUSH_WARNING = 'No application metrics to publish';
const metricsLog = {
  debug: (...args: unknown[]) => logger.debug(String(args[0])),
  info: (...args: unknown[]) => logger.info(String(args[0])),
  warn: (...args: unknown[]) => (String(args[0]).startsWith(EMPTY_FLUSH_WARNING) ? undefined : logger.warn(String(args[0]))),
  error: (...args: unknown[]) => logger.error(String(args[0])),
};

function createMetrics(): Metrics {
  return new Metrics({
    namespace: GATEWAY_METRICS_NAMESPACE,
    // The contract's constant (the alarms read it), not POWERTOOLS_SERVICE_NAME.
    serviceName: GATEWAY_SERVICE_NAME,
    defaultDimensions: { stage: readSettings(process.env).stage },
    logger: metricsLog,
  });
}

// Pure: a function that emits no metric (the authorizer) carries none of Powertools Metrics.
export const metrics = /* @__PURE__ */ createMetrics();

export const metricSink: MetricSink = {
  count: (name, value = 1, ...by) => {
    metrics.addMetric(name, MetricUnit.Count, value);
    const breakdown = by[0] as Readonly<Record<string, string>> | undefined;
    if (breakdown === undefined) return;
    const single = metrics.singleMetric();
    for (const [dimension, dimensionValue] of Object.entries(breakdown)) single.addDimension(dimension, dimensionValue);
    single.addMetric(name, MetricUnit.Count, value);
  },
  milliseconds: (name, value) => void metrics.addMetric(name, MetricUnit.Milliseconds, value),
  seconds: (name, value) => void metrics.addMetric(name, MetricUnit.Seconds, value),
};
