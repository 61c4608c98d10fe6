/** GET /luma/generations/{task_id}/deliveries: every notification attempt for one of the caller's tasks. */
import { notFound } from '#domain/errors';
import { taskIdPathSchema } from '#domain/schemas';
import { deliveryStoreFromEnv, taskStoreFromEnv } from '#domain/wiring';
import { apiHandler, callerId, parseOrThrow } from '#http/api-handler';
import type { JsonEvent } from '#http/middleware';

const MAX_ATTEMPTS_SHOWN = 100;

export async function listDeliveries(event: JsonEvent) {
  const { task_id } = parseOrThrow(taskIdPathSchema, event.pathParameters ?? {}, 'path');
  const taskId = task_id.toLowerCase();
  const task = await taskStoreFromEnv().get(taskId);
  if (task === undefined || task.owner_id !== callerId(event)) throw notFound(`task ${taskId} was not found`);
  return { task_id: taskId, deliveries: await deliveryStoreFromEnv().list(taskId, MAX_ATTEMPTS_SHOWN) };
}

export const handler = apiHandler(listDeliveries, { jsonBody: false });
