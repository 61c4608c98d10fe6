/** POST /luma/notifications/recover: every exhausted or skipped notification of the caller since a time, sent again. */
import type { Context } from 'aws-lambda';
import { recoverRequestSchema } from '#domain/notification-requests';
import { recoverSince } from '#domain/redeliver';
import { recoverDeps } from '#functions/wiring';
import { apiHandler, callerId } from '#http/api-handler';
import type { JsonEvent } from '#http/middleware';
import { parseOrThrow } from '#http/validation';

export async function recoverNotifications(event: JsonEvent, context: Context) {
  const { since } = parseOrThrow(recoverRequestSchema, event.body, '');
  return recoverSince({ ...recoverDeps(), remainingMs: () => context.getRemainingTimeInMillis() }, callerId(event), since);
}

export const handler = apiHandler(recoverNotifications, { jsonBody: true });
