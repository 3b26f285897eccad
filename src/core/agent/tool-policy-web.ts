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
  // IPv4-mapped and NAT64 addresses are refused outright: nobody needs them to reach a public site.
  ['::ffff:0:0', 96],
  ['64:ff9b::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  // NAT64's local-use prefix puts the IPv4 address at an operator-chosen offset: refuse it whole.
  ['64:ff9b:1::', 48],
] as const) {
  PRIVATE_V6.addSubnet(network, prefix, 'ipv6');
}

/**
 * IPv6 forms that carry an IPv4 address, which is what the packet may really
 * reach: IPv4-compatible (`::a.b.c.d`), IPv4-mapped (`::ffff:a.b.c.d`), SIIT
 * (`::ffff:0:a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`), 6to4 (`2002:AABB:CCDD::`)
 * and Teredo (`2001:0:…`, server and obfuscated client). Each is judged by the
 * IPv4 addresses it embeds, so `[::127.0.0.1]` is loopback however written.
 */
function embeddedIPv4(address: string): string[] {
  const bytes = ipv6Bytes(address);
  if (!bytes) return [];
  const word = (index: number) => ((bytes[index] ?? 0) << 8) | (bytes[index + 1] ?? 0);
  const v4 = (offset: number, mask = 0) =>
    [0, 1, 2, 3].map((i) => ((bytes[offset + i] ?? 0) ^ mask).toString()).join('.');
  const zeros = (from: number, to: number) => bytes.slice(from, to).every((b) => b === 0);
  if (zeros(0, 10) && word(10) === 0xffff) return [v4(12)]; // mapped
  if (zeros(0, 12)) return [v4(12)]; // compatible (and :: itself, which is 0.0.0.0)
  if (zeros(0, 8) && word(8) === 0xffff && word(10) === 0) return [v4(12)]; // SIIT
  if (word(0) === 0x64 && word(2) === 0xff9b && zeros(4, 12)) return [v4(12)]; // NAT64
  if (word(0) === 0x2002) return [v4(2)]; // 6to4
  if (word(0) === 0x2001 && word(2) === 0) return [v4(4), v4(12, 0xff)]; // Teredo
  return [];
}

/** The 16 bytes of an IPv6 address (with `::` and a dotted IPv4 tail expanded), or null. */
function ipv6Bytes(address: string): number[] | null {
  if (isIP(address) !== 6) return null;
  let text = address.toLowerCase().replace(/%.*$/, '');
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const [a, b, c, d] = dotted[1].split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -dotted[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headWords = head ? head.split(':') : [];
  const tailWords = tail ? tail.split(':') : [];
  const fill = tail === undefined ? 0 : 8 - headWords.length - tailWords.length;
  const words = [...headWords, ...Array<string>(fill).fill('0'), ...tailWords];
  if (words.length !== 8) return null;
  return words.flatMap((w) => {
    const value = Number.parseInt(w, 16);
    return [value >> 8, value & 0xff];
  });
}

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  if (family === 4) return PRIVATE_V4.check(address, 'ipv4');
  if (PRIVATE_V6.check(address, 'ipv6')) return true;
  return embeddedIPv4(address).some((v4) => PRIVATE_V4.check(v4, 'ipv4'));
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
