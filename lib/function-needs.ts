import { Duration } from 'aws-cdk-lib';
import { DUE_ASSET_JOBS_INDEX, DUE_MESSAGES_INDEX, OPEN_TASKS_INDEX, OWNER_TASKS_INDEX, UNDELIVERED_MESSAGES_INDEX, type TableRole } from '../functions/tables';
import { SETTINGS } from '../functions/settings';
import { CALLBACK_FUNCTION_TIMEOUT_SECONDS, SUBMIT_FUNCTION_TIMEOUT_MS, timeoutSecondsFor } from '../functions/time-budget';

export interface TableAccess {
  readonly table: TableRole;
  /** Item-level DynamoDB actions, never a wildcard. */
  readonly actions: readonly string[];
  /** Grant on this index (for Query) instead of the table. */
  readonly index?: string;
}

/**
 * What one function may do, and how big it is. One entry per folder under
 * functions/. The settings it reads (and so its environment) are declared
 * on the settings (functions/settings.ts, `readBy`); one that reads the
 * upstream secret's id may read that secret.
 */
export interface FunctionNeeds {
  readonly description: string;
  readonly tables: readonly TableAccess[];
  readonly memorySize: number;
  readonly timeout: Duration;
  /** Synchronous: API Gateway, authorizer, stream polling. Asynchronous: schedules and events (gets a DLQ). */
  readonly invocation: 'synchronous' | 'asynchronous';
  /** Writes the stored media (the asset bucket's PutObject). Reading them is for the functions that read the assetBucket setting. */
  readonly writesAssets?: true;
}

// Conditional writes need no extra action; TransactWriteItems is authorised
// per item with the same Put/Update/Delete actions (add dynamodb:ConditionCheckItem
// only if a transaction gains a ConditionCheck).
const TASK_WRITER = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];
const IDEMPOTENCY = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'];

