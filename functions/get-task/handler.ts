/** GET /luma/generations/{task_id}: the caller's own task, its stored media linked afresh (presigned at every read). */
import { withStoredLinks } from '#domain/assets';
import { toTaskView } from '#domain/task';
import { apiHandler } from '#http/api-handler';
import { callersTask } from '#http/callers-task';
import type { JsonEvent } from '#http/middleware';
import { assetLinks } from '#functions/wiring';

export async function getTask(event: JsonEvent) {
  const task = await callersTask(event);
  return withStoredLinks(toTaskView(task), task.asset_keys, assetLinks(), Date.now());
}

export const handler = apiHandler(getTask, { jsonBody: false });
