/** POST /luma/tasks: up to 100 of the caller's tasks by id (unknown ids and other clients' answered alike). */
import type { Context } from 'aws-lambda';
import { batchGetTasks } from '#domain/task-listing';
import { batchRequestSchema } from '#domain/tenant-requests';
import { assetLinks, taskStore } from '#functions/wiring';
import { INVOCATION_MARGIN_MS } from '#functions/time-budget';
import { apiHandler, callerId } from '#http/api-handler';
import type { JsonEvent } from '#http/middleware';
import { parseOrThrow } from '#http/validation';

export async function batchGetCallersTasks(event: JsonEvent, context: Context) {
  const { ids } = parseOrThrow(batchRequestSchema, event.body, '');
  return batchGetTasks({ tasks: taskStore(), links: assetLinks(), remainingMs: () => context.getRemainingTimeInMillis() - INVOCATION_MARGIN_MS }, callerId(event), ids);
}

export const handler = apiHandler(batchGetCallersTasks, { jsonBody: true });
