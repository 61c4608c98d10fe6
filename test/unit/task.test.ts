import { STATUS_RANK, TASK_STATUSES, isTerminal, statusFromUpstream, toTaskView, type TaskItem } from '#domain/task';

describe('task statuses', () => {
  it('ranks statuses in lifecycle order, both ends terminal', () => {
    expect(TASK_STATUSES.map((s) => STATUS_RANK[s])).toEqual([0, 1, 2, 3, 3]);
    expect(isTerminal('completed') && isTerminal('failed')).toBe(true);
    expect(isTerminal('processing')).toBe(false);
  });

  it.each([
    ['pending', 'pending'],
    ['queued', 'pending'],
    ['submitted', 'pending'],
    ['processing', 'processing'],
    ['dreaming', 'processing'],
    ['in_progress', 'processing'],
    ['IN-PROGRESS', 'processing'],
    ['completed', 'completed'],
    ['succeed', 'completed'],
    ['failed', 'failed'],
  ])('maps upstream %s to %s', (upstream, status) => {
    expect(statusFromUpstream(upstream)).toBe(status);
  });

  it('does not guess unknown spellings', () => {
    for (const state of ['levitating', '', undefined, null, 'complete-ish']) expect(statusFromUpstream(state)).toBeUndefined();
  });

  it('shows clients no private field', () => {
    const item: TaskItem = {
      task_id: 't', schema_version: 1, kind: 'extend', owner_id: 'o', task_status: 'pending', status_rank: 1,
      upstream_id: 'secret-upstream', parent_upstream_id: 'p-up', prompt: 'add cat', callback_token_hash: 'hash',
      notify_hook: 'https://example.com/hook', created_at: 1, updated_at: 2, deadline_at: 3, expires_at: 4, open_shard: '1', check_after: 5,
    };
    const view = toTaskView(item);
    expect(Object.keys(view).sort()).toEqual(
      [
        'created_at', 'failure_code', 'failure_reason', 'last_frame_url', 'parent_task_id', 'prompt', 'task_id', 'task_status', 'thumbnail_url', 'updated_at', 'video_url',
        // Issue 10: the no-watermark video, and where the stored media stand (their keys stay private: links are presigned).
        'video_raw_url', 'asset_state', 'asset_failure_reason', 'urls_expire_at',
      ].sort(),
    );
    expect(JSON.stringify(view)).not.toMatch(/secret-upstream|hash|owner/);
  });
});
