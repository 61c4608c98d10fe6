/** What extend and create share: the submission from the request, and its answer (200, or 202 while the outcome is being confirmed). */
import type { Context } from 'aws-lambda';
import { submitGeneration } from '#domain/submit-generation';
import { requestSchema, submitDeps } from '#functions/wiring';
import { INVOCATION_MARGIN_MS, SUBMIT_RESERVE_AFTER_UPSTREAM_MS } from '../time-budget';
import { callerId, idempotencyKey } from './api-handler';
import { SuccessAnswer } from './envelope';
import type { JsonEvent } from './middleware';
import { parseOrThrow } from './validation';

export const UNCONFIRMED_MESSAGE =
  "the upstream's answer to the submission was lost (it timed out, reset or failed); the task is kept and its outcome is being confirmed: " +
  'follow it with GET /luma/generations/{task_id} or your notify_hook, and retry with the same Idempotency-Key to get this task again';

export async function submit(event: JsonEvent, context: Context, parentTaskId: string | undefined) {
  const result = await submitGeneration(submitDeps(), {
    ownerId: callerId(event),
    parentTaskId,
    request: parseOrThrow(requestSchema(), event.body, ''),
    idempotencyKey: idempotencyKey(event),
    remainingMs: () => context.getRemainingTimeInMillis() - INVOCATION_MARGIN_MS,
    reserveAfterUpstreamMs: SUBMIT_RESERVE_AFTER_UPSTREAM_MS,
    requestId: event.requestContext.requestId,
  });
  return result.confirmed ? result.task : new SuccessAnswer(result.task, 202, UNCONFIRMED_MESSAGE.replace('{task_id}', result.task.task_id));
}
