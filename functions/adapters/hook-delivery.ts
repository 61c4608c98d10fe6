/**
 * Delivers one notification to a client's hook, defending against SSRF at
 * delivery time (public-address.ts): the host is resolved, every address
 * must be public, and the connection goes to the address that was checked.
 * Redirects are never followed.
 */
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { DeliveryOutcome, DeliveryRequest } from '#domain/ports';
import { checkedAddress, pinnedLookup } from './public-address';

const HOOK = { url: 'notify_hook', host: "the hook's host" } as const;

/** A HookSender (functions/domain/ports.ts). */
export async function deliverToHook(request: DeliveryRequest): Promise<DeliveryOutcome> {
  const started = Date.now();
  const elapsed = () => Date.now() - started;
  const url = new URL(request.url);
  const target = await checkedAddress(url, HOOK, request.policy, request.resolve);
  if ('refused' in target) return { outcome: 'refused', error: target.refused, durationMs: elapsed() };
  if ('unresolved' in target) return { outcome: 'failed', error: target.unresolved, durationMs: elapsed() };

  const options: RequestOptions = {
    method: 'POST',
    // Pinned to the checked address; TLS still verifies the host name.
    lookup: pinnedLookup(target),
    headers: {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(request.body),
      'User-Agent': 'luma-gateway-notifier/1',
      ...request.headers,
    },
    timeout: request.timeoutMs,
  };
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;

  return new Promise<DeliveryOutcome>((resolve) => {
    const req = send(url, options, (res) => {
      res.resume(); // The answer's body does not matter; drain it.
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve({ outcome: 'delivered', httpStatus: status, durationMs: elapsed() });
        else if (status >= 300 && status < 400) resolve({ outcome: 'failed', httpStatus: status, error: 'the hook answered a redirect; redirects are not followed', durationMs: elapsed() });
        else {
          const retryAfter = res.headers['retry-after'];
          resolve({ outcome: 'failed', httpStatus: status, error: `the hook answered HTTP ${status}`, durationMs: elapsed(), ...(retryAfter !== undefined && { retryAfter }) });
        }
      });
      res.on('error', () => resolve({ outcome: 'failed', httpStatus: res.statusCode, error: 'the hook closed the connection', durationMs: elapsed() }));
    });
    const deadline = setTimeout(() => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })), request.timeoutMs);
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (error: NodeJS.ErrnoException) => {
      const message = error.code === 'ETIMEDOUT' ? `the hook did not answer within ${request.timeoutMs} ms` : `could not reach the hook (${error.code ?? 'error'})`;
      resolve({ outcome: 'failed', error: message, durationMs: elapsed() });
    });
    req.on('close', () => clearTimeout(deadline));
    req.end(request.body);
  });
}
