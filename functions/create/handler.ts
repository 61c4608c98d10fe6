/** POST /luma/generations: create a video. */
import { submitGeneration } from '#domain/submit-generation';
import { generationRequestSchemaFromEnv, submitDepsFromEnv } from '#domain/wiring-submit';
import { apiHandler, callerId, idempotencyKey, parseOrThrow } from '#http/api-handler';
import type { JsonEvent } from '#http/middleware';

export async function create(event: JsonEvent) {
  return submitGeneration(submitDepsFromEnv(), {
    ownerId: callerId(event),
    request: parseOrThrow(generationRequestSchemaFromEnv(), event.body, ''),
    idempotencyKey: idempotencyKey(event),
  });
}

export const handler = apiHandler(create, { jsonBody: true });
