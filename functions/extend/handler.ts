/** POST /luma/generations/{task_id}/extend: extend a video. */
import { taskIdPathSchema } from '#domain/schemas';
import { submitGeneration } from '#domain/submit-generation';
import { generationRequestSchemaFromEnv, submitDepsFromEnv } from '#domain/wiring-submit';
import { apiHandler, callerId, idempotencyKey, parseOrThrow } from '#http/api-handler';
import type { JsonEvent } from '#http/middleware';

export async function extend(event: JsonEvent) {
  const { task_id } = parseOrThrow(taskIdPathSchema, event.pathParameters ?? {}, 'path');
  return submitGeneration(submitDepsFromEnv(), {
    ownerId: callerId(event),
    parentTaskId: task_id.toLowerCase(),
    request: parseOrThrow(generationRequestSchemaFromEnv(), event.body, ''),
    idempotencyKey: idempotencyKey(event),
  });
}

export const handler = apiHandler(extend, { jsonBody: true });
