/** POST /luma/generations/{task_id}/extend: extend a video. */
import type { Context } from 'aws-lambda';
import { taskIdPathSchema } from '#domain/generation-request';
import { apiHandler } from '#http/api-handler';
import type { JsonEvent } from '#http/middleware';
import { submit } from '#http/submission';
import { parseOrThrow } from '#http/validation';

export async function extend(event: JsonEvent, context: Context) {
  const { task_id } = parseOrThrow(taskIdPathSchema, event.pathParameters ?? {}, 'path');
  return submit(event, context, task_id.toLowerCase());
}

export const handler = apiHandler(extend, { jsonBody: true });
