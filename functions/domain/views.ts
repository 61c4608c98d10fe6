/**
 * What the API shows its callers: the `data` of each success answer (and
 * the body of a client notification), as zod/mini schemas, with their
 * TypeScript types inferred from them. Handlers return these types; the
 * OpenAPI document (functions/openapi.ts) is generated from these schemas;
 * the e2e tests check every answer against that document. A field added
 * here is typed, documented and checked with this one edit.
 *
 * Bundles: every schema is built in a pure-annotated call, and the modules
 * that need only the types (task.ts, ports.ts, apply-callback.ts) import
 * them with `import type`, so the task-changes consumer and the authorizer carry no zod
 * for them (test/budgets).
 */
import * as z from 'zod/mini';
import { ASSET_STATES, ENDPOINT_DISABLED_REASONS, ENDPOINT_STATES, FAILURE_CODES, MESSAGE_STATES, TASK_STATUSES } from './task-status';

/** Ids the gateway issues or echoes (tasks, parents): lower-case UUIDs. */
const GATEWAY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const gatewayId = (description: string) => z.string().check(z.regex(GATEWAY_ID), z.describe(description));
const unixSeconds = (description: string) => z.int().check(z.nonnegative(), z.describe(description));
const taskStatus = (description: string) => z.enum(TASK_STATUSES).check(z.describe(description));
const nullableString = (description: string) => z.nullable(z.string()).check(z.describe(description));

/** What GET returns, what extend and create return, and what a client's notify_hook receives. */
export const taskViewSchema = /* @__PURE__ */ (() =>
  z
    .strictObject({
      task_id: gatewayId("The task's id, issued by the gateway."),
      task_status: taskStatus(
        'submitting → pending → processing → completed | failed; a status never goes back, but for a task failed as unconfirmed that the upstream reports after all.',
      ),
      parent_task_id: z
        .nullable(z.string().check(z.regex(GATEWAY_ID)))
        .check(z.describe('The video this task extends: a task id of this gateway or an upstream generation id; null for a created video.')),
      prompt: z.string().check(z.describe('The user_prompt, trimmed.')),
      video_url: nullableString(
        "The video, once completed: a presigned URL of the gateway's stored copy once asset_state is stored (valid until urls_expire_at; " +
          "GET again for a fresh one), the upstream's own (short-lived) link before, or when its copy failed.",
      ),
      video_raw_url: nullableString('The video without watermark, when the upstream offers one: a link as video_url is.'),
      thumbnail_url: nullableString("The video's thumbnail, once completed (when the upstream gives one): a link as video_url is."),
      last_frame_url: nullableString("The video's last frame, once completed (when the upstream gives one): a link as video_url is."),
      asset_state: z
        .nullable(z.enum(ASSET_STATES))
        .check(
          z.describe(
            "Where the completed video's media stand in the gateway's storage: pending (being copied; the links are the upstream's), " +
              'stored (the links are the stored copies, for the task\'s whole retention), failed (at least one medium could not be copied: ' +
              'asset_failure_reason says which; the others are served from storage). Null before completed.',
          ),
        ),
      asset_failure_reason: nullableString('Which media could not be stored, and why, when asset_state is failed.'),
      urls_expire_at: z
        .nullable(z.int().check(z.nonnegative()))
        .check(z.describe('When the presigned URLs of this answer stop working (unix seconds); null when no link is of the stored copies.')),
      failure_reason: nullableString('Why the task failed, once failed.'),
      failure_code: z
        .nullable(z.enum(FAILURE_CODES))
        .check(
          z.describe(
            'Why it failed: refused (by the upstream), upstream_failed, unconfirmed (the upstream never confirmed the submission; the only failure that may still move on), deadline, unknown_to_upstream.',
          ),
        ),
      created_at: unixSeconds('Unix seconds.'),
      updated_at: unixSeconds('Unix seconds.'),
    })
    .check(z.meta({ id: 'Task', description: 'A task: one video being made, followed to its final state.' })))();

export type TaskView = z.infer<typeof taskViewSchema>;

