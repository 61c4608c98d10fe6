/** What extend and create need besides the stores: the request schema and the submit pipeline (see wiring.ts). */
import { ENV, requireEnv } from './config';
import { logger } from './logger';
import { generationRequestSchema } from './schemas';
import type { SubmitDeps } from './submit-generation';
import { hookPolicyFromEnv, lifecycleFromEnv, nowSeconds, once, taskStoreFromEnv } from './wiring';
import { upstreamFromEnv } from './wiring-upstream';

/** The request body schema; only the local stack lets hooks use plain http on loopback. */
export const generationRequestSchemaFromEnv = once(() => generationRequestSchema(hookPolicyFromEnv()));

export const submitDepsFromEnv = once((): SubmitDeps => ({
  tasks: taskStoreFromEnv(),
  upstream: upstreamFromEnv(),
  callbackBaseUrl: requireEnv(ENV.callbackBaseUrl),
  lifecycle: lifecycleFromEnv(),
  now: nowSeconds,
  log: logger,
}));
