import { Duration } from 'aws-cdk-lib';
import type { ENV } from '../functions/domain/config';
import { OPEN_TASKS_INDEX } from '../functions/domain/tables';
import type { TableRole } from './tables';

export type { TableRole } from './tables';

/**
 * Settings a function reads from its environment besides table names and
 * upstream settings, by their key in ENV (functions/domain/config.ts). The
 * stack sets the values from its configuration (lib/config.ts).
 */
export type FunctionSetting = Extract<
  keyof typeof ENV,
  'callbackBaseUrl' | 'reconcileAfterSeconds' | 'taskDeadlineSeconds' | 'taskRetentionDays' | 'reconcileMaxTasks'
>;

export interface TableAccess {
  readonly table: TableRole;
  /** Item-level DynamoDB actions, never a wildcard. */
  readonly actions: readonly string[];
  /** Grant on this index (for Query) instead of the table. */
  readonly index?: string;
}

/** What one function may do, and how big it is. One entry per folder under functions/. */
export interface FunctionNeeds {
  readonly description: string;
  readonly tables: readonly TableAccess[];
  /** Calls the upstream: reads the key secret and gets the upstream settings in its environment. */
  readonly upstream: boolean;
  /** Further settings it reads from its environment. @default none */
  readonly settings?: readonly FunctionSetting[];
  readonly memorySize: number;
  readonly timeout: Duration;
  /** Synchronous: API Gateway, authorizer, stream polling. Asynchronous: schedules and events (gets a DLQ). */
  readonly invocation: 'synchronous' | 'asynchronous';
}

// Conditional writes need no extra action; TransactWriteItems is authorised
// per item with the same Put/Update/Delete actions (add dynamodb:ConditionCheckItem
// only if a transaction gains a ConditionCheck).
const TASK_WRITER = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];
const IDEMPOTENCY = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'];

/** The submit functions wait for the upstream (10 s budget) and DynamoDB, well inside API Gateway's 29 s. */
const submitter = (description: string): FunctionNeeds => ({
  description,
  tables: [
    { table: 'tasks', actions: TASK_WRITER },
    { table: 'idempotency', actions: IDEMPOTENCY },
  ],
  upstream: true,
  // The callback URL handed to the upstream; each task's reconcile time, deadline and expiry.
  settings: ['callbackBaseUrl', 'reconcileAfterSeconds', 'taskDeadlineSeconds', 'taskRetentionDays'],
  memorySize: 512,
  timeout: Duration.seconds(20),
  invocation: 'synchronous',
});

/**
 * Least-privilege needs of every function, by functions/<name>. The stack
 * creates the functions routes.ts lists, the authorizer, the reconciler and
 * the notifier; a function serving a route must have its entry here before
 * routes.ts lists it, or the synth fails (needsOf).
 */
export const FUNCTION_NEEDS: Readonly<Record<string, FunctionNeeds>> = {
  authorizer: {
    description: 'Checks Authorization: Bearer <key> against the clients table',
    tables: [{ table: 'clients', actions: ['dynamodb:GetItem'] }],
    upstream: false,
    memorySize: 256,
    timeout: Duration.seconds(5),
    invocation: 'synchronous',
  },
  extend: submitter('POST /luma/generations/{task_id}/extend: records a task and submits it upstream'),
  create: submitter('POST /luma/generations: records a task and submits it upstream'),
  'get-task': {
    description: "GET /luma/generations/{task_id}: the caller's own task",
    tables: [{ table: 'tasks', actions: ['dynamodb:GetItem'] }],
    upstream: false,
    memorySize: 256,
    timeout: Duration.seconds(5),
    invocation: 'synchronous',
  },
  callback: {
    description: "POST /luma/callbacks/{token}: the upstream's notification of a task change",
    tables: [{ table: 'tasks', actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'] }],
    upstream: false,
    memorySize: 256,
    timeout: Duration.seconds(4),
    invocation: 'synchronous',
  },
  'list-deliveries': {
    description: "GET /luma/generations/{task_id}/deliveries: notification attempts for one of the caller's tasks",
    tables: [
      { table: 'tasks', actions: ['dynamodb:GetItem'] },
      { table: 'deliveries', actions: ['dynamodb:Query'] },
    ],
    upstream: false,
    memorySize: 256,
    timeout: Duration.seconds(5),
    invocation: 'synchronous',
  },
  reconciler: {
    description: 'Polls the upstream for tasks open too long; fails tasks past their deadline',
    tables: [
      // The sparse open-task index only: never the table itself (no Query, no Scan).
      { table: 'tasks', actions: ['dynamodb:Query'], index: OPEN_TASKS_INDEX },
      { table: 'tasks', actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'] },
    ],
    upstream: true,
    settings: ['reconcileAfterSeconds', 'taskDeadlineSeconds', 'taskRetentionDays', 'reconcileMaxTasks'],
    memorySize: 256,
    timeout: Duration.seconds(60),
    // Run by an EventBridge schedule.
    invocation: 'asynchronous',
  },
  notifier: {
    description: "Tells clients' notify_hook of task status changes (task table stream)",
    tables: [
      // The client's webhook secret; the task itself comes in the stream record.
      { table: 'clients', actions: ['dynamodb:GetItem'] },
      // One record per delivery attempt.
      { table: 'deliveries', actions: ['dynamodb:PutItem'] },
    ],
    upstream: false,
    // Delivery records expire with the tasks.
    settings: ['taskRetentionDays'],
    memorySize: 256,
    // Outbound calls with short timeouts and in-invocation retries.
    timeout: Duration.seconds(60),
    // Polled from the stream by an event source mapping (its failures go to the mapping's destination).
    invocation: 'synchronous',
  },
};

export function needsOf(functionName: string): FunctionNeeds {
  const needs = FUNCTION_NEEDS[functionName];
  if (!needs) {
    throw new Error(`functions/${functionName} has no entry in FUNCTION_NEEDS (lib/function-needs.ts): declare its permissions there`);
  }
  return needs;
}
