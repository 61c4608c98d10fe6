/**
 * The upstream key, read from Secrets Manager and cached for a bounded time.
 * refresh() re-reads it at once (used once when the upstream answers 401, so
 * a rotated key takes effect without a deploy). Concurrent readers share one
 * in-flight request.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SecretSource } from '#domain/ports';

export interface SecretCacheOptions {
  readonly client: Pick<SecretsManagerClient, 'send'>;
  readonly secretId: string;
  readonly ttlMs: number;
  readonly now?: () => number;
}

/** A secret holds the key as plain text or as JSON with an api_key (or apiKey, key) field. */
export function parseSecretValue(value: string): string {
  const trimmed = value.trim();
  if (trimmed.startsWith('{')) {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(trimmed) as Record<string, unknown>;
    } catch {
      return trimmed; // Not JSON after all: the whole value is the key.
    }
    for (const field of ['api_key', 'apiKey', 'key']) {
      const candidate = parsed[field];
      if (typeof candidate === 'string' && candidate !== '') return candidate;
    }
    throw new Error('the upstream secret is JSON without an api_key field');
  }
  if (trimmed === '') throw new Error('the upstream secret is empty');
  return trimmed;
}

export function createSecretCache({ client, secretId, ttlMs, now = Date.now }: SecretCacheOptions): SecretSource {
  let cached: { value: string; expiresAt: number } | undefined;
  let inFlight: Promise<string> | undefined;

  const load = (): Promise<string> => {
    inFlight ??= client
      .send(new GetSecretValueCommand({ SecretId: secretId }))
      .then((output) => {
        const value = parseSecretValue(output.SecretString ?? '');
        cached = { value, expiresAt: now() + ttlMs };
        return value;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };

  return {
    get: () => (cached && cached.expiresAt > now() ? Promise.resolve(cached.value) : load()),
    refresh: () => {
      cached = undefined;
      return load();
    },
  };
}

/** A fixed key, for a real upstream configured without Secrets Manager in local runs and tests. */
export function staticSecret(value: string): SecretSource {
  return { get: async () => value, refresh: async () => value };
}
