/**
 * POST /luma/callbacks/{token}: the upstream's notification of a task change.
 * No client authorizer: the per-task token in the path is the credential.
 * Served by the function's own URL (a payload 2.0 event) and, for a
 * deprecation period, by the REST API: one handler, one adapter.
 */
import { parseUpstreamGeneration } from '#adapters/upstream/response';
import { applyCallback } from '#domain/apply-callback';
import { callbackDeps } from '#functions/wiring';
import { apiHandler } from '#http/api-handler';
import { servedByFunctionUrl } from '#http/function-url';
import type { JsonEvent } from '#http/middleware';
import { CALLBACK_ROUTE } from '../routes';

export async function callback(event: JsonEvent) {
  const token = event.pathParameters?.token ?? '';
  return applyCallback(callbackDeps(), token, parseUpstreamGeneration(event.body));
}

// Upstreams do not all label their callbacks application/json; the body is parsed as JSON regardless.
export const handler = servedByFunctionUrl(CALLBACK_ROUTE, apiHandler(callback, { jsonBody: true, anyContentType: true }));
