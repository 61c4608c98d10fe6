/** POST /luma/generations/{task_id}/notifications/resend: the caller's task's latest notification, sent again now. */
import type { Context } from 'aws-lambda';
import { resendLatest } from '#domain/redeliver';
import { resendDeps } from '#functions/wiring';
import { apiHandler } from '#http/api-handler';
import { callersTask } from '#http/callers-task';
import type { JsonEvent } from '#http/middleware';

export async function resendNotification(event: JsonEvent, context: Context) {
  return resendLatest({ ...resendDeps(), remainingMs: () => context.getRemainingTimeInMillis() }, await callersTask(event));
}

export const handler = apiHandler(resendNotification, { jsonBody: false });
