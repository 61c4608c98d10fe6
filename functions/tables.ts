/**
 * The DynamoDB tables, defined once, by role. The CDK stack (lib/tables.ts),
 * the local stack (lib/local/dynamodb-local.ts) and the tests all build their
 * tables from these definitions, so a key or index can never differ between
 * AWS and a developer's machine; the functions find each table's name in the
 * environment variable its definition names. A new table is one entry in
 * TABLES.
 */
export type AttributeType = 'S' | 'N';

export interface KeyAttribute {
  readonly name: string;
  readonly type: AttributeType;
}

export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** Attributes projected besides the keys (INCLUDE projection); none: a KEYS_ONLY index. */
  readonly nonKeyAttributes: readonly string[];
}

export interface TableDefinition {
  /** Logical id in the CDK stack and suffix of the local table name. */
  readonly id: string;
  /** The environment variable that carries the table's name to every function. */
  readonly env: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly timeToLiveAttribute?: string;
  readonly stream?: 'NEW_AND_OLD_IMAGES';
  readonly globalSecondaryIndexes: readonly IndexDefinition[];
}

/** The sparse index of open tasks the reconciler reads. */
export const OPEN_TASKS_INDEX = 'open-tasks';

/** Number of partitions of the sparse open-task index (avoids one hot key). */
export const OPEN_TASK_SHARDS = 4;

/** The partition of a sparse, sharded index an item with this (UUID) id falls in: its first 32 bits, modulo `shards`. */
export function shardOf(id: string, shards: number): string {
  return String(parseInt(id.slice(0, 8), 16) % shards);
}

/** The open-task index partition of a task (its open_shard). */
export function openShard(taskId: string): string {
  return shardOf(taskId, OPEN_TASK_SHARDS);
}

/**
 * Every task by its owner, newest first (GET /luma/generations). Keys only:
 * it is written once per task (at its creation; nothing a task's later
 * writes change is projected), and a page reads the tasks themselves.
 */
export const OWNER_TASKS_INDEX = 'owner-tasks';

/** The sparse index of notification messages due for an attempt, which the delivery worker reads. */
export const DUE_MESSAGES_INDEX = 'due-messages';

/** Partitions of the due-message index (as the open-task index: no hot key). */
export const DUE_MESSAGE_SHARDS = 4;

/** The sparse index of asset jobs due for an attempt (the asset worker's sweep reads it). */
export const DUE_ASSET_JOBS_INDEX = 'due-asset-jobs';

/** Partitions of the due asset-job index. */
export const DUE_ASSET_JOB_SHARDS = 4;

/** The sparse index of a client's messages whose delivery ended without success (exhausted, skipped), for recover. */
export const UNDELIVERED_MESSAGES_INDEX = 'undelivered-messages';

/**
 * One item per task. The stream of this table is a public contract: see
 * docs/stream-contract.md and functions/domain/task-record.ts.
 */
const tasks: TableDefinition = {
  id: 'Tasks',
  env: 'TASKS_TABLE',
  partitionKey: { name: 'task_id', type: 'S' },
  timeToLiveAttribute: 'expires_at',
  stream: 'NEW_AND_OLD_IMAGES',
  globalSecondaryIndexes: [
    {
      // Sparse: only open tasks carry open_shard, so the reconciler reads
      // exactly the tasks it may have to act on, never the whole table.
      indexName: OPEN_TASKS_INDEX,
      partitionKey: { name: 'open_shard', type: 'S' },
      sortKey: { name: 'check_after', type: 'N' },
      nonKeyAttributes: ['upstream_id', 'task_status', 'created_at', 'deadline_at', 'owner_id'],
    },
    {
      indexName: OWNER_TASKS_INDEX,
      partitionKey: { name: 'owner_id', type: 'S' },
      sortKey: { name: 'created_at', type: 'N' },
      nonKeyAttributes: [],
    },
  ],
};

/**
 * Clients (`client#<id>`) and their key hashes (`key#<sha256>`). A key
 * replaced by a rotation carries `expires_at` (TTL) once its overlap is over.
 */
const clients: TableDefinition = {
  id: 'Clients',
  env: 'CLIENTS_TABLE',
  partitionKey: { name: 'pk', type: 'S' },
  timeToLiveAttribute: 'expires_at',
  globalSecondaryIndexes: [],
};

/** Idempotency-Key records (`<client id>#<key>`), expired by TTL. */
const idempotency: TableDefinition = {
  id: 'Idempotency',
  env: 'IDEMPOTENCY_TABLE',
  partitionKey: { name: 'pk', type: 'S' },
  timeToLiveAttribute: 'expires_at',
  globalSecondaryIndexes: [],
};

