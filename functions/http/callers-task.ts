/** The task named by the path's {task_id}, if it is the caller's: routes that read one task share this. */
import { notFound } from '#domain/errors';
import { taskIdPathSchema } from '#domain/generation-request';
import type { TaskItem } from '#domain/task';
import { taskStore } from '#functions/wiring';
import { callerId } from './api-handler';
import type { JsonEvent } from './middleware';
import { parseOrThrow } from './validation';

export async function callersTask(event: JsonEvent): Promise<TaskItem> {
  const { task_id } = parseOrThrow(taskIdPathSchema, event.pathParameters ?? {}, 'path');
  const taskId = task_id.toLowerCase();
  const task = await taskStore().get(taskId);
  // Another client's task is indistinguishable from an unknown one.
  if (task === undefined || task.owner_id !== callerId(event)) throw notFound(`task ${taskId} was not found`);
  return task;
}
