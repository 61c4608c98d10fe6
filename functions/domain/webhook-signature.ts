/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): a client
 * verifies a notification with the off-the-shelf `standardwebhooks` library
 * or Svix's, using the whsec_ secret it was given when it was created.
 */
import { createHmac } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';

/** `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, keyed by the secret's decoded bytes. */
export function webhookSignature(secret: string, webhookId: string, timestampSeconds: number, body: string): string {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error('a webhook secret must start with whsec_');
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  const mac = createHmac('sha256', key).update(`${webhookId}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/**
 * The three headers of a signed notification. With several secrets (a
 * rotation's overlap), `webhook-signature` carries one signature per
 * secret, space-separated, as the spec allows: a client verifying with any
 * of them passes.
 */
export function webhookHeaders(secrets: string | readonly string[], webhookId: string, timestampSeconds: number, body: string): Record<string, string> {
  const all = typeof secrets === 'string' ? [secrets] : secrets;
  if (all.length === 0) throw new Error('a notification is signed with at least one secret');
  return {
    'webhook-id': webhookId,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': all.map((secret) => webhookSignature(secret, webhookId, timestampSeconds, body)).join(' '),
  };
}

/** What signing needs of a client: its secret, and the one it replaced (while the rotation's overlap lasts). */
export interface SigningClient {
  readonly webhookSecret: string;
  readonly previousWebhookSecret?: string;
  /** Unix seconds of the last rotation. */
  readonly webhookSecretRotatedAt?: number;
}

/** The secrets a notification is signed with now: the current one, and the previous one until `overlapSeconds` after the rotation. */
export function signingSecrets(client: SigningClient, nowMs: number, overlapSeconds: number): string[] {
  const { previousWebhookSecret: previous, webhookSecretRotatedAt: rotatedAt } = client;
  const overlapping = previous !== undefined && rotatedAt !== undefined && nowMs < (rotatedAt + overlapSeconds) * 1000;
  return overlapping ? [client.webhookSecret, previous] : [client.webhookSecret];
}

/**
 * Stable across retries and duplicate stream records: one id per task per
 * status, and a distinct one for a status reached again after the task was
 * revived (a task reaches each status at most once before and once after).
 */
export function webhookId(taskId: string, status: string, revived = false): string {
  return `msg_${taskId.replace(/-/g, '')}_${status}${revived ? '_revived' : ''}`;
}
