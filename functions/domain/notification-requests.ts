/**
 * What the redelivery and endpoint routes take: path parameters and the
 * recover body, as zod/mini schemas (built in pure-annotated calls, so a
 * bundle that does not parse them drops them).
 */
import * as z from 'zod/mini';

const ENDPOINT_ID = /^ep_[0-9a-f]{24}$/;

export const endpointIdPathSchema = /* @__PURE__ */ (() =>
  z.strictObject({
    endpoint_id: z
      .string()
      .check(z.regex(ENDPOINT_ID, 'must be an endpoint id, such as ep_0123456789abcdef01234567'), z.describe('One of your endpoints, as listEndpoints shows it.')),
  }))();

/** The body of POST /luma/notifications/recover. */
export const recoverRequestSchema = /* @__PURE__ */ (() =>
  z
    .strictObject({
      since: z
        .int()
        .check(
          z.nonnegative('must be unix seconds (0 or more)'),
          z.describe('Unix seconds: every notification of yours created since then that was exhausted or skipped is sent again.'),
        ),
    })
    .check(z.meta({ id: 'RecoverRequest', description: 'Unknown fields are refused.' })))();

export type RecoverRequest = z.infer<typeof recoverRequestSchema>;
