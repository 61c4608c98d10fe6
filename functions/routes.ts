/**
 * The public HTTP routes, written once. The CDK stack creates API Gateway
 * resources from this table, the local front dispatches with it, the
 * README's API section lists it (checked by a test), and the OpenAPI
 * document (functions/openapi.ts, `npm run openapi`) is generated from each
 * route's contract: a route, or a field of what it takes or answers, is one
 * edit here or in the schema the contract names.
 */
import * as z from 'zod/mini';
import { upstreamGenerationSchema } from './adapters/upstream/response';
import { generationRequestSchema, idempotencyKeySchema, taskIdPathSchema } from './domain/generation-request';
import { endpointIdPathSchema, recoverRequestSchema } from './domain/notification-requests';
import { batchRequestSchema, listQuerySchema, usageQuerySchema } from './domain/tenant-requests';
import {
  callbackOutcomeSchema,
  deliveryListSchema,
  endpointListSchema,
  endpointViewSchema,
  notificationViewSchema,
  recoverResultSchema,
  taskBatchSchema,
  taskPageSchema,
  taskViewSchema,
  usageViewSchema,
} from './domain/views';
import type { ErrorStatus } from './http/error-catalog';

export type RouteAuth = 'client' | 'none';

/**
 * What serves a route in AWS: the REST API (API Gateway, priced per request),
 * or its function's own Lambda Function URL (no price of its own: only the
 * invocation). The local front serves every route at the same path.
 */
export type RouteFront = 'rest-api' | 'function-url';

/**
 * What a route takes and answers, as the zod schemas the handlers use, for
 * the OpenAPI document. Bundles: the schemas below are built in
 * pure-annotated calls and only the document reads them, so a handler that
 * imports this module for MAX_BODY_BYTES drops them.
 */
export interface RouteContract {
  /** The path's {params}, one property each. */
  readonly pathParameters?: z.ZodMiniObject;
  /** The query string's parameters, one property each (values arrive as text). */
  readonly query?: z.ZodMiniObject;
  /** Optional request headers by name (Authorization is the security scheme, not listed). */
  readonly headers?: Readonly<Record<string, z.ZodMiniType>>;
  readonly body?: z.ZodMiniType;
  /** The success answer's `data`. */
  readonly data: z.ZodMiniType;
  /** When the route may also answer 202 with the same data: what that means. */
  readonly accepted?: string;
  /**
   * The error statuses the route's function answers (error-catalog.ts);
   * those API Gateway may answer on any route, and 401 on client routes,
   * are added by the document.
   */
  readonly errors: readonly ErrorStatus[];
}

export interface RouteDefinition {
  /** The Lambda serving the route: a folder under functions/. */
  readonly functionName: string;
  readonly method: 'GET' | 'POST';
  /** API Gateway resource path, with {param} placeholders. */
  readonly path: string;
  /** `client`: Bearer key checked by the authorizer; `none`: open (the handler checks its own token). */
  readonly auth: RouteAuth;
  /** Whether the route takes a JSON body (415 for any other content type). */
  readonly jsonBody: boolean;
  readonly summary: string;
  /** @default 'rest-api'. A `function-url` route must be open (`auth: 'none'`): a Function URL has no authorizer. */
  readonly front?: RouteFront;
  /** Required by the OpenAPI document (`npm run openapi` fails without it); test routes may leave it out. */
  readonly contract?: RouteContract;
}

/** The document describes the deployed API: hooks are https only (the local stack also allows http on loopback). */
const generationRequest = /* @__PURE__ */ generationRequestSchema({ allowLoopbackHttp: false });
const callbackBody = /* @__PURE__ */ upstreamGenerationSchema();
const idempotencyKey = { 'Idempotency-Key': idempotencyKeySchema };
const UNCONFIRMED =
  "The upstream's answer was lost (a timeout, a reset, a 5xx): the task is kept, submitting, and its outcome is being confirmed. " +
  'Follow it with getTask or your notify_hook; a retry with the same Idempotency-Key returns it without calling the upstream again.';
// Any string: a malformed token is answered as an unknown one (404), so the path takes it as it is.
const callbackTokenPathSchema = /* @__PURE__ */ (() =>
  z.strictObject({
    token: z.string().check(z.describe('The per-task token in the callback URL the gateway gave the upstream: the credential.')),
  }))();

/** The callback's method and path alone: its handler matches them without carrying the table's schemas. */
export const CALLBACK_ROUTE = { functionName: 'callback', method: 'POST', path: '/luma/callbacks/{token}' } as const;

