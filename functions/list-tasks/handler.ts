/** GET /luma/generations: the caller's own tasks, newest first, a page at a time. */
import type { Context } from 'aws-lambda';
import { DEFAULT_LIST_LIMIT, listTasks } from '#domain/task-listing';
import { listQuerySchema } from '#domain/tenant-requests';
import { assetLinks, taskStore } from '#functions/wiring';
import { apiHandler, callerId } from '#http/api-handler';
import type { JsonEvent } from '#http/middleware';
import { parseOrThrow } from '#http/validation';
import { INVOCATION_MARGIN_MS } from '#functions/time-budget';

export async function listCallersTasks(event: JsonEvent, context: Context) {
  const query = parseOrThrow(listQuerySchema, event.queryStringParameters ?? {}, 'query');
  return listTasks({ tasks: taskStore(), links: assetLinks(), remainingMs: () => context.getRemainingTimeInMillis() - INVOCATION_MARGIN_MS }, callerId(event), {
    status: query.status,
    createdAfter: query.created_after === undefined ? undefined : Number(query.created_after),
    limit: query.limit === undefined ? DEFAULT_LIST_LIMIT : Number(query.limit),
    cursor: query.cursor,
  });
}

export const handler = apiHandler(listCallersTasks, { jsonBody: false });
