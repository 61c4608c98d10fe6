/**
 * What the listing, batch read and usage routes take: query parameters and
 * the batch body, as zod/mini schemas (built in pure-annotated calls, so a
 * bundle that does not parse them drops them). Query values arrive as text:
 * each is checked by its pattern here and read as a number by the handler.
 */
import * as z from 'zod/mini';
import { MAX_BATCH_IDS, MAX_LIST_LIMIT, DEFAULT_LIST_LIMIT } from './task-listing';
import { TASK_STATUSES } from './task-status';
import { DEFAULT_USAGE_DAYS } from './usage-report';
import { MAX_USAGE_DAYS } from './usage';

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const UTC_DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The query of GET /luma/generations. */
export const listQuerySchema = /* @__PURE__ */ (() =>
  z.strictObject({
    status: z.optional(
      z.enum(TASK_STATUSES).check(z.describe('Only tasks in this status. A page then holds the matches among the next 500 of your tasks: it may hold fewer than limit, even none, with a next_cursor to go on.')),
    ),
    created_after: z.optional(z.string().check(z.regex(/^\d{1,12}$/, 'must be unix seconds'), z.describe('Only tasks created after this time (unix seconds).'))),
    limit: z.optional(
      z
        .string()
        .check(
          z.regex(/^(?:100|[1-9]\d?)$/, `must be a whole number from 1 to ${MAX_LIST_LIMIT}`),
          z.describe(`Most tasks in the page: 1 to ${MAX_LIST_LIMIT} (default ${DEFAULT_LIST_LIMIT}).`),
        ),
    ),
    cursor: z.optional(
      z
        .string()
        .check(
          z.maxLength(1024, 'must be at most 1024 characters'),
          z.regex(/^[A-Za-z0-9_-]+$/, 'must be a next_cursor as a page gave it'),
          z.describe('The next_cursor of the page before, as it was, with the same status and created_after.'),
        ),
    ),
  }))();

export type ListQueryParameters = z.infer<typeof listQuerySchema>;

/** The body of POST /luma/tasks. */
export const batchRequestSchema = /* @__PURE__ */ (() =>
  z
    .strictObject({
      ids: z
        .array(z.string().check(z.regex(UUID, 'must be a task id (a UUID)')))
        .check(
          z.minLength(1, 'must hold at least one task id'),
          z.maxLength(MAX_BATCH_IDS, `must hold at most ${MAX_BATCH_IDS} task ids`),
          z.describe(`1 to ${MAX_BATCH_IDS} task ids (repeated ones are answered once).`),
        ),
    })
    .check(z.meta({ id: 'TaskBatchRequest', description: 'Unknown fields are refused.' })))();

/** The query of GET /luma/usage. */
export const usageQuerySchema = /* @__PURE__ */ (() =>
  z.strictObject({
    from: z.optional(
      z.string().check(z.regex(UTC_DAY, 'must be a UTC day as YYYY-MM-DD'), z.describe(`The first UTC day (YYYY-MM-DD; default: ${DEFAULT_USAGE_DAYS - 1} days before to).`)),
    ),
    to: z.optional(
      z.string().check(z.regex(UTC_DAY, 'must be a UTC day as YYYY-MM-DD'), z.describe(`The last UTC day, included (YYYY-MM-DD; default: today). At most ${MAX_USAGE_DAYS} days from from.`)),
    ),
  }))();
