/**
 * The upstream client and its key (Secrets Manager), built from the
 * environment once per container; only the functions that call the
 * upstream import this (see wiring.ts).
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ENV, numberEnv, requireEnv } from './config';
import { createSecretCache } from './secret-cache';
import { createUpstreamClient, type UpstreamClient } from './upstream-client';
import { once } from './wiring';

export const upstreamFromEnv = once((): UpstreamClient =>
  createUpstreamClient({
    baseUrl: requireEnv(ENV.upstreamBaseUrl),
    timeoutMs: numberEnv(ENV.upstreamTimeoutMs, 10_000),
    apiKey: createSecretCache({
      client: new SecretsManagerClient({}),
      secretId: requireEnv(ENV.upstreamSecretId),
      ttlMs: numberEnv(ENV.secretCacheTtlSeconds, 300) * 1000,
    }),
  }),
);
