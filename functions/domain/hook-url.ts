/**
 * Where the gateway may send a client's notifications. Checked when a task
 * is submitted (here) and again at delivery time, after DNS resolution
 * (the notifier), so a hook can never reach private, loopback, link-local,
 * multicast or cloud metadata addresses.
 */
import { BlockList, isIP } from 'node:net';

const blocked = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this" network
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, including 169.254.169.254 (metadata)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments (incl. 192.0.0.192 Oracle metadata)
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  blocked.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local, including fd00:ec2::254 (AWS metadata)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) {
  blocked.addSubnet(network, prefix, 'ipv6');
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** IPv4 carried inside an IPv6 address (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96, compatible ::a.b.c.d). */
function embeddedIpv4(ipv6: string): string | undefined {
  const lower = ipv6.toLowerCase();
  const match = /^(?:::ffff:|64:ff9b::|::)(?:0:)?([0-9a-f.:]+)$/.exec(lower);
  if (!match) return undefined;
  const tail = match[1];
  if (isIP(tail) === 4) return tail;
  const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(tail);
  if (!hex) return undefined;
  const high = parseInt(hex[1], 16);
  const low = parseInt(hex[2], 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/** True when an IP address is a public unicast address a hook may use. */
export function isPublicAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) return !blocked.check(bare, 'ipv4');
  if (family === 6) {
    const v4 = embeddedIpv4(bare);
    if (v4 !== undefined) return isPublicAddress(v4);
    return !blocked.check(bare, 'ipv6');
  }
  return false;
}

export function isLoopbackAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '');
  const family = isIP(bare);
  if (family === 4) return LOOPBACK.check(bare, 'ipv4');
  if (family === 6) {
    const v4 = embeddedIpv4(bare);
    return v4 !== undefined ? LOOPBACK.check(v4, 'ipv4') : LOOPBACK.check(bare, 'ipv6');
  }
  return false;
}

/** Host names that always mean "this machine" or a cloud metadata service. */
const BLOCKED_HOST_NAMES = /(^|\.)(localhost|localdomain|internal|local|home\.arpa)$|^metadata(\.google\.internal)?$|^instance-data(\.ec2\.internal)?$/;

export interface HookPolicy {
  /** Local stack only: plain http to a loopback address is allowed. */
  readonly allowLoopbackHttp: boolean;
}

export const MAX_HOOK_URL_LENGTH = 2048;

/**
 * Checks a notify_hook URL without touching the network. Returns a message
 * saying what is wrong, or undefined when the URL may be stored.
 */
export function hookUrlProblem(raw: string, policy: HookPolicy): string | undefined {
  if (raw.length > MAX_HOOK_URL_LENGTH) return `must be at most ${MAX_HOOK_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute https URL';
  }
  if (url.username || url.password) return 'must not contain credentials';
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const literal = isIP(host) !== 0;
  if (policy.allowLoopbackHttp && (url.protocol === 'http:' || url.protocol === 'https:')) {
    if (literal && isLoopbackAddress(host)) return undefined;
    if (host === 'localhost') return undefined;
  }
  if (url.protocol !== 'https:') return 'must be an https URL';
  if (literal) {
    return isPublicAddress(host) ? undefined : 'must not point at a private, loopback, link-local or metadata address';
  }
  if (!host.includes('.') || BLOCKED_HOST_NAMES.test(host)) {
    return 'must not point at a private, loopback, link-local or metadata address';
  }
  return undefined;
}
