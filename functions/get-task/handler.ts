/** GET /luma/generations/{task_id}: the caller's own task. */
import { toTaskView } from '#domain/task';
import { apiHandler } from '#http/api-handler';
import { callersTask } from '#http/callers-task';
import type { JsonEvent } from '#http/middleware';

export async function getTask(event: JsonEvent) {
  return toTaskView(await callersTask(event));
}

export const handler = apiHandler(getTask, { jsonBody: false });
