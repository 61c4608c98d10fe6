/** The task store against DynamoDB Local: conditional writes keep state moving forward only. */
import { randomUUID } from 'node:crypto';
import { taskItem } from '../support/tasks';
import { STATUS_RANK } from '#domain/task';
import { IdempotencyKeyTaken } from '#domain/ports';
import { useTaskStoreTables } from '../support/dynamo';
import { asClientSees } from '../support/client-view';

// Idempotency records get a TTL from these times, and DynamoDB Local deletes expired items.
const NOW = Math.floor(Date.now() / 1000);

const db = useTaskStoreTables();


describe('task db.store', () => {
  it('creates a task, and refuses a second write of the same id', async () => {
    const task = taskItem();
    await db.store.create(task);
    expect(await db.store.get(task.task_id)).toEqual(task);
    await expect(asClientSees(db.store.create(task))).rejects.toMatchObject({ status: 503 });
  });

  it('moves forward and records what the upstream said', async () => {
    const task = taskItem();
    await db.store.create(task);
    const pending = await db.store.advance(task.task_id, { status: 'pending', at: 1001, upstreamId: 'up-1', upstreamState: 'queued' });
    expect(pending).toMatchObject({ applied: true, task: { task_status: 'pending', status_rank: 1, upstream_id: 'up-1', upstream_state: 'queued', updated_at: 1001 } });
    const done = await db.store.advance(task.task_id, { status: 'completed', at: 1002, videoUrl: 'https://v/1.mp4', thumbnailUrl: 'https://v/t.jpg' });
    expect(done.applied).toBe(true);
    expect(done.task).toMatchObject({ task_status: 'completed', video_url: 'https://v/1.mp4', thumbnail_url: 'https://v/t.jpg' });
    // Terminal tasks leave the sparse open-task index.
    expect(done.task).not.toHaveProperty('open_shard');
    expect(done.task).not.toHaveProperty('check_after');
  });

  it('never moves backward or sideways, and returns the current task', async () => {
    const task = taskItem();
    await db.store.create(task);
    await db.store.advance(task.task_id, { status: 'processing', at: 1001 });
    for (const status of ['submitting', 'pending', 'processing'] as const) {
      const result = await db.store.advance(task.task_id, { status, at: 1002 });
      expect(result.applied).toBe(false);
      expect(result.task).toMatchObject({ task_id: task.task_id, task_status: 'processing', updated_at: 1001 });
    }
    await db.store.advance(task.task_id, { status: 'failed', at: 1003, failureReason: 'moderation' });
    const late = await db.store.advance(task.task_id, { status: 'completed', at: 1004, videoUrl: 'https://v/1.mp4' });
    expect(late.applied).toBe(false);
    expect(await db.store.get(task.task_id)).toMatchObject({ task_status: 'failed', status_rank: STATUS_RANK.failed, failure_reason: 'moderation' });
  });

  it('refuses an update carrying another upstream id', async () => {
    const task = taskItem();
    await db.store.create(task);
    await db.store.advance(task.task_id, { status: 'pending', at: 1001, upstreamId: 'up-1' });
    const forged = await db.store.advance(task.task_id, { status: 'completed', at: 1002, upstreamId: 'up-2', videoUrl: 'https://evil/v.mp4' });
    expect(forged.applied).toBe(false);
    expect(await db.store.get(task.task_id)).toMatchObject({ task_status: 'pending', upstream_id: 'up-1' });
  });

  it('does not create a task by updating an unknown id', async () => {
    const result = await db.store.advance(randomUUID(), { status: 'completed', at: 1, videoUrl: 'https://v' });
    expect(result).toEqual({ applied: false, task: undefined });
  });

  it('attaches the upstream id only when none is recorded', async () => {
    const task = taskItem();
    await db.store.create(task);
    await db.store.attachUpstreamId(task.task_id, 'up-1', 1001);
    await db.store.attachUpstreamId(task.task_id, 'up-2', 1002);
    expect((await db.store.get(task.task_id))?.upstream_id).toBe('up-1');
  });

  it('claims an Idempotency-Key with its task, atomically', async () => {
    const first = taskItem();
    const record = { pk: `client-a#${randomUUID()}`, fingerprint: 'f1', task_id: first.task_id, created_at: NOW, expires_at: NOW + 86400 };
    await db.store.create(first, record);
    const second = taskItem();
    const error = await db.store.create(second, { ...record, task_id: second.task_id }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdempotencyKeyTaken);
    expect((error as IdempotencyKeyTaken).record).toEqual(record);
    // The losing task was not written.
    expect(await db.store.get(second.task_id)).toBeUndefined();
  });

  it('reuses an expired key, and releases a key only for its own task, in the same write that fails it', async () => {
    const first = taskItem();
    const pk = `client-a#${randomUUID()}`;
    await db.store.create(first, { pk, fingerprint: 'f1', task_id: first.task_id, created_at: NOW - 100, expires_at: NOW - 50 });
    const second = taskItem();
    await db.store.create(second, { pk, fingerprint: 'f2', task_id: second.task_id, created_at: NOW, expires_at: NOW + 86400 });
    const refused = { status: 'failed', at: NOW, failureReason: 'refused', failureCode: 'refused', onlyFrom: 'submitting' } as const;
    // The first task's key is now the second's: failing the first cannot free it.
    expect(await db.store.failSubmission(first.task_id, refused, pk)).toBe(false);
    expect((await db.store.getIdempotencyRecord(pk))?.task_id).toBe(second.task_id);
    expect(await db.store.get(first.task_id)).toMatchObject({ task_status: 'submitting' });
    expect(await db.store.failSubmission(second.task_id, refused, pk)).toBe(true);
    expect(await db.store.getIdempotencyRecord(pk)).toBeUndefined();
    expect(await db.store.get(second.task_id)).toMatchObject({ task_status: 'failed', failure_code: 'refused' });
  });

  it('fails a submission only while it is submitting: a task a callback moved on keeps its state and its key', async () => {
    const task = taskItem();
    const pk = `client-a#${randomUUID()}`;
    await db.store.create(task, { pk, fingerprint: 'f', task_id: task.task_id, created_at: NOW, expires_at: NOW + 86400 });
    await db.store.advance(task.task_id, { status: 'processing', at: NOW + 1, upstreamId: 'up-1', fromUpstream: true });
    expect(await db.store.failSubmission(task.task_id, { status: 'failed', at: NOW + 2, failureReason: 'late refusal', onlyFrom: 'submitting' }, pk)).toBe(false);
    expect(await db.store.get(task.task_id)).toMatchObject({ task_status: 'processing' });
    expect((await db.store.getIdempotencyRecord(pk))?.task_id).toBe(task.task_id);
  });

  it('revives a task failed as unconfirmed on a report from the upstream, and no other failed or completed task', async () => {
    const unconfirmed = taskItem({ task_status: 'failed', status_rank: 3, failure_code: 'unconfirmed', failure_reason: 'never confirmed', open_shard: undefined, check_after: undefined });
    const refused = taskItem({ task_status: 'failed', status_rank: 3, failure_code: 'refused', failure_reason: 'no', open_shard: undefined, check_after: undefined });
    const completed = taskItem({ task_status: 'completed', status_rank: 3, upstream_id: 'up-done', video_url: 'https://v/x.mp4', open_shard: undefined, check_after: undefined });
    for (const task of [unconfirmed, refused, completed]) await db.store.create(task);
    const report = { status: 'processing', at: NOW, upstreamId: 'up-2', fromUpstream: true } as const;

    const revived = await db.store.advance(unconfirmed.task_id, report);
    expect(revived.applied).toBe(true);
    expect(revived.task).toMatchObject({ task_status: 'processing', status_rank: 2, upstream_id: 'up-2', open_shard: expect.any(String), check_after: NOW });
    expect(revived.task?.failure_code).toBeUndefined();
    expect(revived.task?.failure_reason).toBeUndefined();
    // Not from the upstream (a gateway decision): no revival.
    expect((await db.store.advance(refused.task_id, { ...report, fromUpstream: undefined })).applied).toBe(false);
    expect((await db.store.advance(refused.task_id, report)).applied).toBe(false);
    expect((await db.store.advance(completed.task_id, { ...report, upstreamId: 'up-done' })).applied).toBe(false);
    // Once revived, the usual forward-only rule again.
    expect((await db.store.advance(unconfirmed.task_id, report)).applied).toBe(false);
    expect((await db.store.advance(unconfirmed.task_id, { ...report, status: 'completed', videoUrl: 'https://v/y.mp4' })).task).toMatchObject({ task_status: 'completed' });
  });
});
