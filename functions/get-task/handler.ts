/** GET /luma/generations/{task_id}: the caller's own task. */
import { notFound } from '#domain/errors';
import { taskIdPathSchema } from '#domain/schemas';
import { toTaskView } from '#domain/task';
import { taskStoreFromEnv } from '#domain/wiring';
import { apiHandler, callerId, parseOrThrow } from '#http/api-handler';
import type { JsonEvent } from '#http/middleware';

export async function getTask(event: JsonEvent) {
  const { task_id } = parseOrThrow(taskIdPathSchema, event.pathParameters ?? {}, 'path');
  const taskId = task_id.toLowerCase();
  const task = await taskStoreFromEnv().get(taskId);
  // Another client's task is indistinguishable from an unknown one.
  if (task === undefined || task.owner_id !== callerId(event)) throw notFound(`task ${taskId} was not found`);
  return toTaskView(task);
}

export const handler = apiHandler(getTask, { jsonBody: false });
