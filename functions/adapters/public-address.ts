/**
 * Where the gateway may connect on a URL it was given (a client's
 * notify_hook, an upstream's media link), checked when it connects: the
 * host is resolved, every address must be public (hook-url.ts's
 * isPublicAddress, so IPv6 forms embedding a private IPv4, 6to4 and Teredo
 * are refused too), and the connection goes to the address that was
 * checked (pinnedLookup: no second lookup that a rebinding DNS could answer
 * differently). Only the local stack's policy lets loopback through.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import { hookUrlProblem, isLoopbackAddress, isPublicAddress, type HookPolicy } from '#domain/hook-url';

export type Resolver = (host: string) => Promise<{ address: string; family: number }[]>;

const defaultResolve: Resolver = (host) => dnsLookup(host, { all: true, verbatim: true });

export type CheckedAddress = { address: string; family: number } | { refused: string } | { unresolved: string };

/**
 * The address to connect to for `url`, or why not: `refused` for good (the
 * URL's form, or a private address), `unresolved` for now (DNS failed: worth
 * a retry). `names` say what the URL and its host are in the messages
 * ("notify_hook", "the hook's host").
 */
export async function checkedAddress(url: URL, names: { readonly url: string; readonly host: string }, policy: HookPolicy, resolve: Resolver = defaultResolve): Promise<CheckedAddress> {
  const problem = hookUrlProblem(url.href, policy);
  if (problem !== undefined) return { refused: `${names.url} ${problem}` };
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: { address: string; family: number }[];
  try {
    addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await resolve(host);
  } catch (error) {
    // Possibly passing (EAI_AGAIN): worth a retry, unlike a forbidden address.
    return { unresolved: `${names.host} ${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  const allowed = (address: string) => isPublicAddress(address) || (policy.allowLoopbackHttp && isLoopbackAddress(address));
  if (addresses.length === 0) return { unresolved: `${names.host} ${host} does not resolve` };
  if (!addresses.every((a) => allowed(a.address))) {
    return { refused: `${names.host} ${host} resolves to a private, loopback, link-local or metadata address` };
  }
  return addresses[0];
}

/** A lookup that answers the checked address only: the connection goes where the check looked (TLS still verifies the host name). */
export function pinnedLookup(target: { address: string; family: number }): LookupFunction {
  return (_host, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [target]);
    else callback(null, target.address, target.family);
  };
}
