/** The task named by the path's {task_id}, if it is the caller's: routes that read one task share this. */
import { notFound } from '#domain/errors';
import { taskIdPathSchema } from '#domain/schemas';
import type { TaskItem } from '#domain/task';
import { taskStoreFromEnv } from '#domain/wiring';
import { callerId, parseOrThrow } from './api-handler';
import type { JsonEvent } from './middleware';

export async function callersTask(event: JsonEvent): Promise<TaskItem> {
  const { task_id } = parseOrThrow(taskIdPathSchema, event.pathParameters ?? {}, 'path');
  const taskId = task_id.toLowerCase();
  const task = await taskStoreFromEnv().get(taskId);
  // Another client's task is indistinguishable from an unknown one.
  if (task === undefined || task.owner_id !== callerId(event)) throw notFound(`task ${taskId} was not found`);
  return task;
}
