// Where a request came from (RFC 8628 §5.4; RFC 10027 on cross-device consent phishing): the
// source address, its country and network from offline databases opened once at start
// (open.ts), and the User-Agent made fit to show a person. Lookups are in memory and take
// microseconds; only the device authorization endpoints and the verification front ends ask.
import type { RequestContext } from '../model/records.ts';
import { parseAddress, type Address } from './address.ts';
import type { AsnRecord } from './asn-table.ts';

/** Longest User-Agent kept (README "Where a request came from"): enough to name a client and its version. */
export const USER_AGENT_MAX = 200;
/** Longest network (AS) name kept. */
const NETWORK_NAME_MAX = 100;

/** How the loopback and private ranges are named in place of a network: nothing to look up there. */
export const THIS_NETWORK = 'this network';
export const PRIVATE_NETWORK = 'a private network';

/** A link a database's licence asks pages that show its results to carry. */
export interface Attribution {
  text: string;
  href: string;
}

/** A country database: the ISO 3166-1 alpha-2 code of an address, or null. */
export type CountryLookup = (address: Address) => string | null;
/** A network database: the autonomous system of an address, or null. */
export type AsnLookup = (address: Address) => AsnRecord | null;

/**
 * Text from outside made fit to show and store: control and format characters (bidirectional
 * overrides, zero-width and soft hyphens included) removed, runs of spaces made one, at most `max`
 * characters (then an ellipsis); null when nothing is left.
 */
export function cleanText(raw: string | undefined, max: number): string | null {
  if (raw === undefined) return null;
  const text = raw.toWellFormed().replace(/\p{Cf}+/gu, '').replace(/[\p{Cc}\s]+/gu, ' ').trim();
  if (text === '') return null;
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('').trimEnd()}…`;
}

export function readableUserAgent(raw: string | undefined): string | null {
  return cleanText(raw, USER_AGENT_MAX);
}

export function networkName(raw: string): string | null {
  return cleanText(raw, NETWORK_NAME_MAX);
}

export class GeoIp {
  readonly #country: CountryLookup;
  readonly #asn: AsnLookup;
  readonly #warm: () => void;
  /** What the databases are, for the start-up log line. */
  readonly sources: Readonly<{ country: string; asn: string }>;
  /** Links the databases' licences ask of pages that show their results (the consent screen). */
  readonly attributions: readonly Attribution[];

  constructor(
    country: CountryLookup, asn: AsnLookup,
    o: { sources: { country: string; asn: string }; attributions?: readonly Attribution[]; warm?: () => void },
  ) {
    this.#country = country;
    this.#asn = asn;
    this.#warm = o.warm ?? (() => undefined);
    this.sources = Object.freeze({ ...o.sources });
    this.attributions = Object.freeze([...(o.attributions ?? [])]);
  }

  /**
   * Loads whatever is still loaded on first use (the shipped network table), so that a server has
   * it before its first request; throws a ConfigError when it is damaged.
   */
  warm(): void {
    this.#warm();
  }

  /**
   * The context of a request from `rawAddress` with `rawUserAgent`. Loopback and private addresses
   * are named, not looked up; an address that is none, or a lookup that fails, is unknown (null):
   * nothing a client sends can fail its request here.
   */
  context(rawAddress: string | undefined, rawUserAgent: string | undefined): RequestContext {
    const userAgent = readableUserAgent(rawUserAgent);
    const address = parseAddress(rawAddress);
    const unknown = { address: null, userAgent, country: null, asn: null, network: null };
    if (address === undefined) return unknown;
    if (address.kind !== 'public') {
      return { ...unknown, address: address.text, network: address.kind === 'loopback' ? THIS_NETWORK : PRIVATE_NETWORK };
    }
    let country: string | null = null;
    let as: AsnRecord | null = null;
    try {
      country = this.#country(address);
      as = this.#asn(address);
    } catch {
      // A damaged record in an operator's database: this address stays unknown, the request goes on.
    }
    return { address: address.text, userAgent, country, asn: as?.asn ?? null, network: as?.name ?? null };
  }
}
