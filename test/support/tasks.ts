/** A task item as extend writes it, for store-level tests. */
import { randomUUID } from 'node:crypto';
import type { TaskItem } from '#domain/task';

export const FAR_FUTURE = Math.floor(Date.now() / 1000) + 365 * 86_400;

export function taskItem(overrides: Partial<TaskItem> = {}): TaskItem {
  return {
    task_id: randomUUID(),
    schema_version: 1,
    kind: 'extend',
    owner_id: 'client-a',
    task_status: 'submitting',
    status_rank: 0,
    parent_task_id: '4665a07c-7641-4809-a133-10786201bb56',
    prompt: 'add cat',
    callback_token_hash: 'ab'.repeat(32),
    created_at: 1000,
    updated_at: 1000,
    deadline_at: 8200,
    open_shard: '1',
    check_after: 1120,
    // DynamoDB Local really deletes expired items (TTL): keep test items alive whatever their fake clock.
    expires_at: FAR_FUTURE,
    ...overrides,
  };
}
