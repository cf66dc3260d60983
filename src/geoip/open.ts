// Opens the IP databases once per process (README "Where a request came from"): by default the ones
// shipped as npm packages, @ip-location-db/geo-whois-asn-country-mmdb for countries and
// @ip-location-db/asn for networks; GEOIP_COUNTRY_DB and GEOIP_ASN_DB name an operator's own MaxMind
// .mmdb files instead (GeoLite2/GeoIP2 Country or City, and GeoLite2/GeoIP2 ASN). A file that is
// missing or is no such database stops the start with a ConfigError naming its variable.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Reader, type Response } from 'mmdb-lib';
import { ConfigError } from '../config.ts';
import type { Address } from './address.ts';
import { AsnTable, type AsnRecord } from './asn-table.ts';
import { GeoIp, networkName, type AsnLookup, type Attribution, type CountryLookup } from './geoip.ts';

export interface GeoIpFiles {
  /** GEOIP_COUNTRY_DB: a MaxMind Country or City .mmdb; the shipped database when undefined. */
  countryDb: string | undefined;
  /** GEOIP_ASN_DB: a MaxMind ASN .mmdb; the shipped table when undefined. */
  asnDb: string | undefined;
}

const require = createRequire(import.meta.url);
const SHIPPED_COUNTRY = '@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb';
const SHIPPED_ASN_V4 = '@ip-location-db/asn/asn-ipv4-num.csv';
const SHIPPED_ASN_V6 = '@ip-location-db/asn/asn-ipv6.csv';

// One copy per process, whatever opens services how often (the CLI, every app a test builds).
const opened = new Map<string, GeoIp>();

export function openGeoIp(files: GeoIpFiles): GeoIp {
  const key = JSON.stringify([files.countryDb ?? null, files.asnDb ?? null]);
  let geo = opened.get(key);
  if (geo === undefined) {
    const country = files.countryDb === undefined ? shippedCountry() : operatorCountry(files.countryDb);
    const asn = files.asnDb === undefined ? shippedAsn() : operatorAsn(files.asnDb);
    geo = new GeoIp(country.lookup, asn.lookup, {
      sources: { country: country.source, asn: asn.source }, attributions: asn.attributions, warm: asn.warm,
    });
    opened.set(key, geo);
  }
  return geo;
}

/** The file a package ships, or a ConfigError saying how to do without it. */
function shippedFile(specifier: string, variable: string): string {
  try {
    return require.resolve(specifier);
  } catch {
    throw new ConfigError(`${variable}: the shipped IP database ${specifier} is missing (run npm install, or set ${variable} to a MaxMind .mmdb file)`);
  }
}

function read(variable: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`${variable}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** An .mmdb reader, refused at start when the file is not one or its search tree cannot be walked. */
function mmdb(variable: string, file: string): Reader<Response> {
  try {
    const reader = new Reader<Response>(read(variable, file));
    // A probe of each family walks the tree: a truncated or overwritten file fails here, not on a request.
    reader.get('8.8.8.8');
    if (reader.metadata.ipVersion === 6) reader.get('2001:4860:4860::8888');
    return reader;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${variable}: ${file} is not a MaxMind database (.mmdb): ${(err as Error).message}`, { cause: err });
  }
}

/** The reader's view of an address: mmdb-lib reads text, and an IPv6 address from an IPv4-only file is unknown. */
function record(reader: Reader<Response>, address: Address): Record<string, unknown> | null {
  if (address.words.length === 4 && reader.metadata.ipVersion !== 6) return null;
  return reader.get(address.text) as Record<string, unknown> | null;
}

const isCountryCode = (v: unknown): v is string => typeof v === 'string' && /^[A-Z]{2}$/.test(v);

function isoCode(v: unknown): string | null {
  const code = typeof v === 'object' && v !== null && 'iso_code' in v ? v.iso_code : undefined;
  return isCountryCode(code) ? code : null;
}

/** The country of a record: GeoIP2's `country.iso_code` (else `registered_country`), or ip-location-db's `country_code`. */
function countryOf(r: Record<string, unknown> | null): string | null {
  if (r === null) return null;
  return isoCode(r.country) ?? isoCode(r.registered_country) ?? (isCountryCode(r.country_code) ? r.country_code : null);
}

/** GeoLite2-ASN's `autonomous_system_number` and `autonomous_system_organization`. */
function asnOf(r: Record<string, unknown> | null): AsnRecord | null {
  const asn = r?.autonomous_system_number;
  if (typeof asn !== 'number' || !Number.isInteger(asn) || asn <= 0) return null;
  const org = r?.autonomous_system_organization;
  return { asn, name: typeof org === 'string' ? networkName(org) : null };
}

function shippedCountry(): { lookup: CountryLookup; source: string } {
  const reader = mmdb('GEOIP_COUNTRY_DB', shippedFile(SHIPPED_COUNTRY, 'GEOIP_COUNTRY_DB'));
  return { lookup: (a) => countryOf(record(reader, a)), source: '@ip-location-db/geo-whois-asn-country-mmdb' };
}

function operatorCountry(file: string): { lookup: CountryLookup; source: string } {
  const reader = mmdb('GEOIP_COUNTRY_DB', file);
  return { lookup: (a) => countryOf(record(reader, a)), source: file };
}

/**
 * The shipped network table: its files are found at open, and parsed (a few hundred milliseconds)
 * when first needed or when the server warms it before listening (GeoIp.warm), so commands and
 * tests that never look an address up never pay for it.
 */
function shippedAsn(): { lookup: AsnLookup; warm: () => void; source: string; attributions: Attribution[] } {
  const v4 = shippedFile(SHIPPED_ASN_V4, 'GEOIP_ASN_DB');
  const v6 = shippedFile(SHIPPED_ASN_V6, 'GEOIP_ASN_DB');
  let table: AsnTable | undefined;
  const load = (): AsnTable => {
    try {
      table ??= AsnTable.parse(read('GEOIP_ASN_DB', v4), read('GEOIP_ASN_DB', v6), networkName);
      return table;
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(`GEOIP_ASN_DB: the shipped network table @ip-location-db/asn is damaged (${(err as Error).message}); reinstall it, or set GEOIP_ASN_DB to a MaxMind ASN .mmdb file`, { cause: err });
    }
  };
  return {
    lookup: (a) => load().lookup(a.words), warm: () => { load(); }, source: '@ip-location-db/asn',
    // DB-IP's licence (CC BY 4.0, node_modules/@ip-location-db/asn/DBIP-LICENSE) asks web pages that
    // show its results for this link; the network names come from it.
    attributions: [{ text: 'IP Geolocation by DB-IP', href: 'https://db-ip.com' }],
  };
}

function operatorAsn(file: string): { lookup: AsnLookup; warm: () => void; source: string; attributions: Attribution[] } {
  const reader = mmdb('GEOIP_ASN_DB', file);
  return { lookup: (a) => asnOf(record(reader, a)), warm: () => undefined, source: file, attributions: [] };
}
