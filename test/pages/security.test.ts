// The page's defences (docs/protocol.md): CSRF tokens, the browser binding, terminal states that Back-button and
// double submits cannot change, and the headers and shape of every answer (HTML, never JSON).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { build, type TestApp } from '../helpers/build.ts';
import {
  alertText, assertHtmlPage, assertPageHeaders, deviceSees, deviceStarts, flowStatus, PageBrowser, PASSWORD, signedIn,
} from './_support.ts';

/** A device authorization and a browser on its consent screen. */
async function atConsent(h: TestApp, username = 'alice') {
  const client = await h.publicClient();
  await h.user(username);
  const device = await deviceStarts(h, client);
  const b = await signedIn(h, device.verification_uri_complete, username);
  assertHtmlPage(await b.submit({}), 200);
  assert.match(b.body, /value="approve"/);
  return { client, device, b, flowId: b.field('flowId') ?? '' };
}

test('every page answer carries CSP (frame-ancestors none), no-store and X-Frame-Options, errors included', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  await h.user('alice');
  const device = await deviceStarts(h, client);
  const b = new PageBrowser(h);
  assertHtmlPage(await b.open(device.verification_uri_complete), 200);
  const signin = await b.post({ username: 'alice', password: PASSWORD });
  assert.equal(signin.statusCode, 303);
  assertPageHeaders(signin);
  const codeStep = await b.open(signin.headers.location ?? '');
  assertHtmlPage(codeStep, 200);
  assert.match(String(codeStep.headers['content-security-policy']), /frame-ancestors 'none'/);
  assert.equal(codeStep.headers['x-content-type-options'], 'nosniff');
  assert.equal(codeStep.headers['referrer-policy'], 'no-referrer');

  assertHtmlPage(await h.inject({ method: 'GET', url: `/${h.services.defaultEnv.id}/signon?flowId=${crypto.randomUUID()}` }), 404);
  assertHtmlPage(await h.inject({ method: 'GET', url: '/signon/nothing/here' }), 404);
  assertHtmlPage(await h.inject({ method: 'GET', url: `/${crypto.randomUUID()}/signon?flowId=x` }), 404);
  assertHtmlPage(await h.inject({ method: 'GET', url: '/not-an-env/signon' }), 404);
  assertHtmlPage(await h.inject({ method: 'GET', url: `/${crypto.randomUUID()}/device` }), 404);
});

test('CSRF: a missing or wrong token → 403 page, and nothing changes', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  await h.user('alice');
  const device = await deviceStarts(h, client);
  const b = new PageBrowser(h);
  await b.open(device.verification_uri_complete);
  const flowId = b.field('flowId') ?? '';
  const csrf = b.field('csrf') ?? '';

  for (const bad of [null, '', 'x', csrf.replace(/^./, (c) => (c === '0' ? '1' : '0')), `${csrf}0`]) {
    const body = assertHtmlPage(await b.post({ username: 'alice', password: PASSWORD }, { csrf: bad }), 403);
    assert.match(body, /nothing was changed/);
    assert.equal(await flowStatus(h, flowId), 'USERNAME_PASSWORD_REQUIRED');
  }

  // The token of another flow of the same browser does not fit this one.
  const other = new PageBrowser(h);
  other.cookie = b.cookie;
  await other.open(device.verification_uri);
  assert.notEqual(other.field('flowId'), flowId);
  assertHtmlPage(await b.post({ username: 'alice', password: PASSWORD }, { csrf: other.field('csrf') ?? '' }), 403);
  assert.equal(await flowStatus(h, flowId), 'USERNAME_PASSWORD_REQUIRED');

  // At consent too: a forged Approve does not approve.
  const c = await atConsent(h, 'bob');
  assertHtmlPage(await c.b.post({ action: 'approve' }, { csrf: null }), 403);
  assertHtmlPage(await c.b.post({ action: 'approve' }, { csrf: csrf }), 403);
  assert.equal(await flowStatus(h, c.flowId), 'DAG_CONSENT_REQUIRED');
  assert.equal(await deviceSees(h, c.device.device_code, c.client), 'authorization_pending');

  // The right token still works afterwards.
  assertHtmlPage(await c.b.submit({ action: 'approve' }), 200);
  assert.ok(c.b.body.includes("You're all set"));
});

