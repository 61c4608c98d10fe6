/**
 * Powertools Tracer (X-Ray), for the functions that trace
 * (functions/tracing.ts): one instance per container. Only those functions
 * import this module, so the others carry no X-Ray SDK (test/budgets).
 *
 * What it records: the handler's subsegment (cold start and service
 * annotations; an unhandled error's message and stack), one subsegment per
 * AWS SDK call (operation, table, status: no item, no secret value), and one
 * per outgoing HTTP request with its method, URL without the query and
 * status (the upstream's `/luma/generations/<upstream id>`; never a header,
 * so never the key; never a body, so never the callback URL a submission
 * carries). Never the handler's response (captureResponse off).
 */
import { Tracer } from '@aws-lambda-powertools/tracer';
import { GATEWAY_SERVICE_NAME } from '../../lib/gateway-metrics';

export const tracer = new Tracer({ serviceName: GATEWAY_SERVICE_NAME, captureHTTPsRequests: true });
