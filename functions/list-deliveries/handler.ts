/** GET /luma/generations/{task_id}/deliveries: every notification attempt for one of the caller's tasks. */
import { deliveryStore } from '#functions/wiring';
import { apiHandler } from '#http/api-handler';
import { callersTask } from '#http/callers-task';
import type { JsonEvent } from '#http/middleware';

const MAX_ATTEMPTS_SHOWN = 100;

export async function listDeliveries(event: JsonEvent) {
  const { task_id } = await callersTask(event);
  return { task_id, deliveries: await deliveryStore().list(task_id, MAX_ATTEMPTS_SHOWN) };
}

export const handler = apiHandler(listDeliveries, { jsonBody: false });
