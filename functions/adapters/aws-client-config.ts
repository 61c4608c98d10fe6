/**
 * What every AWS SDK client of the functions is built with: explicit
 * connect and request timeouts and bounded attempts (functions/time-budget.ts),
 * so a stalled DynamoDB or Secrets Manager costs at most AWS_CALL_WORST_MS
 * per call and becomes a 503 with Retry-After, never a hang.
 */
import { AWS_CALL } from '../time-budget';

export const AWS_CLIENT_CONFIG = {
  maxAttempts: AWS_CALL.maxAttempts,
  requestHandler: {
    connectionTimeout: AWS_CALL.connectionTimeoutMs,
    requestTimeout: AWS_CALL.requestTimeoutMs,
    // Without it the SDK only warns when requestTimeout passes.
    throwOnRequestTimeout: true,
  },
} as const;