export const routes: readonly RouteDefinition[] = [
  {
    functionName: 'extend',
    method: 'POST',
    path: '/luma/generations/{task_id}/extend',
    auth: 'client',
    jsonBody: true,
    summary: 'Extend a video: a task this gateway issued to you, or an upstream generation id',
    contract: {
      pathParameters: taskIdPathSchema,
      headers: idempotencyKey,
      body: generationRequest,
      data: taskViewSchema,
      accepted: UNCONFIRMED,
      errors: [400, 402, 404, 409, 413, 415, 422, 429, 502],
    },
  },
  {
    functionName: 'create',
    method: 'POST',
    path: '/luma/generations',
    auth: 'client',
    jsonBody: true,
    summary: 'Create a video from a prompt (and optional key frames)',
    contract: { headers: idempotencyKey, body: generationRequest, data: taskViewSchema, accepted: UNCONFIRMED, errors: [400, 402, 404, 409, 413, 415, 422, 429, 502] },
  },
  {
    functionName: 'get-task',
    method: 'GET',
    path: '/luma/generations/{task_id}',
    auth: 'client',
    jsonBody: false,
    summary: 'Read one of your tasks',
    contract: { pathParameters: taskIdPathSchema, data: taskViewSchema, errors: [400, 404] },
  },
  {
    functionName: 'list-tasks',
    method: 'GET',
    path: '/luma/generations',
    auth: 'client',
    jsonBody: false,
    summary: 'Your tasks, newest first, a page at a time (by status, created after a time)',
    contract: { query: listQuerySchema, data: taskPageSchema, errors: [400] },
  },
  {
    functionName: 'batch-get-tasks',
    method: 'POST',
    path: '/luma/tasks',
    auth: 'client',
    jsonBody: true,
    summary: 'Up to 100 of your tasks by id at once (ids that are no task of yours are listed as not_found)',
    contract: { body: batchRequestSchema, data: taskBatchSchema, errors: [400, 413, 415] },
  },
  {
    functionName: 'get-usage',
    method: 'GET',
    path: '/luma/usage',
    auth: 'client',
    jsonBody: false,
    summary: 'Your usage per UTC day (tasks submitted, completed, failed, refused; only completed tasks are billable) and your limits',
    contract: { query: usageQuerySchema, data: usageViewSchema, errors: [400] },
  },
  {
    functionName: 'list-deliveries',
    method: 'GET',
    path: '/luma/generations/{task_id}/deliveries',
    auth: 'client',
    jsonBody: false,
    summary: 'Every notification attempt to your notify_hook for one of your tasks, how it answered, and where each notification stands',
    contract: { pathParameters: taskIdPathSchema, data: deliveryListSchema, errors: [400, 404] },
  },
  {
    functionName: 'resend-notification',
    method: 'POST',
    path: '/luma/generations/{task_id}/notifications/resend',
    auth: 'client',
    jsonBody: false,
    summary: "Send one of your tasks' latest notification again, now (same webhook-id)",
    contract: { pathParameters: taskIdPathSchema, data: notificationViewSchema, errors: [400, 404, 409] },
  },
  {
    functionName: 'recover-notifications',
    method: 'POST',
    path: '/luma/notifications/recover',
    auth: 'client',
    jsonBody: true,
    summary: 'Send again every notification of yours that was exhausted or skipped since a time',
    contract: { body: recoverRequestSchema, data: recoverResultSchema, errors: [400, 413, 415] },
  },
  {
    functionName: 'list-endpoints',
    method: 'GET',
    path: '/luma/endpoints',
    auth: 'client',
    jsonBody: false,
    summary: 'Your endpoints (notify_hook URLs), enabled or disabled and why',
    contract: { data: endpointListSchema, errors: [] },
  },
  {
    functionName: 'enable-endpoint',
    method: 'POST',
    path: '/luma/endpoints/{endpoint_id}/enable',
    auth: 'client',
    jsonBody: false,
    summary: 'Enable one of your endpoints again (after a 410 or days of failures)',
    contract: { pathParameters: endpointIdPathSchema, data: endpointViewSchema, errors: [400, 404] },
  },
  {
    // CALLBACK_ROUTE's fields, written out: a spread would keep this whole table (and its schemas) in every bundle.
    functionName: 'callback',
    method: 'POST',
    path: '/luma/callbacks/{token}',
    auth: 'none',
    jsonBody: true,
    // The upstream's callbacks are most of a task's requests: off the per-request-priced REST API.
    front: 'function-url',
    summary: "The upstream's notification of a task change (the per-task token is the credential)",
    contract: { pathParameters: callbackTokenPathSchema, body: callbackBody, data: callbackOutcomeSchema, errors: [400, 404, 409, 413] },
  },
];

export const frontOf = (route: RouteDefinition): RouteFront => route.front ?? 'rest-api';

/** Largest request body accepted, in bytes (two base64 images and a prompt fit). */
export const MAX_BODY_BYTES = 6 * 1024 * 1024 - 64 * 1024;
