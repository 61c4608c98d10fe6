/**
 * Where a URL a client gives may lead: its notify_hook (the gateway sends
 * there) and its image_url / image_end_url (the upstream fetches them from
 * its own network). Checked when a task is submitted (here, without touching
 * the network) and, for hooks, again at delivery time after DNS resolution
 * with the same isPublicAddress (hook-delivery.ts), so neither can reach
 * private, loopback, link-local, multicast, reserved or cloud metadata
 * addresses.
 *
 * Public means what the maintained ipaddr.js range tables call 'unicast',
 * with the IPv6 forms that carry an IPv4 address decided by that address:
 * - IPv4-mapped ::ffff:a.b.c.d and NAT64 64:ff9b::/96 (the socket or the
 *   NAT64 gateway goes to a.b.c.d): public only when a.b.c.d is;
 * - 6to4 2002::/16 and Teredo 2001::/32 are refused whatever they embed:
 *   both are deprecated transition mechanisms (RFC 7526, Teredo servers shut
 *   down) that no hook or image host needs, and their packets go through
 *   relays the gateway does not choose, so checking the embedded IPv4 would
 *   still trust the path;
 * - local-use NAT64 64:ff9b:1::/48, IPv4-compatible ::a.b.c.d (deprecated,
 *   RFC 4291) and IPv4-translated ::ffff:0:a.b.c.d are refused: ipaddr.js
 *   calls everything outside its special ranges 'unicast', so an IPv6
 *   address must also lie in 2000::/3, the only space allocated for global
 *   unicast.
 */
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

const GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3');
const NAT64_WELL_KNOWN = ipaddr.parseCIDR('64:ff9b::/96');

/**
 * Parses an address as the socket would read it, or undefined when it is not
 * a plain IP address. Node's strict syntax gates it (ipaddr.js also reads
 * octal, hex and short IPv4 forms), an IPv6 zone is refused (a public address
 * never needs one), and IPv6 goes to ipaddr.js in the canonical hex form:
 * ipaddr.js reads the deprecated "::a.b.c.d" as IPv4-mapped, the socket as
 * IPv4-compatible.
 */
function parseAddress(address: string): Address | undefined {
  const bare = address.replace(/^\[(.*)\]$/, '$1');
  const family = isIP(bare);
  if (family === 4) return ipaddr.IPv4.parse(bare);
  if (family === 6 && !bare.includes('%')) return ipaddr.IPv6.parse(new URL(`http://[${bare}]`).hostname.slice(1, -1));
  return undefined;
}

/** The IPv4 address the last 32 bits of an IPv6 address carry. */
function lastIpv4(address: ipaddr.IPv6): ipaddr.IPv4 {
  return new ipaddr.IPv4(address.toByteArray().slice(12));
}

function isPublicIpv4(address: ipaddr.IPv4): boolean {
  return address.range() === 'unicast';
}

function isPublicIpv6(address: ipaddr.IPv6): boolean {
  if (address.isIPv4MappedAddress()) return isPublicIpv4(address.toIPv4Address());
  if (address.match(NAT64_WELL_KNOWN)) return isPublicIpv4(lastIpv4(address));
  return address.range() === 'unicast' && address.match(GLOBAL_UNICAST);
}

/** True when an IP address is a public unicast address a hook (or an image the upstream fetches) may use. */
export function isPublicAddress(address: string): boolean {
  const parsed = parseAddress(address);
  if (parsed === undefined) return false;
  return parsed instanceof ipaddr.IPv4 ? isPublicIpv4(parsed) : isPublicIpv6(parsed);
}

/** 127.0.0.0/8, ::1, or ::ffff:127.x.y.z (the same socket); a NAT64 or 6to4 form of 127.x is not this machine. */
export function isLoopbackAddress(address: string): boolean {
  const parsed = parseAddress(address);
  if (parsed === undefined) return false;
  const unwrapped = parsed instanceof ipaddr.IPv6 && parsed.isIPv4MappedAddress() ? parsed.toIPv4Address() : parsed;
  return unwrapped.range() === 'loopback';
}

/** Host names that always mean "this machine" or a cloud metadata service (matched after normalisedHost). */
const BLOCKED_HOST_NAMES = /(^|\.)(localhost|localdomain|internal|local|home\.arpa)$|^metadata(\.google\.internal)?$|^instance-data(\.ec2\.internal)?$/;

export interface HookPolicy {
  /** Local stack only: plain http to a loopback address is allowed. */
  readonly allowLoopbackHttp: boolean;
}

export interface PublicUrlRules {
  /** Plain http is allowed (images: the upstream fetches them); otherwise https only. */
  readonly allowHttp: boolean;
  /** allowLoopbackHttp: loopback (http or https) is allowed, whatever allowHttp says. */
  readonly policy: HookPolicy;
  /** The field's other accepted forms, named when the URL is refused for its form (e.g. "or a data:image/...;base64, URL"). */
  readonly alternatives?: string;
}

export const MAX_PUBLIC_URL_LENGTH = 2048;
export const MAX_HOOK_URL_LENGTH = MAX_PUBLIC_URL_LENGTH;

const NOT_PUBLIC = 'must not point at a private, loopback, link-local or metadata address';

/**
 * The host name as DNS looks it up: brackets off, lower case, and the root's
 * trailing dot dropped ("localhost." is localhost, "metadata.google.internal."
 * the metadata server). Undefined when a label is empty ("." or "a..b").
 */
function normalisedHost(url: URL): string | undefined {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  return name.split('.').includes('') ? undefined : name;
}

/** Where a host (already normalised) may not go: a private or special address, or a name that means one. */
function hostProblem(host: string): string | undefined {
  if (isIP(host) !== 0) return isPublicAddress(host) ? undefined : NOT_PUBLIC;
  // A single label is resolved against the network's search domains: an internal name.
  if (!host.includes('.') || BLOCKED_HOST_NAMES.test(host)) return NOT_PUBLIC;
  return undefined;
}

/**
 * Checks a URL that must lead to the public internet, without touching the
 * network. Returns a message saying what is wrong (to follow the field's
 * name), or undefined when the URL may be stored.
 */
export function publicUrlProblem(raw: string, rules: PublicUrlRules): string | undefined {
  const schemes = rules.allowHttp ? 'http(s)' : 'https';
  const orAlternatives = rules.alternatives ? ` ${rules.alternatives}` : '';
  const wrongForm = `must be an ${schemes} URL${orAlternatives}`;
  if (raw.length > MAX_PUBLIC_URL_LENGTH) return `must be at most ${MAX_PUBLIC_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `must be an absolute ${schemes} URL${orAlternatives}`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return wrongForm;
  if (url.username || url.password) return 'must not contain credentials';
  const host = normalisedHost(url);
  if (host === undefined) return `must name a host without empty labels, got "${url.hostname}"`;
  if (rules.policy.allowLoopbackHttp && (host === 'localhost' || isLoopbackAddress(host))) return undefined;
  if (url.protocol === 'http:' && !rules.allowHttp) return wrongForm;
  return hostProblem(host);
}

/** Checks a notify_hook URL (https, public), without touching the network. */
export function hookUrlProblem(raw: string, policy: HookPolicy): string | undefined {
  return publicUrlProblem(raw, { allowHttp: false, policy });
}
