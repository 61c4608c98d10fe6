/**
 * A generation request (extend and create): its schema, written once, and
 * what the gateway derives from the parsed request: the upstream submission
 * and the idempotency fingerprint carry every field of the schema, so a new
 * field is carried and fingerprinted by adding it to the schema alone.
 * Validated at the edge (functions/http/validation.ts); types flow from
 * here. zod/mini keeps the cold start small.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import { hookUrlProblem, MAX_HOOK_URL_LENGTH, MAX_PUBLIC_URL_LENGTH, publicUrlProblem, type HookPolicy, type PublicUrlRules } from './hook-url';

export const MAX_PROMPT_LENGTH = 4000;
export const MAX_URL_LENGTH = MAX_PUBLIC_URL_LENGTH;
/** Base64 data URLs are bounded so a request fits Lambda's 6 MB payload limit. */
export const MAX_DATA_URL_LENGTH = 2 * 1024 * 1024;
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

// Both cases in the class rather than an `i` flag: JSON Schema patterns carry no flags (the OpenAPI document).
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const DATA_IMAGE_URL = /^data:image\/(png|jpe?g|webp|gif);base64,[A-Za-z0-9+/]+={0,2}$/;

/**
 * The upstream fetches an image URL from its own network, so it obeys a
 * hook's address rules, except that plain http is fine. Loopback is refused
 * even in the local stack (whose policy lets hooks use it): it would mean
 * the upstream's own machine, and the simulator never fetches images.
 */
const IMAGE_URL_RULES: PublicUrlRules = {
  allowHttp: true,
  policy: { allowLoopbackHttp: false },
  alternatives: 'or a data:image/...;base64, URL',
};

function imageUrlProblem(value: string): string | undefined {
  if (value.startsWith('data:')) {
    if (value.length > MAX_DATA_URL_LENGTH) return `must be at most ${MAX_DATA_URL_LENGTH} characters as a data URL`;
    return DATA_IMAGE_URL.test(value)
      ? undefined
      : 'must be an http(s) URL or a data:image/(png|jpeg|webp|gif);base64, URL';
  }
  return publicUrlProblem(value, IMAGE_URL_RULES);
}

// Module-level schemas are built in pure-annotated calls, so a bundle that imports this module
// for its types or helpers (the wiring, in every function) drops them, and zod with them.
// A superRefine rule has no JSON Schema form: the OpenAPI document states it in the field's
// description, with the length bound every accepted value meets (no pattern: WHATWG URL parsing
// accepts more spellings than a regex would, and the document must not refuse what the gateway takes).
const imageUrl = /* @__PURE__ */ (() =>
  z.string().check(
    z.superRefine((value, ctx) => {
      const problem = imageUrlProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
    }),
    z.meta({
      description:
        `An http(s) URL of at most ${MAX_URL_LENGTH} characters without credentials, which the upstream fetches (so never a private, ` +
        `loopback, link-local or metadata address or name), or data:image/(png|jpeg|webp|gif);base64,... of at most ${MAX_DATA_URL_LENGTH} characters.`,
      maxLength: MAX_DATA_URL_LENGTH,
    }),
  ))();

export const taskIdPathSchema = /* @__PURE__ */ (() =>
  z.strictObject({
    task_id: z
      .string()
      .check(
        z.regex(UUID, 'must be a UUID, such as 4665a07c-7641-4809-a133-10786201bb56'),
        z.describe('A task id this gateway issued to you, or an upstream generation id.'),
      ),
  }))();

/** The body of POST /luma/generations and POST /luma/generations/{task_id}/extend. */
export function generationRequestSchema(hookPolicy: HookPolicy) {
  return z.strictObject({
    user_prompt: z.string().check(
      z.trim(),
      z.minLength(1, 'must not be empty'),
      z.maxLength(MAX_PROMPT_LENGTH, `must be at most ${MAX_PROMPT_LENGTH} characters`),
      z.describe(`What the video should show: 1 to ${MAX_PROMPT_LENGTH} characters once trimmed.`),
    ),
    expand_prompt: z.optional(z.boolean().check(z.describe('Let the upstream expand the prompt.'))),
    image_url: z.optional(imageUrl),
    image_end_url: z.optional(imageUrl),
    notify_hook: z.optional(
      z.string().check(
        z.superRefine((value, ctx) => {
          const problem = hookUrlProblem(value, hookPolicy);
          if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
        }),
        z.meta({
          description:
            'Your https URL, told of every status change of the task (signed per Standard Webhooks); never a private, loopback, ' +
            'link-local or metadata address or name. The local stack also allows plain http on loopback.',
          maxLength: MAX_HOOK_URL_LENGTH,
        }),
      ),
    ),
  }).check(z.meta({ id: 'GenerationRequest', description: 'Unknown fields are refused.' }));
}

export type GenerationRequest = z.infer<ReturnType<typeof generationRequestSchema>>;

export const idempotencyKeySchema = /* @__PURE__ */ (() =>
  z.string().check(
    z.minLength(1, 'must not be empty'),
    z.maxLength(MAX_IDEMPOTENCY_KEY_LENGTH, `must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`),
    z.regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
    z.describe(
      'A retry with the same key and body returns the same task and calls the upstream once; the same key with another body is 409; ' +
        'after a failed attempt the key is freed. Keys last 24 hours.',
    ),
  ))();

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** What the upstream is sent: every field of the request, with the gateway's own callback URL as notify_hook. */
export function upstreamSubmission<R extends GenerationRequest>(request: R, callbackUrl: string): Omit<R, 'notify_hook'> & { notify_hook: string } {
  return { ...request, notify_hook: callbackUrl };
}

/** JSON with object keys sorted at every level, and undefined fields left out: equal values, equal text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, field]) => field !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([name, field]) => `${JSON.stringify(name)}:${canonicalJson(field)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** What makes two requests "the same" for an Idempotency-Key: the parent and every field of the parsed request. */
export function requestFingerprint(parentTaskId: string | undefined, request: GenerationRequest): string {
  return createHash('sha256').update(canonicalJson({ parent_task_id: parentTaskId ?? null, request })).digest('hex');
}

/** Data URLs are sent upstream but not stored: a task keeps only their size and hash. */
export function storableImage(value: string | undefined): string | undefined {
  if (value === undefined || !value.startsWith('data:')) return value;
  const kind = value.slice(0, value.indexOf(',') + 1);
  const digest = createHash('sha256').update(value).digest('hex').slice(0, 16);
  return `${kind}[${value.length} characters, sha256 ${digest}…]`;
}
