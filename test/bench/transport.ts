/**
 * The upstream POST on its two transports, side by side in fresh processes
 * (phase-cold.ts): the real upstream client (functions/adapters/upstream/
 * http-client.ts, node:http/node:https with a keep-alive agent) and the
 * global fetch, for the same submission, each answer read by the same
 * parser. Each is bundled alone (`export { x as handler }`), the client built
 * at the first call as the real handlers build it.
 */
import { staticSecret } from '../../functions/adapters/secret-cache';
import { createUpstreamClient } from '../../functions/adapters/upstream/http-client';
import { parseUpstreamGeneration } from '../../functions/adapters/upstream/response';

export interface TransportEvent {
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly parentUpstreamId: string;
  readonly submission: Record<string, unknown>;
}

export async function nodeHttp(event: TransportEvent) {
  const client = createUpstreamClient({ baseUrl: event.baseUrl, apiKey: staticSecret(event.apiKey), timeoutMs: 10_000 });
  const generation = await client.submit(event.parentUpstreamId, event.submission as never, { deadlineAt: Date.now() + 10_000 });
  return { statusCode: generation.id ? 200 : 502 };
}

export async function globalFetch(event: TransportEvent) {
  const response = await fetch(`${event.baseUrl}/luma/generations/${encodeURIComponent(event.parentUpstreamId)}/extend`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${event.apiKey}`, Accept: 'application/json', 'Content-Type': 'application/json' },
    body: JSON.stringify(event.submission),
    redirect: 'manual',
    signal: AbortSignal.timeout(10_000),
  });
  const parsed = parseUpstreamGeneration(JSON.parse(await response.text()));
  return { statusCode: response.ok && parsed.ok ? 200 : 502 };
}
