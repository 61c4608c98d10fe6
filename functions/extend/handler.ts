/** POST /luma/generations/{task_id}/extend: extend a video. */
import { taskIdPathSchema } from '#domain/generation-request';
import { submitGeneration } from '#domain/submit-generation';
import { requestSchema, submitDeps } from '#functions/wiring';
import { apiHandler, callerId, idempotencyKey } from '#http/api-handler';
import type { JsonEvent } from '#http/middleware';
import { parseOrThrow } from '#http/validation';

export async function extend(event: JsonEvent) {
  const { task_id } = parseOrThrow(taskIdPathSchema, event.pathParameters ?? {}, 'path');
  return submitGeneration(submitDeps(), {
    ownerId: callerId(event),
    parentTaskId: task_id.toLowerCase(),
    request: parseOrThrow(requestSchema(), event.body, ''),
    idempotencyKey: idempotencyKey(event),
  });
}

export const handler = apiHandler(extend, { jsonBody: true });
