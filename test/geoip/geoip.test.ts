// Where a request came from (README "Where a request came from"): lookups in the IP databases shipped
// as npm packages, the addresses that are named instead of looked up, the ones that are no address
// at all, User-Agents made fit to show, and the operator's own MaxMind files (GEOIP_COUNTRY_DB,
// GEOIP_ASN_DB), which replace the shipped ones or, missing or damaged, stop the start naming their
// variable.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../src/config.ts';
import { parseAddress, truncateAddress } from '../../src/geoip/address.ts';
import { AsnTable } from '../../src/geoip/asn-table.ts';
import { cleanText, PRIVATE_NETWORK, readableUserAgent, THIS_NETWORK, USER_AGENT_MAX } from '../../src/geoip/geoip.ts';
import { openGeoIp } from '../../src/geoip/open.ts';
import { openServices } from '../../src/services.ts';
import { runCli } from '../cli/run.ts';
import { tempDir, testConfig } from '../helpers/build.ts';
import { writeMmdb } from '../helpers/mmdb.ts';

const shipped = openGeoIp({ countryDb: undefined, asnDb: undefined });
const lookup = (address: string) => shipped.context(address, undefined);

test('the shipped databases place public addresses, IPv4 and IPv6, in a country and a network', () => {
  assert.deepEqual(lookup('8.8.8.8'), { address: '8.8.8.8', userAgent: null, country: 'US', asn: 15169, network: 'Google LLC' });
  const heise = lookup('193.99.144.80');
  assert.equal(heise.country, 'DE');
  assert.match(heise.network ?? '', /Plus\.line/, 'the network that announces heise.de');
  assert.ok(Number.isInteger(heise.asn) && (heise.asn ?? 0) > 0);
  assert.deepEqual(lookup('2001:4860:4860::8888'), { address: '2001:4860:4860::8888', userAgent: null, country: 'US', asn: 15169, network: 'Google LLC' });
  const heise6 = lookup('2A02:2E0:3FE:1001:302::');
  assert.equal(heise6.address, '2a02:2e0:3fe:1001:302::', 'IPv6 shown in lower case');
  assert.equal(heise6.country, 'DE');
  assert.equal(heise6.asn, heise.asn, 'one network for both families');
  // A dual-stack socket's view of an IPv4 client is that client.
  assert.deepEqual(lookup('::ffff:8.8.8.8'), lookup('8.8.8.8'));
  assert.equal(lookup('1.1.1.1').network, 'Cloudflare, Inc.', 'a quoted name with a comma');
  // Public by its class, listed by no database: known address, unknown place.
  assert.deepEqual(lookup('255.255.255.255'), { address: '255.255.255.255', userAgent: null, country: null, asn: null, network: null });
});

test('loopback and private addresses are named, not looked up', () => {
  for (const address of ['127.0.0.1', '127.255.0.9', '::1']) {
    assert.deepEqual(lookup(address), { address, userAgent: null, country: null, asn: null, network: THIS_NETWORK }, address);
  }
  for (const address of ['10.1.2.3', '172.16.0.1', '172.31.255.254', '192.168.1.20', '100.64.0.1', '169.254.1.1', 'fd12:3456::1', 'fe80::1', '0.0.0.0']) {
    assert.deepEqual(lookup(address), { address, userAgent: null, country: null, asn: null, network: PRIVATE_NETWORK }, address);
  }
  assert.equal(lookup('172.32.0.1').network === PRIVATE_NETWORK, false, 'just outside 172.16.0.0/12');
  assert.equal(lookup('::ffff:192.168.0.1').network, PRIVATE_NETWORK, 'IPv4-mapped');
});

test('anything that is not an address is unknown, never an error', () => {
  const unknown = { address: null, userAgent: null, country: null, asn: null, network: null };
  const hops = Array.from({ length: 100 }, (_, i) => `8.8.${i}.8`).join(', ');
  for (const raw of ['', ' ', 'garbage', 'unknown', '8.8.8.8, 9.9.9.9', hops, 'fe80::1%eth0', '2001:db8::1%25en0', '999.1.1.1', '8.8.8.8:443',
    '[2001:db8::1]', '::ffff:999.1.1.1', '1:2:3:4:5:6:7:8:9', 'a'.repeat(10_000), '\u0000', '8.8.8.8\n']) {
    assert.deepEqual(shipped.context(raw, undefined), { ...unknown, ...(raw === '8.8.8.8\n' ? lookup('8.8.8.8') : {}) }, JSON.stringify(raw.slice(0, 40)));
  }
  assert.deepEqual(shipped.context(undefined, undefined), unknown);
  assert.equal(parseAddress('2001:db8::1%eth0'), undefined, 'a zone id names an interface of the sender, nothing on the Internet');
});

