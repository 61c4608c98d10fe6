/**
 * Keys, secrets and tokens. Only hashes of client keys and callback tokens
 * are stored; comparisons run in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const CLIENT_KEY_PREFIX = 'lgw_';

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** A client's API key: shown once, stored only as its hash. */
export function newClientKey(): string {
  return `${CLIENT_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** A Standard Webhooks signing secret (whsec_ + base64 of 24 random bytes). */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/** A callback token names its task and carries 256 random bits; only their hash is stored. */
export function newCallbackToken(taskId: string): { token: string; hash: string } {
  const secret = randomBytes(32).toString('base64url');
  return { token: `${taskId}.${secret}`, hash: sha256Hex(secret) };
}

export function parseCallbackToken(token: string): { taskId: string; secret: string } | undefined {
  const match = /^([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/.exec(token);
  return match ? { taskId: match[1], secret: match[2] } : undefined;
}

/** Constant-time check of a token's secret against the stored hash. */
export function secretMatchesHash(secret: string, storedHash: string | undefined): boolean {
  const expected = Buffer.from(storedHash ?? '', 'hex');
  const actual = createHash('sha256').update(secret, 'utf8').digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/**
 * The longest a key replaced by a rotation may stay accepted (the bound of
 * clientKeyOverlapSeconds): its record expires (TTL) this long after it was
 * replaced, whatever the overlap; the authorizer enforces the overlap itself.
 */
export const MAX_KEY_OVERLAP_SECONDS = 7 * 86_400;

/** Whether a key replaced at `replacedAt` (unix seconds) is still within its overlap at `now`. */
export function keyStillAccepted(replacedAt: number | undefined, now: number, overlapSeconds: number): boolean {
  return replacedAt === undefined || now < replacedAt + Math.min(overlapSeconds, MAX_KEY_OVERLAP_SECONDS);
}
