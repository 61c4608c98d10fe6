/**
 * A client's own tasks, many at once: the listing (GET /luma/generations:
 * newest first, a page at a time, optionally by status and creation time)
 * and the batch read by ids (POST /luma/tasks). Neither ever shows another
 * client's task, nor whether one exists: a listing reads only the caller's
 * partition of the owner index, and a batch read answers an id that is
 * unknown and one that is another client's alike (`not_found`).
 *
 * The listing's cursor is opaque to the client: the position after the
 * last task a page looked at, with the owner and the filters it was made
 * for. One made for another client or other filters, or tampered with, is
 * refused (400): it could only ever position a read inside the caller's own
 * partition, but a refusal says what went wrong instead of listing
 * something unexpected.
 */
import { withStoredLinks } from './assets';
import { invalid } from './errors';
import type { AssetLinks, OwnerTaskKey, TaskStore } from './ports';
import { TASK_STATUSES, toTaskView, type TaskItem, type TaskStatus, type TaskView } from './task';

export const DEFAULT_LIST_LIMIT = 20;
export const MAX_LIST_LIMIT = 100;
/** With a status filter, the most tasks one page looks at to find its matches (a page may hold fewer than its limit). */
export const MAX_EXAMINED_PER_PAGE = 500;
/** Most ids one batch read takes (BatchGetItem's own bound). */
export const MAX_BATCH_IDS = 100;

export interface ListQuery {
  readonly status?: TaskStatus;
  /** Only tasks created after this (unix seconds). */
  readonly createdAfter?: number;
  readonly limit: number;
  readonly cursor?: string;
}

export interface TaskPage {
  readonly tasks: TaskView[];
  /** Where the next page starts; null when the listing is over. */
  readonly next_cursor: string | null;
}

export interface ListingDeps {
  readonly tasks: Pick<TaskStore, 'ofOwner' | 'getMany'>;
  /** Presigns the links of a task's stored media (as GET does): a listed task's links work too. */
  readonly links?: AssetLinks;
  /** Milliseconds left in this invocation: a page stops looking (and returns what it has, with a cursor) before it runs out. */
  readonly remainingMs?: () => number;
}

const CURSOR_VERSION = 1;
/** What a page keeps in reserve for the last batch read and the answer. */
const PAGE_RESERVE_MS = 2000;

type CursorFields = [version: number, owner: string, createdAt: number, taskId: string, status: string | null, createdAfter: number | null];

function encodeCursor(ownerId: string, key: OwnerTaskKey, query: ListQuery): string {
  const fields: CursorFields = [CURSOR_VERSION, ownerId, key.created_at, key.task_id, query.status ?? null, query.createdAfter ?? null];
  return Buffer.from(JSON.stringify(fields), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string, ownerId: string, query: ListQuery): OwnerTaskKey {
  let fields: unknown;
  try {
    fields = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid('cursor is not a cursor this API gave: pass next_cursor from a page as it is');
  }
  const valid =
    Array.isArray(fields) &&
    fields.length === 6 &&
    fields[0] === CURSOR_VERSION &&
    typeof fields[1] === 'string' &&
    Number.isInteger(fields[2]) &&
    fields[2] >= 0 &&
    typeof fields[3] === 'string' &&
    /^[0-9a-f-]{36}$/.test(fields[3]) &&
    (fields[4] === null || (TASK_STATUSES as readonly unknown[]).includes(fields[4])) &&
    (fields[5] === null || (Number.isInteger(fields[5]) && fields[5] >= 0));
  if (!valid) throw invalid('cursor is not a cursor this API gave: pass next_cursor from a page as it is');
  const [, owner, createdAt, taskId, status, createdAfter] = fields as CursorFields;
  if (owner !== ownerId) throw invalid('cursor belongs to another client\'s listing');
  if (status !== (query.status ?? null) || createdAfter !== (query.createdAfter ?? null)) {
    throw invalid('cursor belongs to a listing with other filters: pass the same status and created_after as the page it came from');
  }
  return { task_id: taskId, created_at: createdAt };
}

/** One page of the caller's tasks, newest first. */
export async function listTasks(deps: ListingDeps, ownerId: string, query: ListQuery): Promise<TaskPage> {
  const remaining = deps.remainingMs ?? (() => Infinity);
  let start = query.cursor === undefined ? undefined : decodeCursor(query.cursor, ownerId, query);
  const tasks: TaskItem[] = [];
  const page = async (next_cursor: string | null): Promise<TaskPage> => ({ tasks: await viewsOf(deps, tasks), next_cursor });
  let examined = 0;
  for (;;) {
    // Without a filter a page reads exactly its limit; with one, batches of the most one batch read takes.
    const want = query.status === undefined ? query.limit - tasks.length : Math.min(MAX_BATCH_IDS, MAX_EXAMINED_PER_PAGE - examined);
    const { keys, next } = await deps.tasks.ofOwner(ownerId, { createdAfter: query.createdAfter, limit: want, startKey: start });
    const left = remaining();
    const found = await deps.tasks.getMany(
      keys.map((key) => key.task_id),
      { deadlineAt: Number.isFinite(left) ? Date.now() + left : undefined },
    );
    for (const [i, key] of keys.entries()) {
      examined += 1;
      const task = found.get(key.task_id);
      // Expired (TTL) between the index and the read, or not the caller's (never: the index is by owner), or filtered out.
      if (task !== undefined && task.owner_id === ownerId && (query.status === undefined || task.task_status === query.status)) tasks.push(task);
      if (tasks.length === query.limit) {
        const more = i < keys.length - 1 || next !== undefined;
        return page(more ? encodeCursor(ownerId, key, query) : null);
      }
    }
    const last = keys.at(-1);
    if (next === undefined || last === undefined) return page(null);
    // Looked at as many as a page may, or out of time: what was found, and where to go on.
    if (examined >= MAX_EXAMINED_PER_PAGE || remaining() < PAGE_RESERVE_MS) return page(encodeCursor(ownerId, last, query));
    start = last;
  }
}

export interface BatchResult {
  /** The caller's tasks among the ids, in the order asked (each once). */
  readonly tasks: TaskView[];
  /** The ids that are unknown or not the caller's (the two are never told apart), in the order asked. */
  readonly not_found: string[];
}

/** Up to MAX_BATCH_IDS of the caller's tasks by id. */
export async function batchGetTasks(deps: Pick<ListingDeps, 'tasks' | 'remainingMs' | 'links'>, ownerId: string, ids: readonly string[]): Promise<BatchResult> {
  const unique = [...new Set(ids.map((id) => id.toLowerCase()))];
  const left = deps.remainingMs?.();
  const found = await deps.tasks.getMany(unique, { deadlineAt: left === undefined ? undefined : Date.now() + left });
  const tasks: TaskItem[] = [];
  const notFound: string[] = [];
  for (const id of unique) {
    const task = found.get(id);
    if (task !== undefined && task.owner_id === ownerId) tasks.push(task);
    else notFound.push(id);
  }
  return { tasks: await viewsOf(deps, tasks), not_found: notFound };
}

/** What the client is shown of each task: its view, the stored media linked afresh (signing is local: no request per link). */
function viewsOf(deps: Pick<ListingDeps, 'links'>, tasks: readonly TaskItem[]): Promise<TaskView[]> {
  const nowMs = Date.now();
  return Promise.all(tasks.map((task) => withStoredLinks(toTaskView(task), task.asset_keys, deps.links, nowMs)));
}