test('User-Agents: control and format characters removed, spaces folded, at most 200 characters', () => {
  assert.equal(readableUserAgent('curl/8.5.0'), 'curl/8.5.0');
  assert.equal(readableUserAgent(undefined), null);
  assert.equal(readableUserAgent(' \t\r\n '), null);
  assert.equal(readableUserAgent('evil\r\nSet-Cookie: x\u0007'), 'evil Set-Cookie: x');
  // A right-to-left override would make "exe.txt" read as "txt.exe"; zero-width characters hide in names.
  assert.equal(readableUserAgent('report\u202Etxt.exe Chro\u200Bme'), 'reporttxt.exe Chrome');
  const long = readableUserAgent(`Mozilla/5.0 ${'x'.repeat(1000)}`) ?? '';
  assert.equal(Array.from(long).length, USER_AGENT_MAX);
  assert.ok(long.endsWith('…'));
  assert.equal(cleanText('😀'.repeat(300), 10), `${'😀'.repeat(9)}…`, 'cut between characters, not inside one');
});

test('addresses in logs keep their /24 (IPv4) or /48 (IPv6)', () => {
  assert.equal(truncateAddress('203.0.113.77'), '203.0.113.0/24');
  assert.equal(truncateAddress('::ffff:203.0.113.77'), '203.0.113.0/24');
  assert.equal(truncateAddress('2001:db8:1234:5678::1'), '2001:db8:1234::/48');
  assert.equal(truncateAddress('garbage'), 'invalid');
  assert.equal(truncateAddress(undefined), undefined);
});

test('the network table: ranges found at their edges, quoted names, the odd overlap clipped, disorder refused', () => {
  const v4 = Buffer.from([
    '16777216,16777471,13335,"Cloudflare, Inc."',
    '16777472,16777727,64500,"Quote ""Net"""',
    '16777600,16777983,64501,Overlapping AS', // starts inside the previous range: only its own tail counts
    '16778240,16779263,64502,Plain\r',
    '',
  ].join('\n'));
  const v6 = Buffer.from('2001:db8::,2001:db8::ffff,64510,Six\n2001:db8:1::,2001:db8:1:ffff:ffff:ffff:ffff:ffff,64511,Six B\n');
  const table = AsnTable.parse(v4, v6, (s) => s);
  assert.equal(table.size, 6);
  assert.deepEqual(table.lookup([16777216]), { asn: 13335, name: 'Cloudflare, Inc.' });
  assert.deepEqual(table.lookup([16777471]), { asn: 13335, name: 'Cloudflare, Inc.' });
  assert.deepEqual(table.lookup([16777600]), { asn: 64500, name: 'Quote "Net"' }, 'the earlier range keeps the shared addresses');
  assert.deepEqual(table.lookup([16777800]), { asn: 64501, name: 'Overlapping AS' });
  assert.equal(table.lookup([16777984]), null, 'a gap');
  assert.equal(table.lookup([16777215]), null, 'before the first range');
  assert.deepEqual(table.lookup([16779263]), { asn: 64502, name: 'Plain' });
  assert.equal(table.lookup([16779264]), null, 'after the last range');
  const six = parseAddress('2001:db8::ffff')?.words ?? [];
  assert.deepEqual(table.lookup(six), { asn: 64510, name: 'Six' });
  assert.equal(table.lookup(parseAddress('2001:db8::1:0')?.words ?? []), null);
  assert.deepEqual(table.lookup(parseAddress('2001:db8:1:abcd::')?.words ?? []), { asn: 64511, name: 'Six B' });

  assert.throws(() => AsnTable.parse(Buffer.from('16777472,16777727,1,B\n16777216,16777471,2,A\n'), v6, (s) => s), /IPv4 table: line 2: .*ascending/);
  assert.throws(() => AsnTable.parse(Buffer.from('1,2,x,A\n'), v6, (s) => s), /line 1: the ASN is not a number/);
  assert.throws(() => AsnTable.parse(v4, Buffer.from('2001:db8::,nope,1,A\n'), (s) => s), /IPv6 table: line 1: not an address range/);
  assert.throws(() => AsnTable.parse(Buffer.from('\x89PNG\r\n'), v6, (s) => s), /line 1/);
});

