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
];

/** Largest request body accepted, in bytes (two base64 images and a prompt fit). */
export const MAX_BODY_BYTES = 6 * 1024 * 1024 - 64 * 1024;