/** One notification attempt to a client's notify_hook. */
export const deliveryViewSchema = /* @__PURE__ */ (() =>
  z
    .strictObject({
      task_id: gatewayId('The task whose change was notified.'),
      webhook_id: z.string().check(z.describe('The webhook-id header sent: the same for every attempt of one status change.')),
      task_status: taskStatus('The status change that was notified.'),
      attempt: z.int().check(z.gte(1), z.describe('1 for the first attempt of a change, then 2, 3...')),
      attempted_at: unixSeconds('Unix seconds.'),
      outcome: z
        .enum(['delivered', 'failed', 'refused'])
        .check(z.describe('delivered: the hook answered 2xx; failed: it did not (retried); refused: the hook points where the gateway must not go (never retried).')),
      http_status: z.optional(z.int().check(z.gte(100), z.lte(599), z.describe("The hook's HTTP status, when it answered."))),
      error: z.optional(z.string().check(z.describe('What went wrong, when the attempt was not delivered.'))),
      duration_ms: z.int().check(z.nonnegative(), z.describe('How long the attempt took, in milliseconds.')),
    })
    .check(z.meta({ id: 'Delivery', description: "One notification attempt to the task's notify_hook, and how the hook answered." })))();

export type DeliveryView = z.infer<typeof deliveryViewSchema>;

const nullableSeconds = (description: string) => z.nullable(z.int().check(z.nonnegative())).check(z.describe(description));

/** One notification: a status change of a task, for its notify_hook, and where its delivery stands. */
export const notificationViewSchema = /* @__PURE__ */ (() =>
  z
    .strictObject({
      webhook_id: z.string().check(z.describe('The webhook-id header: the same on every attempt and every redelivery of this notification.')),
      task_id: gatewayId('The task whose change this notifies.'),
      task_status: taskStatus('The status the task reached.'),
      endpoint_id: z.string().check(z.describe('The endpoint (your notify_hook URL) it goes to; see listEndpoints.')),
      state: z
        .enum(MESSAGE_STATES)
        .check(
          z.describe(
            'waiting: a completed notification held until the task\'s media are stored (or their copy failed for good); ' +
              'pending: waiting for an attempt (or behind an earlier notification of the task); delivered: your hook answered 2xx; ' +
              'exhausted: every planned attempt failed; skipped: the endpoint is disabled; refused: the hook points where the gateway must not go. ' +
              'resendNotification and recoverNotifications make it pending again.',
          ),
        ),
      attempts: z.int().check(z.nonnegative(), z.describe('Attempts made so far (each is listed in deliveries).')),
      created_at: unixSeconds('When the status change happened (unix seconds).'),
      next_attempt_at: nullableSeconds('When it is next attempted, while pending (unix seconds); null otherwise.'),
      delivered_at: nullableSeconds('When your hook last accepted it (unix seconds).'),
      last_error: nullableString('What went wrong with the last attempt, if it failed.'),
    })
    .check(z.meta({ id: 'Notification' })))();

export type NotificationView = z.infer<typeof notificationViewSchema>;

/** GET /luma/generations/{task_id}/deliveries. */
export const deliveryListSchema = /* @__PURE__ */ (() =>
  z
    .strictObject({
      task_id: gatewayId('The task.'),
      deliveries: z.array(deliveryViewSchema).check(z.describe('The latest attempts (up to 100), oldest first.')),
      notifications: z.array(notificationViewSchema).check(z.describe("The task's notifications, in the order they are delivered (oldest status first).")),
    })
    .check(z.meta({ id: 'DeliveryList' })))();

export type DeliveryList = z.infer<typeof deliveryListSchema>;

/** What the callback route answers the upstream. */
export const callbackOutcomeSchema = /* @__PURE__ */ (() =>
  z
    .strictObject({
      task_id: gatewayId('The task the callback was for.'),
      task_status: taskStatus("The task's status after this callback."),
      applied: z.boolean().check(z.describe('False for a duplicate, late or out-of-order callback: nothing changed.')),
    })
    .check(z.meta({ id: 'CallbackOutcome' })))();

export type CallbackOutcome = z.infer<typeof callbackOutcomeSchema>;

/** One of the caller's endpoints: a notify_hook URL its tasks name, and whether the gateway still sends to it. */
export const endpointViewSchema = /* @__PURE__ */ (() =>
  z
    .strictObject({
      endpoint_id: z.string().check(z.describe('The endpoint, as enableEndpoint takes it.')),
      url: z.string().check(z.describe('The notify_hook URL.')),
      state: z.enum(ENDPOINT_STATES).check(z.describe('enabled: notifications are sent; disabled: they are skipped (kept: recoverNotifications sends them once enabled).')),
      disabled_reason: z
        .nullable(z.enum(ENDPOINT_DISABLED_REASONS))
        .check(z.describe('gone: your hook answered 410; failing: every attempt failed for webhookDisableAfterSeconds (5 days by default). Null when enabled.')),
      disabled_detail: nullableString('Why, in words, when disabled.'),
      disabled_at: nullableSeconds('When it was disabled (unix seconds).'),
      failing_since: nullableSeconds('Since when every attempt has failed (unix seconds); null once one succeeds.'),
      created_at: unixSeconds('When a task first named it (unix seconds).'),
    })
    .check(z.meta({ id: 'Endpoint' })))();

