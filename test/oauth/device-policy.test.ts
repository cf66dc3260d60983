// Device policy (README "Device policy"): the networks a client's device authorizations must come
// from, the most its device logins may ask for, and same-network approval on the page and the flow
// API, with the source address taken from X-Forwarded-For under TRUST_PROXY=on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalCidr, inNetworks } from '../../src/core/networks.ts';
import type { Client } from '../../src/model/records.ts';
import { build, type TestApp } from '../helpers/build.ts';
import { alertText, assertHtmlPage, deviceSees, PageBrowser, PASSWORD } from '../pages/_support.ts';
import { assertOAuthError, type DeviceAuthorizationBody } from './_support.ts';

test('networks are written as CIDRs or single addresses, canonical; anything else is refused with a reason', () => {
  assert.equal(canonicalCidr(' 192.0.2.0/24 '), '192.0.2.0/24');
  assert.equal(canonicalCidr('203.0.113.7'), '203.0.113.7/32');
  assert.equal(canonicalCidr('2001:DB8::/32'), '2001:db8::/32');
  assert.equal(canonicalCidr('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1/128');
  assert.equal(canonicalCidr('0.0.0.0/0'), '0.0.0.0/0');
  assert.equal(canonicalCidr('::/0'), '::/0');
  assert.throws(() => canonicalCidr('10.1.2.3/8'), /beyond its \/8 prefix; did you mean 10\.0\.0\.0\/8\?/);
  assert.throws(() => canonicalCidr('2001:db8::1/32'), /did you mean 2001:db8::\/32\?/);
  for (const bad of ['300.1.1.1/8', 'example.com', 'fe80::1%eth0/64', '']) {
    assert.throws(() => canonicalCidr(bad), /is not a network/, bad);
  }
  for (const bad of ['10.0.0.0/33', '10.0.0.0/-1', '2001:db8::/129', '10.0.0.0/', '10.0.0.0/8a', '10.0.0.0/8/9']) {
    assert.throws(() => canonicalCidr(bad), /prefix length must be a whole number/, bad);
  }
  assert.equal(inNetworks('192.0.2.55', ['192.0.2.0/24']), true);
  assert.equal(inNetworks('::ffff:192.0.2.55', ['192.0.2.0/24']), true, 'an IPv4-mapped address is its IPv4 address');
  assert.equal(inNetworks('192.0.3.1', ['192.0.2.0/24']), false);
  assert.equal(inNetworks('2001:db8:1::5', ['10.0.0.0/8', '2001:db8::/32']), true);
  assert.equal(inNetworks('2001:db9::5', ['2001:db8::/32']), false);
  assert.equal(inNetworks('2001:db8::5', ['0.0.0.0/0']), false, 'families never mix');
  assert.equal(inNetworks('not an address', ['0.0.0.0/0']), false);
});

/** A device authorization from `from` (X-Forwarded-For; the server trusts the proxy). */
function authorize(h: TestApp, client: Client, from: string, scope?: string) {
  return h.form('/oauth/device_authorization', { client_id: client.clientId, ...(scope === undefined ? {} : { scope }) }, { 'x-forwarded-for': from });
}

test('a client with device networks: a device authorization from outside them is 400 unauthorized_client; inside, a code', async (t) => {
  const h = await build(t, { env: { TRUST_PROXY: 'on' } });
  const { client } = await h.services.admin.createClient({
    envId: h.services.defaultEnv.id, name: 'Lobby TV', deviceNetworks: ['203.0.113.0/24', '2001:db8:1::/48'],
  });
  assert.deepEqual(client.devicePolicy.networks, ['203.0.113.0/24', '2001:db8:1::/48']);
  const refused = assertOAuthError(await authorize(h, client, '198.51.100.7'), 400, 'unauthorized_client');
  assert.match(refused.error_description ?? '', /device's network/);
  assertOAuthError(await authorize(h, client, '2001:db8:2::1'), 400, 'unauthorized_client');
  assert.equal((await authorize(h, client, '203.0.113.200')).statusCode, 200);
  assert.equal((await authorize(h, client, '2001:db8:1:5::9')).statusCode, 200);
  // Without TRUST_PROXY the header is not believed: the socket's address (127.0.0.1 under inject) counts.
  const direct = await build(t);
  const { client: strict } = await direct.services.admin.createClient({ envId: direct.services.defaultEnv.id, name: 'TV', deviceNetworks: ['203.0.113.0/24'] });
  assertOAuthError(await authorize(direct, strict, '203.0.113.9'), 400, 'unauthorized_client');
});

test('environment defaults apply to clients without their own policy, at once; a client\'s own networks and scopes win', async (t) => {
  const h = await build(t, { env: { TRUST_PROXY: 'on' } });
  const envId = h.services.defaultEnv.id;
  const plain = await h.publicClient({ scope: 'openid profile email' });
  const { client: own } = await h.services.admin.createClient({
    envId, name: 'Own', scope: 'openid profile email', deviceNetworks: ['198.51.100.0/24'], deviceScopes: 'openid email',
  });
  // Set the way `env update` does, by another process: the server sees it at the next device authorization.
  await h.services.admin.setDeviceDefaults(h.services.defaultEnv, { deviceNetworks: ['203.0.113.0/24'], deviceScopes: 'openid' });
  assertOAuthError(await authorize(h, plain, '198.51.100.7'), 400, 'unauthorized_client');
  const started = await authorize(h, plain, '203.0.113.7');
  assert.equal(started.statusCode, 200, started.body);
  assert.equal((await h.services.store.deviceAuthorizations.getByDeviceCodeHash(
    h.services.secrets.hashCode('device', started.json<DeviceAuthorizationBody>().device_code)))?.scope, 'openid', 'an omitted scope is what the ceiling allows');
  assertOAuthError(await authorize(h, plain, '203.0.113.7', 'openid profile'), 400, 'invalid_scope');
  assertOAuthError(await authorize(h, own, '203.0.113.7'), 400, 'unauthorized_client');
  assert.equal((await authorize(h, own, '198.51.100.7', 'openid email')).statusCode, 200);
  // Lifted again: any network, any of the client's scopes.
  await h.services.admin.setDeviceDefaults(h.services.defaultEnv, { deviceNetworks: null, deviceScopes: null });
  assert.equal((await authorize(h, plain, '198.51.100.7', 'openid profile')).statusCode, 200);
});

test('device scopes: asking for more than the ceiling is invalid_scope; within it, or omitted, a code', async (t) => {
  const h = await build(t);
  const { client } = await h.services.admin.createClient({
    envId: h.services.defaultEnv.id, name: 'TV', scope: 'openid profile email', deviceScopes: 'openid profile',
  });
  const wide = assertOAuthError(await h.form('/oauth/device_authorization', { client_id: client.clientId, scope: 'openid email' }), 400, 'invalid_scope');
  assert.match(wide.error_description ?? '', /beyond what this client's device logins may ask for: email/);
  assertOAuthError(await h.form('/oauth/device_authorization', { client_id: client.clientId, scope: 'openid admin' }), 400, 'invalid_scope');
  assert.equal((await h.form('/oauth/device_authorization', { client_id: client.clientId, scope: 'openid' })).statusCode, 200);
  const omitted = await h.form('/oauth/device_authorization', { client_id: client.clientId });
  assert.equal(omitted.statusCode, 200);
  const stored = await h.services.store.deviceAuthorizations.getByDeviceCodeHash(h.services.secrets.hashCode('device', omitted.json<DeviceAuthorizationBody>().device_code));
  assert.equal(stored?.scope, 'openid profile');
  // A ceiling beyond the client's scopes is refused where it is set.
  await assert.rejects(h.services.admin.createClient({ envId: h.services.defaultEnv.id, name: 'X', scope: 'openid', deviceScopes: 'openid email' }),
    { code: 'invalid_scope', message: /among the client's scopes/ });
});

test('a ceiling narrowed after approval: the device gets access_denied at redemption', async (t) => {
  const h = await build(t);
  const { client } = await h.services.admin.createClient({ envId: h.services.defaultEnv.id, name: 'TV', scope: 'openid profile' });
  const user = await h.user('alice');
  const started = (await h.form('/oauth/device_authorization', { client_id: client.clientId, scope: 'openid profile' })).json<DeviceAuthorizationBody>();
  const device = await h.services.deviceFlow.findPendingByUserCode(h.services.defaultEnv, started.user_code);
  await h.services.deviceFlow.decide(device, user, true);
  await h.services.admin.updateClient(h.services.defaultEnv.id, client.clientId, { deviceScopes: 'openid' });
  assert.equal(await deviceSees(h, started.device_code, client), 'access_denied');
});

const VERIFY = 'application/vnd.pingidentity.deviceAuthGrant.userCode.verify+json';
const CHECK = 'application/vnd.pingidentity.usernamePassword.check+json';
const CONSENT = 'application/vnd.pingidentity.deviceAuthGrant.consent+json';

/** The flow API from `from`: a flow, signed in, then the code; returns the code step's answer. */
async function flowApiCode(h: TestApp, from: string, userCode: string): Promise<{ status: number; body: Record<string, unknown>; step: (type: string, body: object) => Promise<{ statusCode: number; body: string }> }> {
  const xff = { 'x-forwarded-for': from };
  const start = await h.inject({ method: 'GET', url: '/device', headers: xff });
  assert.equal(start.statusCode, 302);
  const flowId = new URL(String(start.headers.location)).searchParams.get('flowId') ?? '';
  const cookie = String(start.headers['set-cookie']).split(';')[0] ?? '';
  const envId = h.services.defaultEnv.id;
  const step = (type: string, body: object) => h.inject({
    method: 'POST', url: `/${envId}/flows/${flowId}`, headers: { ...xff, 'content-type': type, cookie }, payload: JSON.stringify(body),
  });
  assert.equal((await step(CHECK, { username: 'alice', password: PASSWORD })).statusCode, 200);
  const res = await step(VERIFY, { userCode });
  return { status: res.statusCode, body: res.json<Record<string, unknown>>(), step };
}

/** The page from `from`: opens verification_uri_complete, signs in, submits the code; returns the browser. */
async function pageCode(h: TestApp, from: string, started: DeviceAuthorizationBody): Promise<PageBrowser> {
  const b = new PageBrowser(h);
  b.headers = { 'x-forwarded-for': from };
  assertHtmlPage(await b.open(started.verification_uri_complete), 200);
  assertHtmlPage(await b.submit({ username: 'alice', password: PASSWORD }), 200);
  await b.submit({ action: 'code', user_code: started.user_code });
  return b;
}

test('same network: an approver on another network is refused on the page (a message above the code form) and the flow API (NETWORK_MISMATCH)', async (t) => {
  const h = await build(t, { env: { TRUST_PROXY: 'on' } });
  const { client } = await h.services.admin.createClient({ envId: h.services.defaultEnv.id, name: 'Living-room TV', sameNetwork: true });
  await h.user('alice');
  const started = (await authorize(h, client, '203.0.113.7')).json<DeviceAuthorizationBody>();
  assert.equal((await h.services.store.deviceAuthorizations.getByDeviceCodeHash(h.services.secrets.hashCode('device', started.device_code)))?.sourceNetwork,
    '203.0.113.7');

  const page = await pageCode(h, '198.51.100.9', started);
  const body = assertHtmlPage(page.last ?? assert.fail('no page'), 400);
  assert.match(alertText(body) ?? '', /only be approved from the same network as the device/);
  assert.match(body, /name="action" value="code"/, 'the code form is shown again, below the message');
  assert.ok(alertText(body) !== undefined && body.indexOf(alertText(body) ?? '') < body.indexOf('value="code"'), 'the message is above the form');

  const api = await flowApiCode(h, '198.51.100.9', started.user_code);
  assert.equal(api.status, 400);
  assert.equal(api.body.code, 'INVALID_DATA');
  const [detail] = api.body.details as { code: string; target: string; message: string }[];
  assert.equal(detail?.code, 'NETWORK_MISMATCH');
  assert.equal(detail.target, 'userCode');
  assert.match(detail.message, /network of the device/);
  // Refusals spend no guess and fail nothing: the device is still pending.
  assert.equal(await deviceSees(h, started.device_code, client), 'authorization_pending');
  // An IPv4-mapped form of the device's address is the same network.
  const mapped = await flowApiCode(h, '::ffff:203.0.113.7', started.user_code);
  assert.equal(mapped.status, 200, JSON.stringify(mapped.body));
  assert.equal((await mapped.step(CONSENT, { accept: true })).statusCode, 200);
  h.clock.advance(5);
  assert.equal(await deviceSees(h, started.device_code, client), 'token');
});

test('same network over IPv6: any address of the device\'s /64 approves on the page; another /64 is refused', async (t) => {
  const h = await build(t, { env: { TRUST_PROXY: 'on' } });
  const { client } = await h.services.admin.createClient({ envId: h.services.defaultEnv.id, name: 'TV', sameNetwork: true });
  await h.user('alice');
  const started = (await authorize(h, client, '2001:db8:aa:1::10')).json<DeviceAuthorizationBody>();
  const elsewhere = await pageCode(h, '2001:db8:aa:2::20', started);
  assert.equal(elsewhere.last?.statusCode, 400);
  const home = await pageCode(h, '2001:db8:aa:1:abcd::99', started);
  assert.match(home.body, /name="action" value="approve"/, 'the consent step');
  await home.submit({ action: 'approve' });
  assert.equal(await deviceSees(h, started.device_code, client), 'token');
});

test('same network: a device authorization whose network is unknown cannot be approved from anywhere; other clients are not affected', async (t) => {
  const h = await build(t, { env: { TRUST_PROXY: 'on' } });
  const env = h.services.defaultEnv;
  const { client } = await h.services.admin.createClient({ envId: env.id, name: 'TV', sameNetwork: true });
  await h.user('alice');
  // Started by the engine without a source (as before migration 011 stored one).
  const unknown = await h.services.deviceFlow.start(env, client, undefined);
  assert.equal((await flowApiCode(h, '203.0.113.7', unknown.userCode)).status, 400);
  const plain = await h.publicClient();
  const started = (await authorize(h, plain, '203.0.113.7')).json<DeviceAuthorizationBody>();
  assert.equal((await flowApiCode(h, '198.51.100.9', started.user_code)).status, 200, 'a client without the rule');
});
