/**
 * The envelope (envelope.ts) as zod/mini schemas: the success answer around
 * a route's `data`, and the error answer with the codes of one status. The
 * OpenAPI document is generated from these; a unit test parses what
 * envelope.ts and the gateway responses produce with them.
 */
import * as z from 'zod/mini';

const requestId = () => z.string().check(z.minLength(1), z.describe("The request's id (also the X-Request-Id header): quote it when reporting a problem."));

export function successEnvelopeSchema<Data extends z.ZodMiniType>(data: Data) {
  return z.strictObject({
    code: z.literal(0),
    message: z.literal('success'),
    request_id: requestId(),
    data,
  });
}

/** A success whose message the client should read (HTTP 202: the outcome is being confirmed). */
export function acceptedEnvelopeSchema<Data extends z.ZodMiniType>(data: Data) {
  return z.strictObject({
    code: z.literal(0),
    message: z.string().check(z.minLength(1), z.describe('What happened and what to do: follow the task with GET or your notify_hook.')),
    request_id: requestId(),
    data,
  });
}

/** An error answer whose code is one of `codes` (error-catalog.ts). */
export function errorEnvelopeSchema(codes: readonly [number, ...number[]]) {
  return z.strictObject({
    code: z.literal(codes).check(z.describe('What went wrong, stably: see the codes of this status.')),
    message: z.string().check(z.minLength(1), z.describe('What was wrong, for a person: which field and how, or what to do. Never a stack trace, key or token.')),
    request_id: requestId(),
    data: z.null(),
  });
}
