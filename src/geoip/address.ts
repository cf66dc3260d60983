// Source addresses as the server saw them (Fastify's request.ip, from X-Forwarded-For under
// TRUST_PROXY): checked, normalised, and sorted into loopback, private and public. Anything that is
// not a plain IPv4 or IPv6 literal (garbage in a forwarded header, an IPv6 zone id, which names an
// interface of the sender and nothing on the Internet) is no address at all.
import { BlockList, isIPv4, isIPv6 } from 'node:net';

export type AddressKind = 'loopback' | 'private' | 'public';

export interface Address {
  /** The address as shown: IPv4 dotted, IPv6 in lower case (an IPv4-mapped IPv6 address as IPv4). */
  text: string;
  /** One 32-bit word for IPv4, four for IPv6: the keys of the shipped network table. */
  words: number[];
  kind: AddressKind;
}

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

// RFC 6890's special-purpose ranges a person's request can come from without the public Internet:
// private (RFC 1918), shared (RFC 6598, carrier NAT), link-local (RFC 3927, RFC 4291), unique local
// (RFC 4193), and "this network" / unspecified.
const nonPublic = new BlockList();
for (const [net, bits] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16]] as const) {
  nonPublic.addSubnet(net, bits, 'ipv4');
}
nonPublic.addSubnet('fc00::', 7, 'ipv6');
nonPublic.addSubnet('fe80::', 10, 'ipv6');
nonPublic.addAddress('::', 'ipv6');

/** An address's four 32-bit words, or undefined when the text is not an IPv6 literal (zone ids refused). */
export function parseIPv6Words(text: string): number[] | undefined {
  if (text.length > 45 || text.includes('%')) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i] ?? '';
      if (i === pieces.length - 1 && p.includes('.')) {
        // An IPv4 tail (::ffff:192.0.2.1) is the last two groups.
        if (!isIPv4(p)) return undefined;
        const [a = 0, b = 0, c = 0, d = 0] = p.split('.').map(Number);
        out.push((a << 8) | b, (c << 8) | d);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0] ?? '');
  const tail = halves.length === 2 ? groups(halves[1] ?? '') : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const words: number[] = [];
  for (let i = 0; i < 8; i += 2) words.push((((all[i] ?? 0) << 16) | (all[i + 1] ?? 0)) >>> 0);
  return words;
}

function ipv4Words(text: string): number[] {
  const [a = 0, b = 0, c = 0, d = 0] = text.split('.').map(Number);
  return [(((a << 24) | (b << 16) | (c << 8) | d) >>> 0)];
}

function ipv4Text(word: number): string {
  return [word >>> 24, (word >>> 16) & 255, (word >>> 8) & 255, word & 255].join('.');
}

/** The address in `raw`, or undefined when it is none (garbage, a zone id, a list, a port). */
export function parseAddress(raw: string | undefined): Address | undefined {
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (text.length === 0 || text.length > 45) return undefined;
  if (isIPv4(text)) return { text, words: ipv4Words(text), kind: kindOf(text, 'ipv4') };
  if (!isIPv6(text)) return undefined;
  const words = parseIPv6Words(text);
  if (words === undefined) return undefined;
  // An IPv4-mapped address (a dual-stack socket's view of an IPv4 client) is that IPv4 address.
  if (words[0] === 0 && words[1] === 0 && words[2] === 0xffff) {
    const v4 = ipv4Text(words[3] ?? 0);
    return { text: v4, words: [words[3] ?? 0], kind: kindOf(v4, 'ipv4') };
  }
  const lower = text.toLowerCase();
  return { text: lower, words, kind: kindOf(lower, 'ipv6') };
}

function kindOf(text: string, family: 'ipv4' | 'ipv6'): AddressKind {
  if (loopback.check(text, family)) return 'loopback';
  return nonPublic.check(text, family) ? 'private' : 'public';
}

/**
 * The address cut to its network for logs, where a person's full address has no place (README
 * "Where a request came from"): IPv4 to its /24 (`192.0.2.0/24`), IPv6 to its /48.
 */
export function truncateAddress(raw: string | undefined): string | undefined {
  const a = parseAddress(raw);
  if (a === undefined) return raw === undefined ? undefined : 'invalid';
  if (a.words.length === 1) return `${ipv4Text((a.words[0] ?? 0) & 0xffff_ff00)}/24`;
  const [w0 = 0, w1 = 0] = a.words;
  const groups = [w0 >>> 16, w0 & 0xffff, w1 >>> 16].map((g) => g.toString(16));
  return `${groups.join(':')}::/48`;
}
