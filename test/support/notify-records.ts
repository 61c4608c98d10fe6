/**
 * Stream records through the consumer's real path (the fan-out of
 * functions/domain/task-changes.ts) with the notification reaction alone.
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { notificationReaction, type NotifyDeps } from '#domain/notify';
import { silentLog } from '#domain/ports';
import { reactToTaskChanges, type BatchResult } from '#domain/task-changes';

export type NotifyTestDeps = NotifyDeps & { readonly remainingMs?: () => number };

export function notifyStatusChanges(deps: NotifyTestDeps, records: readonly DynamoDBRecord[]): Promise<BatchResult> {
  return reactToTaskChanges([notificationReaction(deps)], records, { remainingMs: deps.remainingMs ?? (() => Infinity) }, deps.log ?? silentLog);
}