export type EndpointView = z.infer<typeof endpointViewSchema>;

/** GET /luma/endpoints. */
export const endpointListSchema = /* @__PURE__ */ (() =>
  z.strictObject({ endpoints: z.array(endpointViewSchema).check(z.describe('Every endpoint of yours.')) }).check(z.meta({ id: 'EndpointList' })))();

export type EndpointList = z.infer<typeof endpointListSchema>;

/** POST /luma/notifications/recover. */
export const recoverResultSchema = /* @__PURE__ */ (() =>
  z
    .strictObject({
      since: unixSeconds('The time asked for.'),
      recovered: z.int().check(z.nonnegative(), z.describe('Notifications made pending again (exhausted or skipped ones created since then).')),
      more: z.boolean().check(z.describe('True when more remain: call again with the same since.')),
    })
    .check(z.meta({ id: 'RecoverResult' })))();

export type RecoverResult = z.infer<typeof recoverResultSchema>;

/** GET /luma/generations: one page of the caller's tasks. */
export const taskPageSchema = /* @__PURE__ */ (() =>
  z
    .strictObject({
      tasks: z.array(taskViewSchema).check(z.describe('Your tasks, newest first (by created_at).')),
      next_cursor: z
        .nullable(z.string())
        .check(z.describe('Pass it as cursor (with the same status and created_after) for the next page; null when there is none.')),
    })
    .check(z.meta({ id: 'TaskPage' })))();

export type TaskPageView = z.infer<typeof taskPageSchema>;

/** POST /luma/tasks: the caller's tasks among the ids asked for. */
export const taskBatchSchema = /* @__PURE__ */ (() =>
  z
    .strictObject({
      tasks: z.array(taskViewSchema).check(z.describe('Your tasks among the ids, in the order asked (each once).')),
      not_found: z
        .array(z.string().check(z.regex(GATEWAY_ID)))
        .check(z.describe("The ids that are no task of yours: unknown, or another client's (the two are not told apart), in the order asked.")),
    })
    .check(z.meta({ id: 'TaskBatch' })))();

export type TaskBatchView = z.infer<typeof taskBatchSchema>;

const count = (description: string) => z.int().check(z.nonnegative(), z.describe(description));
const usageCountsShape = () => ({
  submitted: count('Tasks submitted (accepted by the gateway; refusals of your limits, 429, are not tasks).'),
  completed: count('Tasks that completed.'),
  failed_upstream: count('Tasks the upstream failed (upstream_failed, unknown_to_upstream).'),
  failed_deadline: count('Tasks the gateway failed at a deadline (deadline, unconfirmed); a task failed as unconfirmed and revived later leaves this count.'),
  refused: count('Tasks the upstream refused at submission (failure_code refused).'),
  billable: count('Billable tasks: the completed ones, and only those.'),
});

/** GET /luma/usage: the caller's usage per UTC day and its limits. */
export const usageViewSchema = /* @__PURE__ */ (() =>
  z
    .strictObject({
      from: z.string().check(z.describe('The first UTC day (YYYY-MM-DD).')),
      to: z.string().check(z.describe('The last UTC day, included.')),
      billing: z.string().check(z.describe('The billing rule.')),
      days: z
        .array(z.strictObject({ day: z.string().check(z.describe('A UTC day (YYYY-MM-DD).')), ...usageCountsShape() }))
        .check(
          z.describe(
            'The days with any count, oldest first. A task counts as submitted on the day it was submitted, and by its final state on the day it reached it; ' +
              'a task failed as unconfirmed that the upstream reports after all is taken out of that day\'s failed_deadline and counts again by its new final state.',
          ),
        ),
      totals: z.strictObject(usageCountsShape()).check(z.describe('The sums over the days.')),
      limits: z
        .strictObject({
          max_open_tasks: z.nullable(z.int().check(z.nonnegative())).check(z.describe('Your tasks open at once, at most (null: no limit).')),
          max_tasks_per_day: z.nullable(z.int().check(z.nonnegative())).check(z.describe('Your submissions per UTC day, at most (null: no limit).')),
          open_tasks: count('Your tasks open now (submitting, pending or processing).'),
          submitted_today: count('Your submissions today (UTC).'),
        })
        .check(z.describe('Your limits now; a submission beyond one is refused with 429 (42902, 42903) and Retry-After.')),
    })
    .check(z.meta({ id: 'Usage' })))();

export type UsageView = z.infer<typeof usageViewSchema>;