test('the flow is bound to the browser: without the cookie, or with another one, it can be neither seen nor driven', async (t) => {
  const h = await build(t);
  const { client, device, b, flowId } = await atConsent(h);
  const csrf = b.field('csrf') ?? '';
  const page = b.path;

  // No cookie.
  let body = assertHtmlPage(await h.inject({ method: 'GET', url: page }), 404);
  assert.match(body, /This link has expired/);
  assert.match(body, /<a href="device">/);
  assertHtmlPage(await b.post({ action: 'approve' }, { cookie: null }), 404);

  // Another browser: the page is not found, and this page's form (its CSRF token is bound to the
  // owner's cookie) is refused.
  const stranger = new PageBrowser(h);
  await stranger.open('/device');
  assert.ok(stranger.cookie !== undefined && stranger.cookie !== b.cookie);
  body = assertHtmlPage(await stranger.open(page), 404);
  assert.match(body, /opened in a different browser/);
  assertHtmlPage(await b.post({ action: 'approve', csrf }, { cookie: stranger.cookie }), 403);
  // Even with a CSRF token that fits its own cookie, the engine does not know it as the owner.
  const forged = h.services.secrets.hashCode('flow', `csrf:${flowId}:${stranger.cookie.slice('dcs_browser='.length)}`);
  assertHtmlPage(await b.post({ action: 'approve', csrf: forged }, { cookie: stranger.cookie }), 404);
  // A malformed cookie is no cookie.
  assertHtmlPage(await b.post({ action: 'approve' }, { cookie: 'dcs_browser=short' }), 404);

  assert.equal(await flowStatus(h, flowId), 'DAG_CONSENT_REQUIRED');
  assert.equal(await deviceSees(h, device.device_code, client), 'authorization_pending');
});

test('Back button: re-submitting Approve after Deny changes nothing; the device stays denied', async (t) => {
  const h = await build(t);
  const { client, device, b, flowId } = await atConsent(h);
  const consentPage = b.body;
  const deny = await b.post({ action: 'deny' });
  assert.equal(deny.statusCode, 303);

  // The browser goes back to the (cached or remembered) consent form and presses Approve.
  b.last = { ...b.last, body: consentPage } as typeof b.last;
  const again = await b.post({ action: 'approve' });
  assert.equal(again.statusCode, 303, 'no error page: the current step is shown');
  assertHtmlPage(await b.open(again.headers.location ?? ''), 200);
  assert.match(b.body, /Request denied/);
  assert.equal(await flowStatus(h, flowId), 'FAILED');
  assert.equal(await deviceSees(h, device.device_code, client), 'access_denied');

  // And Deny after Approve, on another flow, leaves it approved.
  const c = await atConsent(h, 'bob');
  const form = c.b.body;
  assert.equal((await c.b.post({ action: 'approve' })).statusCode, 303);
  c.b.last = { ...c.b.last, body: form } as typeof c.b.last;
  const late = await c.b.post({ action: 'deny' });
  assert.equal(late.statusCode, 303);
  assertHtmlPage(await c.b.open(late.headers.location ?? ''), 200);
  assert.ok(c.b.body.includes("You're all set"));
  assert.equal(await deviceSees(h, c.device.device_code, c.client), 'token');
});

test('double submit of Approve (one after the other, and at once) yields one approval and no error page', async (t) => {
  const h = await build(t);
  const { client, device, b, flowId } = await atConsent(h);
  const first = await b.post({ action: 'approve' });
  const second = await b.post({ action: 'approve' });
  assert.equal(first.statusCode, 303);
  assert.equal(second.statusCode, 303);
  assert.equal(second.headers.location, first.headers.location);
  assertHtmlPage(await b.open(second.headers.location ?? ''), 200);
  assert.ok(b.body.includes("You're all set"));
  assert.equal(await flowStatus(h, flowId), 'COMPLETED');
  assert.equal(await deviceSees(h, device.device_code, client), 'token');
  h.clock.advance(5);
  assert.equal(await deviceSees(h, device.device_code, client), 'invalid_grant', 'one token only');

  const c = await atConsent(h, 'bob');
  const both = await Promise.all([c.b.post({ action: 'approve' }), c.b.post({ action: 'approve' }), c.b.post({ action: 'deny' })]);
  for (const res of both) assert.equal(res.statusCode, 303, res.body);
  const status = await flowStatus(h, c.flowId);
  assert.ok(status === 'COMPLETED' || status === 'FAILED', String(status));
  assert.equal(await deviceSees(h, c.device.device_code, c.client), status === 'COMPLETED' ? 'token' : 'access_denied');
});

