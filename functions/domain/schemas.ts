/**
 * Request schemas, validated at the edge. Types flow from here. zod/mini
 * keeps the cold start small; messages come from describeIssues below, so
 * every error names the field and what was wrong.
 */
import * as z from 'zod/mini';
import { hookUrlProblem, MAX_PUBLIC_URL_LENGTH, publicUrlProblem, type HookPolicy, type PublicUrlRules } from './hook-url';

export const MAX_PROMPT_LENGTH = 4000;
export const MAX_URL_LENGTH = MAX_PUBLIC_URL_LENGTH;
/** Base64 data URLs are bounded so a request fits Lambda's 6 MB payload limit. */
export const MAX_DATA_URL_LENGTH = 2 * 1024 * 1024;
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
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

const imageUrl = z.string().check(
  z.superRefine((value, ctx) => {
    const problem = imageUrlProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
  }),
);

export const taskIdPathSchema = z.strictObject({
  task_id: z.string().check(z.regex(UUID, 'must be a UUID, such as 4665a07c-7641-4809-a133-10786201bb56')),
});

/** The body of POST /luma/generations and POST /luma/generations/{task_id}/extend. */
export function generationRequestSchema(hookPolicy: HookPolicy) {
  return z.strictObject({
    user_prompt: z.string().check(
      z.trim(),
      z.minLength(1, 'must not be empty'),
      z.maxLength(MAX_PROMPT_LENGTH, `must be at most ${MAX_PROMPT_LENGTH} characters`),
    ),
    expand_prompt: z.optional(z.boolean()),
    image_url: z.optional(imageUrl),
    image_end_url: z.optional(imageUrl),
    notify_hook: z.optional(
      z.string().check(
        z.superRefine((value, ctx) => {
          const problem = hookUrlProblem(value, hookPolicy);
          if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
        }),
      ),
    ),
  });
}

export type GenerationRequest = z.infer<ReturnType<typeof generationRequestSchema>>;

export const idempotencyKeySchema = z.string().check(
  z.minLength(1, 'must not be empty'),
  z.maxLength(MAX_IDEMPOTENCY_KEY_LENGTH, `must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`),
  z.regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
);

type Issue = z.core.$ZodIssue;

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function describeIssue(issue: Issue, where: string): string {
  const field = [where, ...issue.path.map(String)].filter(Boolean).join('.');
  const subject = field === '' ? 'the body' : field;
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return `${subject} is required`;
      return `${subject} must be ${issue.expected === 'object' ? 'a JSON object' : `a ${issue.expected}`}, got ${typeName(issue.input)}`;
    case 'unrecognized_keys':
      return `${subject === 'the body' ? 'the body has' : `${subject} has`} unknown field${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.join(', ')}`;
    case 'too_small':
    case 'too_big':
      return issue.message !== 'Invalid input' ? `${subject} ${issue.message}` : `${subject} has an invalid length`;
    default:
      return `${subject} ${issue.message}`;
  }
}

/** One sentence naming every field that was wrong and how (issues parsed with reportInput). */
export function describeIssues(issues: readonly Issue[], where = ''): string {
  return issues.map((issue) => describeIssue(issue, where)).join('; ');
}

export type Validation<T> = { ok: true; data: T } | { ok: false; message: string };

/** Validates a value; on failure, says which fields were wrong and how. */
export function validate<S extends z.ZodMiniType>(schema: S, value: unknown, where = ''): Validation<z.infer<S>> {
  const result = schema.safeParse(value, { reportInput: true });
  return result.success ? { ok: true, data: result.data } : { ok: false, message: describeIssues(result.error.issues, where) };
}

export function isUuid(value: string): boolean {
  return UUID.test(value);
}
