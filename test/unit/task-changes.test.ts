/**
 * The one stream consumer's fan-out: each status change to the reactions
 * that want it, side by side, the batch's failures the union of theirs.
 */
import { silentLog } from '#domain/ports';
import { reactToTaskChanges, taskChangeOf, type TaskChange, type TaskChangeReaction } from '#domain/task-changes';
import { modifyRecord } from '../bench/events';
import { taskItem } from '../support/tasks';

const context = { remainingMs: () => 60_000 };

function changeRecord(overrides: Parameters<typeof taskItem>[0], from = 'pending', to = 'processing') {
  const task = taskItem(overrides);
  return modifyRecord({ ...task, task_status: from }, { ...task, task_status: to });
}

/** A reaction that records what it was given and fails the changes `fails` picks. */
function recording(name: string, wants: (change: TaskChange) => boolean, fails: (change: TaskChange) => boolean = () => false) {
  const seen: TaskChange[][] = [];
  const reaction: TaskChangeReaction = {
    name,
    wants,
    react: async (changes) => {
      seen.push([...changes]);
      return new Set(changes.filter(fails).map((change) => change.sequence));
    },
  };
  return { reaction, seen };
}

it('reads a status change from a MODIFY record, and nothing from a write that kept the status or an insert', () => {
  const task = taskItem();
  const change = changeRecord({ task_id: task.task_id });
  expect(taskChangeOf(change)).toMatchObject({ sequence: change.dynamodb!.SequenceNumber, before: { task_status: 'pending' }, after: { task_status: 'processing' } });
  expect(taskChangeOf(modifyRecord({ ...task, task_status: 'processing' }, { ...task, task_status: 'processing', check_after: 9 }))).toBeUndefined();
  expect(taskChangeOf({ ...change, eventName: 'INSERT', dynamodb: { ...change.dynamodb, OldImage: undefined } })).toBeUndefined();
});

it('gives each reaction only the changes it wants, in stream order, and succeeds when they all do', async () => {
  const records = [changeRecord({ notify_hook: 'https://hook.example/a' }), changeRecord({}), changeRecord({ notify_hook: 'https://hook.example/b' })];
  const hooks = recording('hooks', (change) => Boolean(change.after.notify_hook));
  const every = recording('every', () => true);
  const none = recording('none', () => false);
  const result = await reactToTaskChanges([hooks.reaction, every.reaction, none.reaction], records, context, silentLog);
  expect(result).toEqual({ batchItemFailures: [] });
  const sequences = records.map((record) => record.dynamodb!.SequenceNumber);
  expect(hooks.seen.map((batch) => batch.map((change) => change.sequence))).toEqual([[sequences[0], sequences[2]]]);
  expect(every.seen.map((batch) => batch.map((change) => change.sequence))).toEqual([sequences]);
  expect(none.seen).toEqual([]);
});

it("reports the union of the reactions' failures, in stream order; a rejecting reaction fails every change it was given", async () => {
  const records = [changeRecord({}), changeRecord({ notify_hook: 'https://hook.example/a' }), changeRecord({}), changeRecord({})];
  const sequences = records.map((record) => record.dynamodb!.SequenceNumber!);
  const failsThird = recording('third', () => true, (change) => change.sequence === sequences[2]);
  const errors: unknown[] = [];
  const rejecting: TaskChangeReaction = { name: 'hooks', wants: (change) => Boolean(change.after.notify_hook), react: () => Promise.reject(new Error('DynamoDB down')) };
  const result = await reactToTaskChanges([rejecting, failsThird.reaction], records, context, { error: (message, extra) => errors.push({ message, ...extra }) });
  expect(result.batchItemFailures).toEqual([{ itemIdentifier: sequences[1] }, { itemIdentifier: sequences[2] }]);
  expect(errors).toEqual([expect.objectContaining({ message: 'a task change reaction failed', reaction: 'hooks' })]);
});
