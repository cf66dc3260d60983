// Where a request came from (README "Where a request came from"; RFC 8628 §5.4): the device and the
// person approving reach the server through a proxy (TRUST_PROXY=on) from two public addresses
// named in X-Forwarded-For. The consent page and the flow API show the device's request, warn when
// the approver is in another country or network, and "I didn't start this" denies and reports it.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { loggerOptions } from '../../src/http/logging.ts';
import type { Client, DeviceAuthorization } from '../../src/model/records.ts';
import { build, type TestApp } from '../helpers/build.ts';
import type { DeviceAuthorizationBody } from '../oauth/_support.ts';
import { sessionToken } from '../veeam/_support.ts';
import { alertText, assertHtmlPage, deviceSees, flowStatus, signedIn, unescapeHtml, type PageBrowser } from './_support.ts';

const CHECK = 'application/vnd.pingidentity.usernamePassword.check+json';
const VERIFY = 'application/vnd.pingidentity.deviceAuthGrant.userCode.verify+json';
const CONSENT = 'application/vnd.pingidentity.deviceAuthGrant.consent+json';
const PASSWORD = 'correct horse battery';

const GOOGLE = '8.8.8.8';
const GOOGLE_TOO = '8.8.4.4';
const QUAD9 = '9.9.9.9';
const HEISE = '193.99.144.80';
const TV = 'SmartTV/2.1 (Living room)';

interface Whereabouts { country: string | null; asn: number | null }
interface FlowBody {
  status: string;
  _embedded: {
    request?: {
      requestedAt: string; expiresAt: string; userAgent: string | null;
      source: { address: string | null; country: string | null; countryName: string | null; asn: number | null; network: string | null };
    };
    warnings?: { code: string; message: string; requester: Whereabouts; approver: Whereabouts }[];
  };
}

