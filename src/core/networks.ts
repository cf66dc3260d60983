// Source addresses and networks (README "Device policy"): the CIDR lists a client's device
// authorizations must come from, and the network key that says two requests came from one network.
// The key is what the per-source budgets count (src/http/rate-limit.ts) and what same-network
// approval compares: an IPv4 address as it is (a home's devices share one public address behind
// NAT), an IPv6 address by its /64 (one home or host usually holds a whole /64, RFC 4291 §2.5.4).
import { isIP, isIPv6 } from 'node:net';
import { CoreError } from './errors.ts';

/**
 * The network a source address belongs to: IPv4 (also IPv4-mapped IPv6) as the address, IPv6 as
 * `a:b:c:d::/64`. Never throws; a string that is not an address is its own key.
 */
export function networkKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (!isIPv6(ip)) return ip;
  return `${expandIPv6(ip).slice(0, 4).join(':')}::/64`;
}

/** The eight hextets of an IPv6 address, without zone, in lower case without leading zeros. */
function expandIPv6(ip: string): string[] {
  const bare = ip.split('%')[0] ?? ip;
  const [head = '', tail] = bare.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  // An embedded IPv4 tail (::1.2.3.4) is two hextets; it never reaches the /64 prefix we keep.
  const width = (parts: string[]) => parts.reduce((n, p) => n + (p.includes('.') ? 2 : 1), 0);
  const zeros = tail === undefined ? [] : new Array<string>(8 - width(left) - width(right)).fill('0');
  return [...left, ...zeros, ...right].map((h) => (h.includes('.') ? h : h.toLowerCase().replace(/^0+(?=.)/, '')));
}

interface Address {
  family: 4 | 6;
  value: bigint;
}

const WIDTH = { 4: 32, 6: 128 } as const;

function ipv4Value(text: string): bigint {
  return text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

/** An address as a number; IPv4-mapped IPv6 (`::ffff:a.b.c.d`) reads as the IPv4 address it maps. */
function parseAddress(text: string): Address | undefined {
  const bare = text.split('%')[0] ?? text;
  const family = isIP(bare);
  if (family === 4) return { family: 4, value: ipv4Value(bare) };
  if (family !== 6) return undefined;
  let value = 0n;
  for (const part of expandIPv6(bare)) {
    value = part.includes('.') ? (value << 32n) | ipv4Value(part) : (value << 16n) | BigInt(parseInt(part, 16));
  }
  if (value >> 32n === 0xffffn) return { family: 4, value: value & 0xffff_ffffn };
  return { family: 6, value };
}

function formatAddress(a: Address): string {
  if (a.family === 4) return [24n, 16n, 8n, 0n].map((s) => String((a.value >> s) & 0xffn)).join('.');
  const hextets = Array.from({ length: 8 }, (_, i) => Number((a.value >> BigInt(112 - 16 * i)) & 0xffffn));
  // RFC 5952 §4.2: the longest run of two or more zero hextets (the first of equals) becomes `::`.
  let best = { at: -1, length: 1 };
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && hextets[j] === 0) j++;
    if (j - i > best.length) best = { at: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = hextets.map((h) => h.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.length).join(':')}`;
}

interface Cidr extends Address {
  prefix: number;
}

function mask(family: 4 | 6, prefix: number): bigint {
  const width = BigInt(WIDTH[family]);
  return ((1n << width) - 1n) ^ ((1n << (width - BigInt(prefix))) - 1n);
}

/**
 * One network as a person writes it (`192.0.2.0/24`, `2001:db8::/32`, or one address, taken as /32
 * or /128), in canonical form; a clear invalid_request for anything else, host bits included (a
 * typo in a prefix silently widening or narrowing a policy is worse than a refusal).
 */
export function canonicalCidr(input: string): string {
  const text = input.trim();
  const slash = text.indexOf('/');
  const address = parseAddress(slash < 0 ? text : text.slice(0, slash));
  if (address === undefined || /%/.test(text)) {
    throw new CoreError('invalid_request', `"${text}" is not a network: write an address with a prefix, e.g. 192.0.2.0/24 or 2001:db8::/32`);
  }
  const width = WIDTH[address.family];
  const prefixText = slash < 0 ? String(width) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > width) {
    throw new CoreError('invalid_request', `"${text}": the prefix length must be a whole number from 0 to ${width}`);
  }
  const prefix = Number(prefixText);
  const network = address.value & mask(address.family, prefix);
  if (network !== address.value) {
    throw new CoreError('invalid_request',
      `"${text}" has address bits set beyond its /${prefix} prefix; did you mean ${formatAddress({ family: address.family, value: network })}/${prefix}?`);
  }
  return `${formatAddress(address)}/${prefix}`;
}

/** A list of networks, canonical, duplicates dropped; at least one. */
export function canonicalCidrList(inputs: readonly string[]): string[] {
  if (inputs.length === 0) throw new CoreError('invalid_request', 'name at least one network');
  return [...new Set(inputs.map(canonicalCidr))];
}

function parseCidr(canonical: string): Cidr | undefined {
  const [address, prefix] = canonical.split('/');
  const a = address === undefined ? undefined : parseAddress(address);
  return a === undefined ? undefined : { ...a, prefix: Number(prefix) };
}

/** True when `ip` lies in one of the canonical networks (an IPv4-mapped address as its IPv4 address). */
export function inNetworks(ip: string, networks: readonly string[]): boolean {
  const a = parseAddress(ip);
  if (a === undefined) return false;
  return networks.some((text) => {
    const n = parseCidr(text);
    return n !== undefined && n.family === a.family && (a.value & mask(a.family, n.prefix)) === n.value;
  });
}
