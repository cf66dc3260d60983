// The browser binding (docs/protocol.md): served over https, the browser binding is a __Host- cookie (Secure, Path=/, no Domain),
// which no sibling subdomain or plain-http page can plant; only the current mode's name is read.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { build } from '../helpers/build.ts';
import { assertHtmlPage, deviceSees, deviceStarts, PageBrowser, PASSWORD } from './_support.ts';

const HTTPS = { PUBLIC_URL: 'https://auth.example.test' };
const SECRET = 'A'.repeat(43);

test('https: GET /device sets __Host-dcs_browser with Secure and Path=/, without Domain', async (t) => {
  const h = await build(t, { env: HTTPS });
  const res = await h.inject({ method: 'GET', url: '/device' });
  assert.equal(res.statusCode, 302);
  const cookie = String(res.headers['set-cookie']);
  assert.match(cookie, /^__Host-dcs_browser=[A-Za-z0-9_-]{43}; /);
  assert.deepEqual(cookie.split('; ').slice(1).sort(), ['HttpOnly', 'Path=/', 'SameSite=Lax', 'Secure'], 'in any order');
  assert.doesNotMatch(cookie, /domain=/i);
  assert.match(String(res.headers.location), /^https:\/\/auth\.example\.test\/[0-9a-f-]{36}\/signon\?flowId=/);

  // A browser that already holds the cookie keeps it: no new Set-Cookie.
  const again = await h.inject({ method: 'GET', url: '/device', headers: { cookie: cookie.split(';')[0] ?? '' } });
  assert.equal(again.statusCode, 302);
  assert.equal(again.headers['set-cookie'], undefined);
});

test('https: a whole flow through the page with the __Host- cookie; the device gets its token', async (t) => {
  const h = await build(t, { env: HTTPS });
  const client = await h.publicClient();
  await h.user('alice');
  const device = await deviceStarts(h, client);
  assert.equal(device.verification_uri_complete, `https://auth.example.test/device?user_code=${device.user_code}`);
  const b = new PageBrowser(h);
  assertHtmlPage(await b.open(device.verification_uri_complete), 200);
  assert.match(b.cookie ?? '', /^__Host-dcs_browser=[A-Za-z0-9_-]{43}$/);
  assertHtmlPage(await b.submit({ username: 'alice', password: PASSWORD }), 200);
  assert.equal(b.field('user_code'), device.user_code, 'the prefilled code rides along');
  assertHtmlPage(await b.submit({ user_code: device.user_code }), 200);
  assert.ok(b.body.includes(`>${device.user_code}</p>`), 'the consent screen');
  assertHtmlPage(await b.submit({ action: 'approve' }), 200);
  assert.ok(b.body.includes("You're all set — return to your device."));
  assert.equal(await deviceSees(h, device.device_code, client), 'token');
});

test('https: a plain dcs_browser cookie (planted by a sibling host) is ignored by the page, the flow API and /device', async (t) => {
  const h = await build(t, { env: HTTPS });
  await h.user('alice');
  const env = h.services.defaultEnv.id;
  // Someone else's secret in the cookie name of http mode: /device does not adopt it.
  const start = await h.inject({ method: 'GET', url: '/device', headers: { cookie: `dcs_browser=${SECRET}` } });
  assert.equal(start.statusCode, 302);
  const set = String(start.headers['set-cookie']);
  assert.match(set, /^__Host-dcs_browser=/);
  assert.ok(!set.includes(SECRET), 'a fresh secret, not the planted one');
  const flowId = new URL(String(start.headers.location)).searchParams.get('flowId') ?? '';
  const secret = /^__Host-dcs_browser=([^;]+)/.exec(set)?.[1] ?? '';

  // The real secret under the http-mode name does not open the flow either.
  const page = `/${env}/signon?flowId=${flowId}`;
  assertHtmlPage(await h.inject({ method: 'GET', url: page, headers: { cookie: `dcs_browser=${secret}` } }), 404);
  const api = `/${env}/flows/${flowId}`;
  assert.equal((await h.inject({ method: 'GET', url: api, headers: { cookie: `dcs_browser=${secret}` } })).statusCode, 404);
  // Under its own name it does, on the page and through the flow API.
  assertHtmlPage(await h.inject({ method: 'GET', url: page, headers: { cookie: `dcs_browser=${secret}; __Host-dcs_browser=${secret}` } }), 200);
  const read = await h.inject({ method: 'GET', url: api, headers: { cookie: `__Host-dcs_browser=${secret}` } });
  assert.equal(read.statusCode, 200, read.body);
  assert.equal(read.json<{ status: string }>().status, 'USERNAME_PASSWORD_REQUIRED');
});

test('http: the cookie stays dcs_browser, and a __Host- one is not read', async (t) => {
  const h = await build(t);
  const start = await h.inject({ method: 'GET', url: '/device' });
  const set = String(start.headers['set-cookie']);
  assert.match(set, /^dcs_browser=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/);
  const secret = /^dcs_browser=([^;]+)/.exec(set)?.[1] ?? '';
  const flowId = new URL(String(start.headers.location)).searchParams.get('flowId') ?? '';
  const page = `/${h.services.defaultEnv.id}/signon?flowId=${flowId}`;
  assertHtmlPage(await h.inject({ method: 'GET', url: page, headers: { cookie: `__Host-dcs_browser=${secret}` } }), 404);
  assertHtmlPage(await h.inject({ method: 'GET', url: page, headers: { cookie: `dcs_browser=${secret}` } }), 200);
  // /device does not adopt a __Host- cookie in http mode: it sets its own.
  const other = await h.inject({ method: 'GET', url: '/device', headers: { cookie: `__Host-dcs_browser=${SECRET}` } });
  assert.match(String(other.headers['set-cookie']), /^dcs_browser=/);
});