const from = (address: string, userAgent = 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0') => ({ 'x-forwarded-for': address, 'user-agent': userAgent });

async function proxied(t: Parameters<typeof build>[0], lines?: string[]) {
  const stream = new Writable({ write(chunk: Buffer, _enc, done) { lines?.push(chunk.toString('utf8')); done(); } });
  const h = await build(t, { env: { TRUST_PROXY: 'on' }, ...(lines ? { logger: { ...loggerOptions('info', false), stream } } : {}) });
  const client = await h.publicClient({ scope: 'openid profile' });
  await h.user('alice');
  return { h, client };
}

/** The device asks for a code from `headers`' address (asserts the 200). */
async function deviceFrom(h: TestApp, client: Client, headers: Record<string, string>): Promise<DeviceAuthorizationBody> {
  const res = await h.form('/oauth/device_authorization', { client_id: client.clientId }, headers);
  assert.equal(res.statusCode, 200, res.body);
  return res.json<DeviceAuthorizationBody>();
}

/** The person opens the link from `address`, signs in and confirms the code: the consent screen. */
async function consentFrom(h: TestApp, device: DeviceAuthorizationBody, address: string): Promise<PageBrowser> {
  const b = await signedIn(h, device.verification_uri_complete, 'alice', from(address));
  assertHtmlPage(await b.submit({ user_code: device.user_code }), 200);
  assert.match(b.body, /name="action" value="approve"/, 'the consent step');
  return b;
}

/** The page's words: inline tags dropped, other tags a space, entities decoded, spaces folded. */
const words = (body: string) =>
  unescapeHtml(body.replace(/<\/?(?:time|span|strong|a|code)\b[^>]*>/g, '').replace(/<[^>]*>/g, ' ')).replace(/\s+/g, ' ');

/** The flow of a page browser through the flow API, from `address`. */
function flowApi(h: TestApp, b: PageBrowser, address: string) {
  const flowId = b.field('flowId') ?? '';
  const url = `/${h.services.defaultEnv.id}/flows/${flowId}`;
  const headers = { ...from(address), cookie: b.cookie ?? '' };
  return {
    flowId,
    get: () => h.inject({ method: 'GET', url, headers }),
    post: (type: string, payload: object) => h.inject({ method: 'POST', url, headers: { ...headers, 'content-type': type }, payload: JSON.stringify(payload) }),
  };
}

async function stored(h: TestApp, userCode: string): Promise<DeviceAuthorization> {
  const d = await h.services.store.deviceAuthorizations.getByUserCodeHash(h.services.defaultEnv.id, h.services.secrets.hashCode('user', userCode.replace('-', '')));
  assert.ok(d, 'the device authorization');
  return d;
}

async function metric(h: TestApp, series: string): Promise<number | undefined> {
  const text = (await h.inject({ method: 'GET', url: '/metrics' })).body;
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const countryWarning = 'This request was made from another country (United States) than you are in now (Germany). '
  + 'If someone sent you this code or asked you to enter it, deny it.';

test('the consent page and the flow API say where and when the device asked, and warn an approver in another country', async (t) => {
  const lines: string[] = [];
  const { h, client } = await proxied(t, lines);
  const device = await deviceFrom(h, client, from(GOOGLE, `${TV}\u0007\r\n`));
  const requestedAt = h.clock.now();
  h.clock.advance(120);
  const b = await consentFrom(h, device, HEISE);

  const text = words(b.body);
  assert.match(text, new RegExp(`Requested 2 minutes ago from United States, Google LLC \\(8\\.8\\.8\\.8\\) · ${TV.replace(/[()]/g, '\\$&')} `));
  assert.match(text, /This code expires in 8 minutes\./);
  assert.match(b.body, new RegExp(`<time datetime="${new Date(requestedAt).toISOString()}" title="January 1, 2026 at 12:00 PM UTC">2 minutes ago</time>`));
  // The warning stands above the buttons, and all three stay.
  const warning = /<p class="mismatch" role="alert"><strong>([^<]*)<\/strong><\/p>/.exec(b.body);
  assert.equal(unescapeHtml(warning?.[1] ?? ''), countryWarning);
  assert.ok(b.body.indexOf('class="mismatch"') < b.body.indexOf('<form method="post"'));
  for (const action of ['approve', 'deny', 'report']) assert.match(b.body, new RegExp(`<button type="submit" name="action" value="${action}"`));
  assert.match(b.body, />I didn't start this<\/button>/);
  assert.match(b.body, /<a href="https:\/\/db-ip.com">IP Geolocation by DB-IP<\/a>/, 'the attribution DB-IP\'s licence asks for');
  assert.equal(alertText(b.body), undefined, 'the warning is not a form error');

  // The flow API says the same, computed for the request that reads the flow.
  const api = flowApi(h, b, HEISE);
  const read = (await api.get()).json<FlowBody>();
  const heise = h.services.geoIp.context(HEISE, undefined);
  assert.deepEqual(read._embedded.request, {
    requestedAt: new Date(requestedAt).toISOString(),
    expiresAt: new Date(requestedAt + client.codeLifetime * 1000).toISOString(),
    userAgent: TV,
    source: { address: GOOGLE, country: 'US', countryName: 'United States', asn: 15169, network: 'Google LLC' },
  });
  assert.deepEqual(read._embedded.warnings, [{
    code: 'LOCATION_MISMATCH', message: countryWarning, requester: { country: 'US', asn: 15169 }, approver: { country: 'DE', asn: heise.asn },
  }]);
  // Read from the device's own network, nothing differs.
  assert.deepEqual((await flowApi(h, b, GOOGLE_TOO).get()).json<FlowBody>()._embedded.warnings, []);

  // Approving stays possible; the approver's context and the warning are recorded with it.
  assert.equal((await b.submit({ action: 'approve' })).statusCode, 200);
  assert.match(b.body, /Device connected/);
  assert.equal(await deviceSees(h, device.device_code, client), 'token');
  const record = await stored(h, device.user_code);
  assert.deepEqual(record.requestContext, { address: GOOGLE, userAgent: TV, country: 'US', asn: 15169, network: 'Google LLC' });
  assert.deepEqual(record.approverContext, { ...heise, userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0' });
  assert.equal(record.locationMismatch, true);
  assert.equal(record.reportedAt, null);

  // Logs never hold either person's full address.
  const log = lines.join('');
  assert.ok(log.includes('"ip":"193.99.144.0/24"'), 'requests are logged with their /24');
  assert.ok(!log.includes(HEISE) && !log.includes(`"${GOOGLE}"`), 'no full address');
});

test('no warning when the approver is where the request came from; another network alone is the network warning', async (t) => {
  const { h, client } = await proxied(t);
  const same = await deviceFrom(h, client, from(GOOGLE, TV));
  const b = await consentFrom(h, same, GOOGLE_TOO);
  assert.doesNotMatch(b.body, /class="mismatch"/);
  assert.match(words(b.body), /Requested less than a minute ago from United States, Google LLC \(8\.8\.8\.8\)/);
  assert.match(words(b.body), /This code expires in 10 minutes\./);
  assert.deepEqual((await flowApi(h, b, GOOGLE_TOO).get()).json<FlowBody>()._embedded.warnings, []);
  assert.equal((await b.submit({ action: 'approve' })).statusCode, 200);
  assert.equal((await stored(h, same.user_code)).locationMismatch, false);

  // Same country, another autonomous system, through the flow API from start to end.
  const other = await deviceFrom(h, client, from(GOOGLE, TV));
  const start = await h.inject({ method: 'GET', url: `/${h.services.defaultEnv.id}/device`, headers: from(QUAD9) });
  const cookie = String(start.headers['set-cookie']).split(';')[0] ?? '';
  const url = `/${h.services.defaultEnv.id}/flows/${new URL(String(start.headers.location)).searchParams.get('flowId') ?? ''}`;
  const post = (type: string, payload: object) =>
    h.inject({ method: 'POST', url, headers: { ...from(QUAD9), cookie, 'content-type': type }, payload: JSON.stringify(payload) });
  assert.equal((await post(CHECK, { username: 'alice', password: PASSWORD })).statusCode, 200);
  const verified = await post(VERIFY, { userCode: other.user_code });
  assert.equal(verified.statusCode, 200, verified.body);
  const quad9 = h.services.geoIp.context(QUAD9, undefined);
  assert.equal(quad9.country, 'US');
  assert.deepEqual(verified.json<FlowBody>()._embedded.warnings, [{
    code: 'LOCATION_MISMATCH',
    message: `This request was made from another network (Google LLC) than you are on now (${quad9.network ?? ''}). If someone sent you this code or asked you to enter it, deny it.`,
    requester: { country: 'US', asn: 15169 },
    approver: { country: 'US', asn: quad9.asn },
  }]);
  const denied = await post(CONSENT, { accept: false });
  assert.equal(denied.json<FlowBody>().status, 'FAILED');
  const record = await stored(h, other.user_code);
  assert.deepEqual([record.status, record.locationMismatch, record.reportedAt, record.approverContext?.address], ['denied', true, null, QUAD9]);
  assert.equal(await deviceSees(h, other.device_code, client), 'access_denied');
});

test('"I didn\'t start this" on the page and {"report": true} in the flow API deny, record and count the report', async (t) => {
  const lines: string[] = [];
  const { h, client } = await proxied(t, lines);
  assert.equal(await metric(h, 'dcs_device_reports_total'), 0);

  const phished = await deviceFrom(h, client, from(GOOGLE, TV));
  h.clock.advance(30);
  const b = await consentFrom(h, phished, HEISE);
  const flowId = b.field('flowId') ?? '';
  const csrf = b.field('csrf') ?? '';
  const res = await b.submit({ action: 'report' });
  assertHtmlPage(res, 200);
  assert.match(b.body, /<h1 id="page-title">Request reported<\/h1>/);
  assert.match(words(b.body), /The request was denied and reported, so Test TV was not connected to your account\./);
  assert.match(words(b.body), /Don't enter codes that other people send you or ask you to enter/);
  assert.equal(await flowStatus(h, flowId), 'FAILED');
  assert.equal(await deviceSees(h, phished.device_code, client), 'access_denied');
  const record = await stored(h, phished.user_code);
  assert.equal(record.status, 'denied');
  assert.equal(record.reportedAt, h.clock.now());
  assert.equal(record.locationMismatch, true);
  assert.equal(record.approverContext?.country, 'DE');
  assert.equal(record.requestContext?.address, GOOGLE);
  assert.equal(await metric(h, 'dcs_device_reports_total'), 1);
  // A second press (Back, resubmit) changes nothing and counts nothing: the page shows where the flow is.
  assert.equal((await b.post({ action: 'report', flowId, csrf })).statusCode, 303);
  assert.equal(await metric(h, 'dcs_device_reports_total'), 1);

  // The flow API: the body is {accept} or {report: true}, nothing else.
  const second = await deviceFrom(h, client, from(GOOGLE, TV));
  const c = await consentFrom(h, second, GOOGLE_TOO);
  const api = flowApi(h, c, GOOGLE_TOO);
  for (const bad of [{ report: false }, { report: 'yes' }, { accept: true, report: true }, { report: true, reason: 'phishing' }, {}]) {
    const refused = await api.post(CONSENT, bad);
    assert.equal(refused.statusCode, 400, JSON.stringify(bad));
    assert.equal(refused.json<{ code: string }>().code, 'INVALID_DATA');
  }
  assert.equal(await flowStatus(h, api.flowId), 'DAG_CONSENT_REQUIRED', 'nothing changed');
  const reported = await api.post(CONSENT, { report: true });
  assert.equal(reported.statusCode, 200, reported.body);
  assert.equal(reported.json<FlowBody>().status, 'FAILED');
  assert.equal(await deviceSees(h, second.device_code, client), 'access_denied');
  const again = await stored(h, second.user_code);
  assert.deepEqual([again.status, again.locationMismatch, again.reportedAt], ['denied', false, h.clock.now()]);
  assert.equal((await api.post(CONSENT, { report: true })).statusCode, 400, 'a finished flow takes no second report');
  assert.equal(await metric(h, 'dcs_device_reports_total'), 2);
  assert.equal(await metric(h, 'dcs_verifications_total{step="consent",outcome="reported"}'), 2);

  // Each report is logged, with the reporter's /24 only.
  const reports = lines.filter((l) => l.includes('device request reported')).map((l) => JSON.parse(l) as { source: string });
  assert.deepEqual(reports.map((r) => r.source), ['193.99.144.0/24', '8.8.4.0/24']);
});

test('a forwarded address that is no address (garbage, a zone id, 100 hops) never breaks a request, and is unknown', async (t) => {
  const { h, client } = await proxied(t);
  const hops = [GOOGLE, ...Array.from({ length: 99 }, (_, i) => `10.0.${i}.1`)].join(', ');
  const cases: [string, string | null][] = [['garbage', null], ['fe80::1%eth0', null], ['[2001:db8::1]:443', null], ['::ffff:999.1.1.1', null], [hops, GOOGLE],
    // No address in the header at all: the socket's.
    [',,,', '127.0.0.1']];
  for (const [xff, address] of cases) {
    const device = await deviceFrom(h, client, { 'x-forwarded-for': xff, 'user-agent': '\u0000\u0007\u001b' });
    const record = await stored(h, device.user_code);
    assert.equal(record.requestContext?.address ?? null, address, xff.slice(0, 40));
    if (address === null) assert.equal(record.requestContext, null, 'nothing known: no address, no country, no network, no readable User-Agent');
  }
  const unknown = await deviceFrom(h, client, { 'x-forwarded-for': 'garbage' });
  const b = await consentFrom(h, unknown, 'also garbage');
  assert.match(words(b.body), /Requested less than a minute ago from an unknown address /);
  assert.doesNotMatch(b.body, /class="mismatch"/, 'nothing known, nothing to compare');
  assert.deepEqual((await flowApi(h, b, 'fe80::1%eth0').get()).json<FlowBody>()._embedded.request?.source,
    { address: null, country: null, countryName: null, asn: null, network: null });
});

test('without TRUST_PROXY the forwarded header is ignored: the socket is this machine, "this network"', async (t) => {
  const h = await build(t);
  const client = await h.publicClient({ scope: 'openid' });
  await h.user('alice');
  const device = await deviceFrom(h, client, from(GOOGLE, 'curl/8.5.0'));
  assert.deepEqual((await stored(h, device.user_code)).requestContext, { address: '127.0.0.1', userAgent: 'curl/8.5.0', country: null, asn: null, network: 'this network' });
  const b = await consentFrom(h, device, HEISE);
  assert.match(words(b.body), /Requested less than a minute ago from this network \(127\.0\.0\.1\) · curl\/8\.5\.0 /);
  assert.doesNotMatch(b.body, /class="mismatch"/);
});

test('Veeam getDeviceCode records where its caller is, like the device authorization endpoint', async (t) => {
  const { h } = await proxied(t);
  const token = await sessionToken(h, 'alice');
  const res = await h.inject({ method: 'GET', url: '/api/v1/accounts/created/getDeviceCode', headers: { authorization: `Bearer ${token}`, ...from(HEISE, 'Veeam.Backup/12.3') } });
  assert.equal(res.statusCode, 200, res.body);
  const record = await stored(h, res.json<{ userCode: string }>().userCode);
  assert.deepEqual(record.requestContext, { ...h.services.geoIp.context(HEISE, 'Veeam.Backup/12.3') });
  assert.equal(record.requestContext.country, 'DE');
});