test('a step posted out of order (code before sign-in, approve before the code) only shows the current step', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  await h.user('alice');
  const device = await deviceStarts(h, client);
  const b = new PageBrowser(h);
  await b.open(device.verification_uri_complete);
  const flowId = b.field('flowId') ?? '';
  const steps: Record<string, string>[] = [{ action: 'code', user_code: device.user_code }, { action: 'approve' }];
  for (const fields of steps) {
    const res = await b.post(fields);
    assert.equal(res.statusCode, 303);
    assertHtmlPage(await b.open(res.headers.location ?? ''), 200);
    assert.match(b.body, /<h1 id="page-title">Sign in<\/h1>/);
  }
  assert.equal(await flowStatus(h, flowId), 'USERNAME_PASSWORD_REQUIRED');
  assert.equal(await deviceSees(h, device.device_code, client), 'authorization_pending');
});

test('malformed submissions get an HTML page with a fitting status, never JSON', async (t) => {
  const h = await build(t, { env: { BODY_LIMIT: '2048' } });
  const client = await h.publicClient();
  await h.user('alice');
  const device = await deviceStarts(h, client);
  const b = new PageBrowser(h);
  await b.open(device.verification_uri_complete);
  const url = `/${h.services.defaultEnv.id}/signon`;
  const cookie = b.cookie ?? '';
  const flowId = b.field('flowId') ?? '';
  const csrf = b.field('csrf') ?? '';
  const post = (payload: string, type = 'application/x-www-form-urlencoded') =>
    h.inject({ method: 'POST', url, headers: { 'content-type': type, cookie }, payload });

  assertHtmlPage(await post(JSON.stringify({ flowId, csrf, action: 'signin' }), 'application/json'), 415);
  assertHtmlPage(await post(`flowId=${flowId}&csrf=${csrf}&action=signin&username=${'a'.repeat(4000)}`), 413);
  assertHtmlPage(await post(`flowId=${flowId}&flowId=${flowId}&csrf=${csrf}&action=signin`), 400);
  assertHtmlPage(await post(`flowId=${flowId}&csrf=${csrf}&action=dance`), 400);
  assertHtmlPage(await post(`flowId=${flowId}&csrf=${csrf}`), 400);
  assertHtmlPage(await post(`csrf=${csrf}&action=signin`), 400);
  assertHtmlPage(await post(`flowId=${flowId}&csrf=${csrf}&action=signin&username=a%00b&password=x`), 400);
  assertHtmlPage(await post(''), 400);

  // Empty fields: the same form with a message, and nothing counted.
  let body = assertHtmlPage(await b.post({ username: '', password: '' }), 400);
  assert.equal(alertText(body), 'Enter your username and password.');
  assert.equal(await flowStatus(h, flowId), 'USERNAME_PASSWORD_REQUIRED');
  await b.submit({ username: 'alice', password: PASSWORD });
  body = assertHtmlPage(await b.post({ user_code: '  ' }), 400);
  assert.equal(alertText(body), 'Enter the code shown on your device.');
  const flow = await h.services.store.flows.get(h.services.defaultEnv.id, flowId, h.clock.now());
  assert.equal(flow?.failedAttempts, 0);
});

test('the page rate limit answers 429 as a page with Retry-After', async (t) => {
  const h = await build(t, { env: { RATE_LIMIT_VERIFICATION: '3' } });
  const url = `/${h.services.defaultEnv.id}/signon?flowId=${crypto.randomUUID()}`;
  for (let i = 0; i < 3; i++) assertHtmlPage(await h.inject({ method: 'GET', url }), 404);
  const res = await h.inject({ method: 'GET', url });
  assertHtmlPage(res, 429);
  assert.match(String(res.headers['retry-after']), /^\d+$/);
  assert.match(res.body, /Too many requests/);
});
