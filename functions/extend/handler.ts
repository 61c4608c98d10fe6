/** POST /luma/generations/{task_id}/extend: extend a video. */
import { ENV, requireEnv } from '#domain/config';
import { generationRequestSchema, idempotencyKeySchema, taskIdPathSchema } from '#domain/schemas';
import { submitGeneration, type SubmitDeps } from '#domain/submit-generation';
import { lifecycleFromEnv, nowSeconds, once, taskStoreFromEnv, upstreamFromEnv } from '#domain/wiring';
import { apiHandler, callerId, header, parseOrThrow } from '#http/api-handler';
import type { JsonEvent } from '#http/middleware';
import { logger } from '#http/logger';

const requestSchema = once(() => generationRequestSchema({ allowLoopbackHttp: process.env[ENV.allowLoopbackHooks] === 'true' }));

const deps = once((): SubmitDeps => ({
  tasks: taskStoreFromEnv(),
  upstream: upstreamFromEnv(),
  callbackBaseUrl: requireEnv(ENV.callbackBaseUrl),
  lifecycle: lifecycleFromEnv(),
  now: nowSeconds,
  log: logger,
}));

export async function extend(event: JsonEvent) {
  const { task_id } = parseOrThrow(taskIdPathSchema, event.pathParameters ?? {}, 'path');
  const request = parseOrThrow(requestSchema(), event.body, '');
  const key = header(event, 'idempotency-key');
  return submitGeneration(deps(), {
    ownerId: callerId(event),
    parentTaskId: task_id.toLowerCase(),
    request,
    idempotencyKey: key === undefined ? undefined : parseOrThrow(idempotencyKeySchema, key, 'Idempotency-Key header'),
  });
}

export const handler = apiHandler(extend, { jsonBody: true });
