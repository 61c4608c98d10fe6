/** POST /luma/generations: create a video. */
import { submitGeneration } from '#domain/submit-generation';
import { requestSchema, submitDeps } from '#functions/wiring';
import { apiHandler, callerId, idempotencyKey } from '#http/api-handler';
import type { JsonEvent } from '#http/middleware';
import { parseOrThrow } from '#http/validation';

export async function create(event: JsonEvent) {
  return submitGeneration(submitDeps(), {
    ownerId: callerId(event),
    request: parseOrThrow(requestSchema(), event.body, ''),
    idempotencyKey: idempotencyKey(event),
  });
}

export const handler = apiHandler(create, { jsonBody: true });