/** What a function that sends notifications (claims, attempts, settles) touches. */
const SENDER_TABLES: readonly TableAccess[] = [
  { table: 'clients', actions: ['dynamodb:GetItem'] },
  { table: 'endpoints', actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'] },
  { table: 'messages', actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'] },
  // The attempt record; GetItem: did an attempt whose message was never settled deliver it?
  { table: 'deliveries', actions: ['dynamodb:GetItem', 'dynamodb:PutItem'] },
];

/** The submit functions wait for the upstream and DynamoDB: their timeout and each step's share come from functions/time-budget.ts, inside API Gateway's 29 s. */
const submitter = (description: string): FunctionNeeds => ({
  description,
  tables: [
    { table: 'tasks', actions: TASK_WRITER },
    { table: 'idempotency', actions: IDEMPOTENCY },
    // In the task's own transaction: the client's open-task slot and the day's submission count (limits item, day item).
    { table: 'usage', actions: ['dynamodb:UpdateItem'] },
  ],
  memorySize: 512,
  timeout: Duration.millis(SUBMIT_FUNCTION_TIMEOUT_MS),
  invocation: 'synchronous',
});

/**
 * Least-privilege needs of every function, by functions/<name>. The stack
 * creates the functions routes.ts and background.ts list, and the
 * authorizer; each must have its entry here, or the synth fails (needsOf).
 */
export const FUNCTION_NEEDS: Readonly<Record<string, FunctionNeeds>> = {
  authorizer: {
    description: 'Checks Authorization: Bearer <key> against the clients table',
    tables: [{ table: 'clients', actions: ['dynamodb:GetItem'] }],
    memorySize: 256,
    timeout: Duration.seconds(timeoutSecondsFor(1)),
    invocation: 'synchronous',
  },
  extend: submitter('POST /luma/generations/{task_id}/extend: records a task and submits it upstream'),
  create: submitter('POST /luma/generations: records a task and submits it upstream'),
  'get-task': {
    description: "GET /luma/generations/{task_id}: the caller's own task",
    tables: [{ table: 'tasks', actions: ['dynamodb:GetItem'] }],
    memorySize: 256,
    timeout: Duration.seconds(timeoutSecondsFor(1)),
    invocation: 'synchronous',
  },
  callback: {
    description: "POST /luma/callbacks/{token}: the upstream's notification of a task change",
    tables: [{ table: 'tasks', actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'] }],
    memorySize: 256,
    timeout: Duration.seconds(CALLBACK_FUNCTION_TIMEOUT_SECONDS),
    invocation: 'synchronous',
  },
  'list-tasks': {
    description: "GET /luma/generations: the caller's tasks, newest first, a page at a time",
    tables: [
      // The owner index (keys only), within the caller's partition; then the page's tasks themselves.
      { table: 'tasks', actions: ['dynamodb:Query'], index: OWNER_TASKS_INDEX },
      { table: 'tasks', actions: ['dynamodb:BatchGetItem'] },
    ],
    memorySize: 256,
    // Up to 5 index pages and batch reads with a status filter; a page stops looking 2 s before the end (task-listing.ts).
    timeout: Duration.seconds(timeoutSecondsFor(4)),
    invocation: 'synchronous',
  },
  'batch-get-tasks': {
    description: "POST /luma/tasks: up to 100 of the caller's tasks by id",
    tables: [{ table: 'tasks', actions: ['dynamodb:BatchGetItem'] }],
    memorySize: 256,
    // One BatchGetItem, and its unprocessed keys read again while time is left (then a 503).
    timeout: Duration.seconds(timeoutSecondsFor(2)),
    invocation: 'synchronous',
  },
  'get-usage': {
    description: "GET /luma/usage: the caller's usage per UTC day and its limits",
    tables: [{ table: 'usage', actions: ['dynamodb:GetItem', 'dynamodb:Query'] }],
    memorySize: 256,
    // The days' Query and the limits' GetItem, side by side.
    timeout: Duration.seconds(timeoutSecondsFor(2)),
    invocation: 'synchronous',
  },
  'list-deliveries': {
    description: "GET /luma/generations/{task_id}/deliveries: notification attempts and notifications of one of the caller's tasks",
    tables: [
      { table: 'tasks', actions: ['dynamodb:GetItem'] },
      { table: 'deliveries', actions: ['dynamodb:Query'] },
      { table: 'messages', actions: ['dynamodb:Query'] },
    ],
    memorySize: 256,
    timeout: Duration.seconds(timeoutSecondsFor(2)),
    invocation: 'synchronous',
  },
  'resend-notification': {
    description: "POST /luma/generations/{task_id}/notifications/resend: sends a task's latest notification again",
    tables: [
      { table: 'tasks', actions: ['dynamodb:GetItem'] },
      ...SENDER_TABLES,
    ],
    memorySize: 256,
    // Task, messages, then (endpoint, client, earlier pending) at once, the requeue, one first attempt, its record,
    // settling write and the read of the outcome. The attempt is made only when it and its writes fit the time left;
    // the message is pending before it, so one cut short is finished by the worker.
    timeout: Duration.seconds(timeoutSecondsFor(5, SETTINGS.notifyFirstAttemptTimeoutMs.default)),
    invocation: 'synchronous',
  },
  'recover-notifications': {
    description: "POST /luma/notifications/recover: makes the caller's exhausted and skipped notifications since a time pending again",
    tables: [
      { table: 'messages', actions: ['dynamodb:Query'], index: UNDELIVERED_MESSAGES_INDEX },
      { table: 'messages', actions: ['dynamodb:UpdateItem'] },
    ],
    memorySize: 256,
    // Pages and conditional updates in parallel, stopping in time (redeliver.ts) with `more: true`.
    timeout: Duration.seconds(15),
    invocation: 'synchronous',
  },
  'list-endpoints': {
    description: "GET /luma/endpoints: the caller's endpoints and their state",
    tables: [{ table: 'endpoints', actions: ['dynamodb:Query'] }],
    memorySize: 256,
    timeout: Duration.seconds(timeoutSecondsFor(2)),
    invocation: 'synchronous',
  },
  'enable-endpoint': {
    description: "POST /luma/endpoints/{endpoint_id}/enable: re-enables one of the caller's endpoints",
    tables: [{ table: 'endpoints', actions: ['dynamodb:UpdateItem'] }],
    memorySize: 256,
    timeout: Duration.seconds(timeoutSecondsFor(1)),
    invocation: 'synchronous',
  },
  reconciler: {
    description: 'Polls the upstream for tasks open too long; fails tasks past their deadline',
    tables: [
      // The sparse open-task index only: never the table itself (no Query, no Scan).
      { table: 'tasks', actions: ['dynamodb:Query'], index: OPEN_TASKS_INDEX },
      { table: 'tasks', actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'] },
    ],
    memorySize: 256,
    timeout: Duration.seconds(60),
    // Run by an EventBridge schedule.
    invocation: 'asynchronous',
  },
  'task-changes': {
    description: 'The one reader of the task stream: each status change to its reactions (notifications: durable messages, a short first attempt; usage: open-task slots and counts per day)',
    // The union of its reactions' needs (functions/wiring.ts taskChangeReactions), each commented with its reaction.
    tables: [
      // Notifications: the client's webhook secret; the task itself comes in the stream record.
      { table: 'clients', actions: ['dynamodb:GetItem'] },
      // The endpoint of the hook URL (created the first time a task names it; marked failing or disabled).
      { table: 'endpoints', actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'] },
      // One conditional PutItem per status change; Query: an earlier message still pending?; UpdateItem: its first attempt's outcome.
      { table: 'messages', actions: ['dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'] },
      // One record per delivery attempt.
      { table: 'deliveries', actions: ['dynamodb:PutItem'] },
      // Notifications: a completed task's media may have been stored before its waiting notification was written.
      { table: 'tasks', actions: ['dynamodb:GetItem'] },
      // Assets: one conditional PutItem per completed task (its job); the asset worker's invocation is granted by the stack.
      { table: 'assetJobs', actions: ['dynamodb:PutItem'] },
      // Usage: per transition into or out of a final state, one transaction of the marker (PutItem), the client's
      // open-task count and the day's counts (UpdateItem).
      { table: 'usage', actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'] },
    ],
    memorySize: 256,
    // Writes, and first attempts bounded by notifyFirstAttemptTimeoutMs, in parallel.
    timeout: Duration.seconds(60),
    // Polled from the stream by an event source mapping (its failures go to the mapping's destination).
    invocation: 'synchronous',
  },
  'asset-worker': {
    description: "Copies completed tasks' media into the gateway's bucket (per task, and the copies due on its schedule)",
    tables: [
      // The sparse due-job index (the sweep), then the jobs themselves: claim, settle.
      { table: 'assetJobs', actions: ['dynamodb:Query'], index: DUE_ASSET_JOBS_INDEX },
      { table: 'assetJobs', actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'] },
      // The task's upstream links; its asset_state and asset_keys, once.
      { table: 'tasks', actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'] },
      // The release and first attempt of the task's waiting completed notification. The bucket's grants are the stack's.
      ...SENDER_TABLES,
    ],
    // Memory does not grow with a medium's size (streamed; one 8 MiB part at most per medium of unknown length);
    // more memory is more network and CPU share for the copies.
    writesAssets: true,
    memorySize: 512,
    // The longest a copy may take (a 2 GiB video at ~10 MB/s is ~3.5 min; retried later when cut short).
    timeout: Duration.minutes(15),
    // Invoked asynchronously (per task) and by an EventBridge schedule.
    invocation: 'asynchronous',
  },
  'delivery-worker': {
    description: 'Delivers the notification messages that are due: retries, deferred first attempts, redeliveries',
    tables: [
      // The sparse due-message index, then the messages themselves.
      { table: 'messages', actions: ['dynamodb:Query'], index: DUE_MESSAGES_INDEX },
      ...SENDER_TABLES,
    ],
    memorySize: 256,
    timeout: Duration.seconds(60),
    // Run by an EventBridge schedule.
    invocation: 'asynchronous',
  },
};

export function needsOf(functionName: string): FunctionNeeds {
  const needs = FUNCTION_NEEDS[functionName];
  if (!needs) {
    throw new Error(`functions/${functionName} has no entry in FUNCTION_NEEDS (lib/function-needs.ts): declare its permissions there`);
  }
  return needs;
}
