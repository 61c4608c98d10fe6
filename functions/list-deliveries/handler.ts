/** GET /luma/generations/{task_id}/deliveries: every notification attempt for one of the caller's tasks, and where each notification stands. */
import { toNotificationView } from '#domain/message';
import { deliveryStore, messageStore } from '#functions/wiring';
import { apiHandler } from '#http/api-handler';
import { callersTask } from '#http/callers-task';
import type { JsonEvent } from '#http/middleware';

const MAX_ATTEMPTS_SHOWN = 100;

export async function listDeliveries(event: JsonEvent) {
  const { task_id } = await callersTask(event);
  const [deliveries, messages] = await Promise.all([deliveryStore().list(task_id, MAX_ATTEMPTS_SHOWN), messageStore().ofTask(task_id)]);
  return { task_id, deliveries, notifications: messages.map(toNotificationView) };
}

export const handler = apiHandler(listDeliveries, { jsonBody: false });