test('GEOIP_COUNTRY_DB and GEOIP_ASN_DB: an operator\'s MaxMind files replace the shipped databases', (t) => {
  const dir = tempDir(t);
  const asnDb = path.join(dir, 'GeoLite2-ASN.mmdb');
  writeFileSync(asnDb, writeMmdb('GeoLite2-ASN', {
    '8.8.8.0/24': { autonomous_system_number: 64_500, autonomous_system_organization: 'Example\u202E Transit' },
    '193.99.144.0/20': { autonomous_system_number: 4_200_000_000, autonomous_system_organization: 'Private Use 32-bit' },
  }));
  const countryDb = path.join(dir, 'GeoLite2-Country.mmdb');
  writeFileSync(countryDb, writeMmdb('GeoLite2-Country', {
    '8.8.8.0/24': { country: { iso_code: 'CH', names: { en: 'Switzerland' } } },
    '193.99.144.0/20': { registered_country: { iso_code: 'AT' } },
    '9.9.9.0/24': { country: { iso_code: 'not a code' } },
  }));
  const geo = openGeoIp({ countryDb, asnDb });
  assert.deepEqual(geo.context('8.8.8.8', 'x'), { address: '8.8.8.8', userAgent: 'x', country: 'CH', asn: 64_500, network: 'Example Transit' });
  assert.deepEqual(geo.context('193.99.144.80', undefined), { address: '193.99.144.80', userAgent: null, country: 'AT', asn: 4_200_000_000, network: 'Private Use 32-bit' });
  assert.deepEqual(geo.context('9.9.9.9', undefined), { address: '9.9.9.9', userAgent: null, country: null, asn: null, network: null }, 'what the files do not say is unknown');
  assert.deepEqual(geo.context('2001:4860:4860::8888', undefined).country, null, 'IPv6 beyond the operator\'s IPv4 networks');
  assert.equal(geo.attributions.length, 0, 'no DB-IP link for an operator\'s own network data');
  assert.deepEqual(shipped.attributions, [{ text: 'IP Geolocation by DB-IP', href: 'https://db-ip.com' }]);

  // Only the network file replaced: countries still come from the shipped database.
  const mixed = openGeoIp({ countryDb: undefined, asnDb });
  assert.deepEqual(mixed.context('8.8.8.8', undefined), { address: '8.8.8.8', userAgent: null, country: 'US', asn: 64_500, network: 'Example Transit' });
});

test('a missing or damaged GEOIP_* file stops the start with a message naming the variable', async (t) => {
  const dir = tempDir(t);
  const missing = path.join(dir, 'nowhere.mmdb');
  const garbage = path.join(dir, 'garbage.mmdb');
  writeFileSync(garbage, Buffer.alloc(4096, 7));
  // A real database cut in half: its metadata (at the end) is gone.
  const shippedCountry = createRequire(import.meta.url).resolve('@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb');
  const truncated = path.join(dir, 'truncated.mmdb');
  writeFileSync(truncated, writeMmdb('GeoLite2-ASN', { '8.8.8.0/24': { autonomous_system_number: 1 } }).subarray(0, 40));

  for (const variable of ['GEOIP_COUNTRY_DB', 'GEOIP_ASN_DB'] as const) {
    for (const [file, why] of [[missing, /cannot read .*nowhere\.mmdb \(ENOENT\)/], [garbage, /is not a MaxMind database/], [truncated, /is not a MaxMind database/], [dir, /cannot read .* \(EISDIR\)/]] as const) {
      const config = testConfig(path.join(dir, 'data'), { [variable]: file });
      await assert.rejects(openServices(config), (err: unknown) => {
        assert.ok(err instanceof ConfigError, String(err));
        assert.match(err.message, new RegExp(`^${variable}: `));
        assert.match(err.message, why);
        return true;
      });
    }
  }
  // The shipped file named explicitly is a fine database too.
  assert.equal(openGeoIp({ countryDb: shippedCountry, asnDb: undefined }).context('8.8.8.8', undefined).country, 'US');

  // The command says so and exits 1, before it opens anything.
  const run = await runCli(tempDir(t), ['serve'], { env: { GEOIP_ASN_DB: garbage, PORT: '0' } });
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /GEOIP_ASN_DB: .*garbage\.mmdb is not a MaxMind database/);
});
