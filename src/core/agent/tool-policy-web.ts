import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/** Resolves a host name to its addresses (injectable, so tests need no DNS). */
export type HostLookup = (hostname: string) => Promise<string[]>;

export const dnsLookup: HostLookup = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address);

/**
 * Addresses a web fetch must never reach: loopback (the model gateway, other
 * local services), private networks, link-local (cloud metadata endpoints
 * such as 169.254.169.254 and the ECS credentials endpoint), and the special
 * ranges that can be made to point at any of those.
 */
// Two lists: Node matches IPv4 addresses against IPv4-mapped IPv6 subnets,
// so one mixed list would call every IPv4 address private.
const PRIVATE_V4 = new BlockList();
const PRIVATE_V6 = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const) {
  PRIVATE_V4.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 127],
  // IPv4-mapped addresses are refused outright: nobody needs them to reach a public site.
  ['::ffff:0:0', 96],
  ['64:ff9b::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  PRIVATE_V6.addSubnet(network, prefix, 'ipv6');
}

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  return family === 4 ? PRIVATE_V4.check(address, 'ipv4') : PRIVATE_V6.check(address, 'ipv6');
}

/** `example.com` matches only itself; `*.example.com` matches it and every subdomain. */
export function domainAllowed(hostname: string, allowed: readonly string[]): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return allowed.some((pattern) => {
    if (!pattern.startsWith('*.')) return host === pattern;
    const base = pattern.slice(2);
    return host === base || host.endsWith(`.${base}`);
  });
}

export type UrlDecision = { ok: true } | { ok: false; reason: string };

/**
 * Decides whether WebFetch may fetch `url`: http(s) only, an allowed domain
 * when a list is set, and never a private or loopback address, whether
 * written as one or resolved from a name. (A name that resolves differently
 * a moment later is not caught here; the agent holds no credential such a
 * trick could reach, which is the real defence.)
 */
export async function checkFetchUrl(
  url: unknown,
  allowedDomains: readonly string[] | undefined,
  resolve: HostLookup,
): Promise<UrlDecision> {
  if (typeof url !== 'string') return { ok: false, reason: 'expected a URL' };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, reason: `"${url}" is not a valid URL` };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return { ok: false, reason: `only http and https URLs can be fetched, not ${parsed.protocol}` };
  }
  // WHATWG URL parsing has already normalised odd IPv4 spellings (2130706433, 0x7f.1).
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (allowedDomains && !domainAllowed(host, allowedDomains)) {
    return {
      ok: false,
      reason: `${host} is not among the sites this agent may fetch (${allowedDomains.join(', ') || 'none'})`,
    };
  }
  const refuse = {
    ok: false as const,
    reason: `${host} is a local or private address; the agent may only fetch public web sites`,
  };
  if (isIP(host)) return isPrivateAddress(host) ? refuse : { ok: true };
  const lower = host.toLowerCase();
  if (lower === 'localhost' || /\.(localhost|local|internal)\.?$/.test(lower)) return refuse;
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch {
    return { ok: false, reason: `${host} could not be resolved` };
  }
  if (addresses.length === 0) return { ok: false, reason: `${host} could not be resolved` };
  return addresses.some(isPrivateAddress) ? refuse : { ok: true };
}
