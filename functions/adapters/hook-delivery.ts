/**
 * Delivers one notification to a client's hook, defending against SSRF at
 * delivery time: the host is resolved, every address must be public (the
 * submission rule's isPublicAddress, so IPv6 forms embedding a private IPv4,
 * 6to4 and Teredo are refused here too), and the connection goes to the
 * address that was checked (no second lookup a rebinding DNS could answer
 * differently). Redirects are never followed.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { hookUrlProblem, isLoopbackAddress, isPublicAddress } from '#domain/hook-url';
import type { DeliveryOutcome, DeliveryRequest } from '#domain/ports';

const defaultResolve = (host: string) => dnsLookup(host, { all: true, verbatim: true });

/** The address to connect to, or why the hook is refused. */
async function checkedAddress(
  url: URL,
  request: DeliveryRequest,
): Promise<{ address: string; family: number } | { refused: string } | { unresolved: string }> {
  const problem = hookUrlProblem(url.href, request.policy);
  if (problem !== undefined) return { refused: `notify_hook ${problem}` };
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: { address: string; family: number }[];
  try {
    addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await (request.resolve ?? defaultResolve)(host);
  } catch (error) {
    // Possibly passing (EAI_AGAIN): worth a retry, unlike a forbidden address.
    return { unresolved: `the hook's host ${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  const allowed = (address: string) =>
    isPublicAddress(address) || (request.policy.allowLoopbackHttp && isLoopbackAddress(address));
  if (addresses.length === 0) return { unresolved: `the hook's host ${host} does not resolve` };
  if (!addresses.every((a) => allowed(a.address))) {
    return { refused: `the hook's host ${host} resolves to a private, loopback, link-local or metadata address` };
  }
  return addresses[0];
}

/** A HookSender (functions/domain/ports.ts). */
export async function deliverToHook(request: DeliveryRequest): Promise<DeliveryOutcome> {
  const started = Date.now();
  const elapsed = () => Date.now() - started;
  const url = new URL(request.url);
  const target = await checkedAddress(url, request);
  if ('refused' in target) return { outcome: 'refused', error: target.refused, durationMs: elapsed() };
  if ('unresolved' in target) return { outcome: 'failed', error: target.unresolved, durationMs: elapsed() };

  // Pin the connection to the checked address; TLS still verifies the host name.
  const pinned: LookupFunction = (_host, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [target]);
    else callback(null, target.address, target.family);
  };
  const options: RequestOptions = {
    method: 'POST',
    lookup: pinned,
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
