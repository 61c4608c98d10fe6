/**
 * The public HTTP routes, written once. The CDK stack creates API Gateway
 * resources from this table, the local front dispatches with it, and the
 * README's API section lists it (checked by a test).
 */
export type RouteAuth = 'client' | 'none';

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
}

export const routes: readonly RouteDefinition[] = [
  {
    functionName: 'extend',
    method: 'POST',
    path: '/luma/generations/{task_id}/extend',
    auth: 'client',
    jsonBody: true,
    summary: 'Extend a video: a task this gateway issued to you, or an upstream generation id',
  },
  {
    functionName: 'create',
    method: 'POST',
    path: '/luma/generations',
    auth: 'client',
    jsonBody: true,
    summary: 'Create a video from a prompt (and optional key frames)',
  },
  {
    functionName: 'get-task',
    method: 'GET',
    path: '/luma/generations/{task_id}',
    auth: 'client',
    jsonBody: false,
    summary: 'Read one of your tasks',
  },
  {
    functionName: 'list-deliveries',
    method: 'GET',
    path: '/luma/generations/{task_id}/deliveries',
    auth: 'client',
    jsonBody: false,
    summary: 'Every notification attempt to your notify_hook for one of your tasks, and how it answered',
  },
  {
    functionName: 'callback',
    method: 'POST',
    path: '/luma/callbacks/{token}',
    auth: 'none',
    jsonBody: true,
    summary: "The upstream's notification of a task change (the per-task token is the credential)",
  },
];

/** Largest request body accepted, in bytes (two base64 images and a prompt fit). */
export const MAX_BODY_BYTES = 6 * 1024 * 1024 - 64 * 1024;