/**
 * Every attempt to deliver a notification to a client's notify_hook, so the
 * client can see what was sent and how its hook answered. Expired by TTL.
 */
const deliveries: TableDefinition = {
  id: 'Deliveries',
  env: 'DELIVERIES_TABLE',
  partitionKey: { name: 'task_id', type: 'S' },
  sortKey: { name: 'attempt_id', type: 'S' },
  timeToLiveAttribute: 'expires_at',
  globalSecondaryIndexes: [],
};

/**
 * One durable message per notification (a task's status change for its
 * notify_hook), keyed by the task and the message's place in the task's
 * order (`message_seq`), holding the signed body, its state and its next
 * attempt. Kept for the retention period, whatever its outcome. Two sparse
 * indexes: messages due for an attempt (only pending ones carry due_shard),
 * and messages whose delivery ended without success (only those carry
 * undelivered_owner), so neither index is written for a message delivered
 * at once but on its way in and out of the due index.
 */
const messages: TableDefinition = {
  id: 'Messages',
  env: 'MESSAGES_TABLE',
  partitionKey: { name: 'task_id', type: 'S' },
  sortKey: { name: 'message_seq', type: 'S' },
  timeToLiveAttribute: 'expires_at',
  globalSecondaryIndexes: [
    {
      indexName: DUE_MESSAGES_INDEX,
      partitionKey: { name: 'due_shard', type: 'S' },
      sortKey: { name: 'due_at_ms', type: 'N' },
      nonKeyAttributes: ['owner_id', 'endpoint_id'],
    },
    {
      indexName: UNDELIVERED_MESSAGES_INDEX,
      partitionKey: { name: 'undelivered_owner', type: 'S' },
      sortKey: { name: 'created_at', type: 'N' },
      nonKeyAttributes: ['message_state'],
    },
  ],
};

/**
 * A client's endpoints: each hook URL its tasks name, with its state
 * (enabled, or disabled and why) and since when it has been failing.
 */
const endpoints: TableDefinition = {
  id: 'Endpoints',
  env: 'ENDPOINTS_TABLE',
  partitionKey: { name: 'client_id', type: 'S' },
  sortKey: { name: 'endpoint_id', type: 'S' },
  globalSecondaryIndexes: [],
};

/**
 * One durable job per completed task: the copy of its media into the
 * gateway's bucket (functions/domain/asset-job.ts), with what is stored so
 * far, its state, its claims and its next attempt; in the sparse due index
 * only while pending. Expired by TTL with the task.
 */
const assetJobs: TableDefinition = {
  id: 'AssetJobs',
  env: 'ASSET_JOBS_TABLE',
  partitionKey: { name: 'task_id', type: 'S' },
  timeToLiveAttribute: 'expires_at',
  globalSecondaryIndexes: [
    {
      indexName: DUE_ASSET_JOBS_INDEX,
      partitionKey: { name: 'due_shard', type: 'S' },
      sortKey: { name: 'due_at_ms', type: 'N' },
      nonKeyAttributes: ['owner_id'],
    },
  ],
};

/**
 * Each client's limits and usage (functions/domain/usage.ts), keyed by the
 * client and an item name: `limits` (the limits and the counters they are
 * held to: open tasks, today's submissions), `day#<YYYY-MM-DD>` (the usage of
 * one UTC day), and `mark#<task>#<transition>` (a task transition already
 * counted, so a replayed stream record counts nothing twice; expired by TTL).
 */
const usage: TableDefinition = {
  id: 'Usage',
  env: 'USAGE_TABLE',
  partitionKey: { name: 'client_id', type: 'S' },
  sortKey: { name: 'usage_key', type: 'S' },
  timeToLiveAttribute: 'expires_at',
  globalSecondaryIndexes: [],
};

/** Every table, by its role. */
export const TABLES = { tasks, clients, idempotency, deliveries, messages, endpoints, assetJobs, usage } as const satisfies Record<string, TableDefinition>;

export type TableRole = keyof typeof TABLES;
export const tableRoles = Object.keys(TABLES) as TableRole[];

/** One name per table role: a stack's (or a test's) set of tables. */
export type TableNames = Readonly<Record<TableRole, string>>;

/** A table's name, from the environment variable its definition names. */
export function tableNameFrom(env: NodeJS.ProcessEnv, role: TableRole): string {
  const name = env[TABLES[role].env];
  if (name === undefined || name === '') throw new Error(`environment variable ${TABLES[role].env} is required (the ${role} table's name)`);
  return name;
}

/** The stack output that names a table (`ClientsTableName`): how tools outside the stack find it (the client CLI). */
export function tableOutputName(role: TableRole): string {
  return `${TABLES[role].id}TableName`;
}
