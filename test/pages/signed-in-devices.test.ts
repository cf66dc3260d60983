// "Your devices" on the page: the signed-in person's grants with a Sign-out for each, on
// the browser-bound flow (no session of its own): only the flow's own user's grants, CSRF, PRG,
// double submits and Back, escaping, the direct entry /device?view=devices, the page's headers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Client, User } from '../../src/model/records.ts';
import { build, type TestApp } from '../helpers/build.ts';
import { assertOAuthError, basic, decide, poll, startAuthorization, type TokenBody } from '../oauth/_support.ts';
import { assertHtmlPage, assertPageHeaders, deviceStarts, PageBrowser, PASSWORD, signedIn, unescapeHtml } from './_support.ts';

interface Tokens extends TokenBody {
  refresh_token: string;
}

/** The exact time (UTC) a row's relative time stands for, in its title: the page cannot know the reader's time zone. */
const APPROVED_AT = 'January 1, 2026 at 12:00 PM UTC';

async function setup(t: Parameters<typeof build>[0]) {
  const h = await build(t);
  const envId = h.services.defaultEnv.id;
  const tv = (await h.services.admin.createClient({ envId, name: 'Living-room TV', refreshTokens: true })).client;
  const speaker = (await h.services.admin.createClient({ envId, name: 'Kitchen speaker', refreshTokens: true })).client;
  const rs = await h.confidentialClient();
  const alice = await h.user('alice');
  return { h, tv, speaker, rs, alice };
}

/** A device login approved for `user` (through the engine); its tokens, refresh token included. */
async function login(h: TestApp, client: Client, user: User): Promise<Tokens> {
  const started = await startAuthorization(h, client, { scope: 'openid offline_access' });
  await decide(h, started.user_code, user, true);
  const res = await poll(h, started.device_code, client.clientId);
  assert.equal(res.statusCode, 200, res.body);
  const tokens = res.json<Tokens>();
  assert.match(tokens.refresh_token, /^rt_/);
  return tokens;
}

const refresh = (h: TestApp, client: Client, token: string) =>
  h.form('/oauth/token', { grant_type: 'refresh_token', refresh_token: token, client_id: client.clientId });

const active = async (h: TestApp, rs: { client: Client; secret: string }, token: string) => {
  const res = await h.form('/oauth/introspect', { token }, { authorization: basic(rs.client.clientId, rs.secret) });
  assert.equal(res.statusCode, 200, res.body);
  return res.json<{ active: boolean }>().active;
};

/** The rows of "Your devices" as shown: name and the grant id its Sign-out link asks about. */
function rows(body: string): { name: string; grant: string }[] {
  return [...body.matchAll(/<li>\n<p class="name" id="grant-\d+"><strong>([^<]*)<\/strong>[\s\S]*?confirm=([^"&]*)"/g)]
    .map((m) => ({ name: unescapeHtml(m[1] ?? ''), grant: decodeURIComponent(m[2] ?? '') }));
}

/**
 * Opens the confirmation a row's "Sign out…" leads to (of `grant`, else the first row), as a person
 * must before anything ends; its form carries the flow and CSRF fields a sign-out posts.
 */
async function confirming(b: PageBrowser, grant?: string): Promise<PageBrowser> {
  const url = new URL(`http://page.test${b.path}`);
  url.searchParams.delete('signedOut');
  url.searchParams.set('view', 'devices');
  url.searchParams.set('confirm', grant ?? rows(b.body)[0]?.grant ?? '');
  assertHtmlPage(await b.open(url.pathname + url.search), 200);
  assert.match(b.body, /<h1 id="page-title">Sign out /);
  return b;
}

/** The one grant id of the row named `name`. */
function grantOf(body: string, name: string): string {
  const row = rows(body).find((r) => r.name === name);
  assert.ok(row, `no row ${name} in ${JSON.stringify(rows(body))}`);
  return row.grant;
}

/** Follows a link of the current page by its text, as a browser resolves a relative href. */
async function follow(b: PageBrowser, text: string) {
  const href = new RegExp(`<a href="([^"]*)">${text}</a>`).exec(b.body)?.[1];
  assert.ok(href !== undefined, `no link "${text}"`);
  const url = new URL(unescapeHtml(href), `http://page.test${b.path}`);
  return b.open(url.pathname + url.search);
}

/** A browser that came in through /device?view=devices and signed in: it is on "Your devices". */
async function onDevices(h: TestApp, username = 'alice'): Promise<PageBrowser> {
  const b = new PageBrowser(h);
  assertHtmlPage(await b.open('/device?view=devices'), 200);
  assertHtmlPage(await b.submit({ username, password: PASSWORD }), 200);
  assert.match(b.body, /<h1 id="page-title">Your devices<\/h1>/);
  return b;
}

const notice = (body: string) => /<p class="success" role="status">([^<]*)<\/p>/.exec(body)?.[1];

test('the list after two device logins: names, dates, newest first; sign out one: its refresh token and access token stop working', async (t) => {
  const { h, tv, speaker, rs, alice } = await setup(t);
  let tvTokens = await login(h, tv, alice);
  h.clock.advance(60);
  const speakerTokens = await login(h, speaker, alice);
  // A day later the TV refreshes: its "last used" moves, its "approved" stays.
  h.clock.advance(86_400);
  const refreshed = await refresh(h, tv, tvTokens.refresh_token);
  assert.equal(refreshed.statusCode, 200, refreshed.body);
  tvTokens = { ...tvTokens, ...refreshed.json<Tokens>() };

  const b = await onDevices(h);
  let body = assertHtmlPage(b.last ?? assert.fail(), 200);
  assert.deepEqual(rows(body).map((r) => r.name), ['Kitchen speaker', 'Living-room TV'], 'newest first');
  assert.match(body, /Signed in as <strong>alice<\/strong>/);
  const [speakerRow, tvRow] = body.split('<li>').slice(1);
  assert.ok(speakerRow?.includes('Approved <time datetime="2026-01-01T12:01:00.000Z" title="January 1, 2026 at 12:01 PM UTC">1 day ago</time>'), speakerRow);
  assert.ok(tvRow?.includes(`Approved <time datetime="2026-01-01T12:00:00.000Z" title="${APPROVED_AT}">1 day ago</time>`), tvRow);
  assert.ok(tvRow?.includes('Last used <time datetime="2026-01-02T12:01:00.000Z" title="January 2, 2026 at 12:01 PM UTC">less than a minute ago</time>'), tvRow);
  assert.match(body, /<a class="button secondary" href="signon\?flowId=[0-9a-f-]{36}&amp;view=devices&amp;confirm=[0-9a-f-]{36}" aria-describedby="grant-2">Sign out…<\/a>/);
  assert.doesNotMatch(body, /<script/i);

  // Sign out the TV: 303 (Post/Redirect/Get) back to the list, which names what was signed out.
  const tvGrant = grantOf(body, 'Living-room TV');
  const res = await (await confirming(b, tvGrant)).post({ action: 'signout', grant: tvGrant });
  assert.equal(res.statusCode, 303);
  assertPageHeaders(res);
  const flowId = b.field('flowId') ?? '';
  assert.equal(res.headers.location, `http://issuer.test/${h.services.defaultEnv.id}/signon?flowId=${flowId}&view=devices&signedOut=${tvGrant}`);
  body = assertHtmlPage(await b.open(res.headers.location), 200);
  assert.equal(notice(body), 'Living-room TV is signed out and can no longer use your account.');
  assert.deepEqual(rows(body).map((r) => r.name), ['Kitchen speaker']);

  // The TV's tokens are dead; the speaker's still work.
  assertOAuthError(await refresh(h, tv, tvTokens.refresh_token), 400, 'invalid_grant');
  assert.equal(await active(h, rs, tvTokens.access_token), false);
  assert.equal(await active(h, rs, tvTokens.refresh_token), false);
  assert.equal(await active(h, rs, speakerTokens.refresh_token), true);
  assert.equal((await refresh(h, speaker, speakerTokens.refresh_token)).statusCode, 200);

  // The last one: an empty list says so.
  body = assertHtmlPage(await (await confirming(b, grantOf(body, 'Kitchen speaker'))).submit({ action: 'signout', grant: grantOf(body, 'Kitchen speaker') }), 200);
  assert.equal(notice(body), 'Kitchen speaker is signed out and can no longer use your account.');
  assert.deepEqual(rows(body), []);
  assert.match(body, /No devices or sessions are signed in to your account\./);
});

test('a Veeam session is listed as such, and signing it out ends its refresh token', async (t) => {
  const { h } = await setup(t);
  await h.user('bob');
  const res = await h.form('/api/oauth2/token', { grant_type: 'Password', Username: 'bob', Password: PASSWORD });
  assert.equal(res.statusCode, 200, res.body);
  const session = res.json<{ refresh_token: string }>();
  const b = await onDevices(h, 'bob');
  assert.deepEqual(rows(b.body).map((r) => r.name), ['Veeam API session']);
  assert.match(b.body, /<strong>Veeam API session<\/strong><br><span class="muted">Signed in with your password<\/span>/);
  assert.doesNotMatch(b.body, /Account sign-in/, 'not the account client\'s name');
  const sessionGrant = grantOf(b.body, 'Veeam API session');
  assertHtmlPage(await (await confirming(b, sessionGrant)).submit({ action: 'signout', grant: sessionGrant }), 200);
  assert.equal(notice(b.body), 'Veeam API session is signed out and can no longer use your account.');
  const again = await h.form('/api/oauth2/token', { grant_type: 'Refresh_token', refresh_token: session.refresh_token });
  assert.equal(again.statusCode, 400, again.body);
});

test("only the flow's own user: another user's grant is neither listed nor signed out (404 page, nothing changes)", async (t) => {
  const { h, tv, rs, alice } = await setup(t);
  const bob = await h.user('bob');
  await login(h, tv, alice);
  const bobs = await login(h, tv, bob);
  const [bobGrant] = await h.services.grants.listLive(h.services.defaultEnv, bob.id);
  assert.ok(bobGrant);

  const b = await onDevices(h);
  assert.equal(rows(b.body).length, 1, 'only alice\'s');
  assert.ok(!b.body.includes(bobGrant.id));
  // Only alice's own grant can be asked about; its form then carries another id.
  await confirming(b);
  for (const grant of [bobGrant.id, crypto.randomUUID(), 'not-a-grant']) {
    const body = assertHtmlPage(await b.post({ action: 'signout', grant }), 404);
    assert.match(body, /<h1 id="page-title">Device not found<\/h1>/);
    assert.match(body, /nothing was changed/);
    assert.match(body, /<a href="signon\?flowId=[0-9a-f-]{36}&amp;view=devices">Back to your devices<\/a>/);
  }
  assert.equal(await active(h, rs, bobs.access_token), true);
  assert.equal((await refresh(h, tv, bobs.refresh_token)).statusCode, 200);

  // A signedOut naming bob's grant confirms nothing on alice's page.
  const url = new URL(`http://page.test${b.path}`);
  url.searchParams.delete('confirm');
  url.searchParams.set('signedOut', bobGrant.id);
  assertHtmlPage(await b.open(url.pathname + url.search), 200);
  assert.equal(notice(b.body), undefined);
});

test('CSRF: Sign-out without the token, with a wrong one, or with another flow\'s → 403 page; nothing changes', async (t) => {
  const { h, tv, alice } = await setup(t);
  const tokens = await login(h, tv, alice);
  const b = await onDevices(h);
  const other = await onDevices(h);
  const grant = grantOf(b.body, 'Living-room TV');
  await confirming(b, grant);
  await confirming(other, grant);
  const csrf = b.field('csrf') ?? '';
  for (const bad of [null, '', 'x', csrf.replace(/^./, (c) => (c === '0' ? '1' : '0')), other.field('csrf') ?? '']) {
    const body = assertHtmlPage(await b.post({ action: 'signout', grant }, { csrf: bad }), 403);
    assert.match(body, /nothing was changed/);
  }
  // The right token, but not this browser's cookie: the flow is not found for it.
  assertHtmlPage(await b.post({ action: 'signout', grant }, { cookie: other.cookie ?? null }), 403);
  assertHtmlPage(await b.post({ action: 'signout', grant }, { cookie: null }), 404);
  assert.equal((await h.services.grants.listLive(h.services.defaultEnv, alice.id)).length, 1);
  assert.equal((await refresh(h, tv, tokens.refresh_token)).statusCode, 200);
});

test('a double submit of Sign-out is harmless, at once or one after the other, and Back shows the list as it is now', async (t) => {
  const { h, tv, alice } = await setup(t);
  await login(h, tv, alice);
  h.clock.advance(1);
  await login(h, tv, alice);
  const b = await onDevices(h);
  const before = b.path;
  const [first, second] = rows(b.body);
  assert.ok(first && second);

  await confirming(b, first.grant);
  const again = await Promise.all([b.post({ action: 'signout', grant: first.grant }), b.post({ action: 'signout', grant: first.grant })]);
  for (const res of again) {
    assert.equal(res.statusCode, 303);
    assertPageHeaders(res);
  }
  assert.equal(again[0].headers.location, again[1].headers.location);
  // One after the other: the second finds it already gone and shows the list, no error page.
  let body = assertHtmlPage(await b.submit({ action: 'signout', grant: first.grant }), 200);
  assert.deepEqual(rows(body).map((r) => r.grant), [second.grant]);
  assert.equal(notice(body), 'Living-room TV is signed out and can no longer use your account.');

  // Back to the list as it was before: a fresh GET (no-store), so the signed-out row is gone.
  body = assertHtmlPage(await b.open(before), 200);
  assert.deepEqual(rows(body).map((r) => r.grant), [second.grant]);
  assert.equal(notice(body), undefined);
  assert.deepEqual((await h.services.grants.listLive(h.services.defaultEnv, alice.id)).map((g) => g.id), [second.grant]);
});

test('names are escaped: a <script> client name is text in the list and in the confirmation', async (t) => {
  const { h, alice } = await setup(t);
  const evil = (await h.services.admin.createClient({
    envId: h.services.defaultEnv.id, name: '<script>alert("x")</script> & \'TV\'', refreshTokens: true,
  })).client;
  await login(h, evil, alice);
  const b = await onDevices(h);
  assert.doesNotMatch(b.body, /<script/i);
  assert.ok(b.body.includes('<strong>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;TV&#39;</strong>'));
  assert.deepEqual(rows(b.body).map((r) => r.name), [evil.name]);
  const evilGrant = grantOf(b.body, evil.name);
  await confirming(b, evilGrant);
  assert.doesNotMatch(b.body, /<script/i);
  assert.ok(b.body.includes('Sign out &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;TV&#39;?'), 'the confirmation names it, escaped');
  const body = assertHtmlPage(await b.submit({ action: 'signout', grant: evilGrant }), 200);
  assert.doesNotMatch(body, /<script/i);
  assert.equal(unescapeHtml(notice(body) ?? ''), `${evil.name} is signed out and can no longer use your account.`);
});

test('not reachable before sign-in: view=devices shows the sign-in step, and a Sign-out changes nothing', async (t) => {
  const { h, tv, alice } = await setup(t);
  const tokens = await login(h, tv, alice);
  const grant = (await h.services.grants.listLive(h.services.defaultEnv, alice.id))[0]?.id ?? '';
  const b = new PageBrowser(h);
  assertHtmlPage(await b.open('/device'), 200);
  const flowId = b.field('flowId') ?? '';
  assert.doesNotMatch(b.body, /Your devices/, 'no link before sign-in');

  const body = assertHtmlPage(await b.open(`/${h.services.defaultEnv.id}/signon?flowId=${flowId}&view=devices`), 200);
  assert.match(body, /<h1 id="page-title">Sign in<\/h1>/);
  assert.doesNotMatch(body, /Living-room TV|name="grant"/);
  const res = await b.post({ action: 'signout', grant });
  assert.equal(res.statusCode, 303);
  assertPageHeaders(res);
  assert.equal(res.headers.location, `http://issuer.test/${h.services.defaultEnv.id}/signon?flowId=${flowId}&view=devices`);
  assert.equal((await refresh(h, tv, tokens.refresh_token)).statusCode, 200, 'still signed in');

  // Without this browser's cookie the view is the expired-link page, whatever the flow.
  const signed = await onDevices(h);
  assertHtmlPage(await h.inject({ method: 'GET', url: signed.path }), 404);
  assertHtmlPage(await h.inject({ method: 'GET', url: signed.path, headers: { cookie: b.cookie ?? '' } }), 404);
  assertHtmlPage(await h.inject({ method: 'GET', url: signed.path.replace('view=devices', 'view=other'), headers: { cookie: signed.cookie ?? '' } }), 400);
});

test('from a device login: the code, consent and done steps link to "Your devices", which links back to the step', async (t) => {
  const { h, tv, alice } = await setup(t);
  await login(h, tv, alice);
  const client = await h.publicClient();
  const device = await deviceStarts(h, client);
  const b = await signedIn(h, device.verification_uri_complete, 'alice');
  assert.match(b.body, /<p class="more"><a href="signon\?flowId=[0-9a-f-]{36}&amp;view=devices">Your devices<\/a>/);
  const codeStep = b.path;
  assertHtmlPage(await follow(b, 'Your devices'), 200);
  assert.deepEqual(rows(b.body).map((r) => r.name), ['Living-room TV']);
  assertHtmlPage(await follow(b, 'Connect a device with a code'), 200);
  assert.match(b.body, /name="action" value="code"/);
  assert.equal(new URL(`http://x${b.path}`).searchParams.get('flowId'), new URL(`http://x${codeStep}`).searchParams.get('flowId'));

  assertHtmlPage(await b.submit({ user_code: device.user_code }), 200);
  assert.match(b.body, /value="approve"/);
  assertHtmlPage(await follow(b, 'Your devices'), 200);
  assertHtmlPage(await follow(b, 'Back to approving the device'), 200);
  assertHtmlPage(await b.submit({ action: 'approve' }), 200);
  assert.match(b.body, /Device connected/);
  assertHtmlPage(await follow(b, 'Your devices'), 200);
  assertHtmlPage(await follow(b, 'Back'), 200);
  assert.match(b.body, /Device connected/);
  // The device just approved is listed too once it has its token (a second later: newest first).
  h.clock.advance(1);
  assert.equal((await poll(h, device.device_code, client.clientId)).statusCode, 200);
  assertHtmlPage(await follow(b, 'Your devices'), 200);
  assert.deepEqual(rows(b.body).map((r) => r.name), ['Test TV', 'Living-room TV']);
});

test('the direct entry: /device?view=devices and /{envID}/device?view=devices sign in straight to the list', async (t) => {
  const { h, tv, alice } = await setup(t);
  await login(h, tv, alice);
  const envId = h.services.defaultEnv.id;
  for (const url of ['/device?view=devices', `/${envId}/device?view=devices`]) {
    const start = await h.inject({ method: 'GET', url });
    assert.equal(start.statusCode, 302);
    assert.match(String(start.headers.location), new RegExp(`^http://issuer\\.test/${envId}/signon\\?flowId=[0-9a-f-]{36}&view=devices$`));
  }
  assertHtmlPage(await h.inject({ method: 'GET', url: '/device?view=everything' }), 400);

  const b = new PageBrowser(h);
  let body = assertHtmlPage(await b.open(`/${envId}/device?view=devices`), 200);
  assert.match(body, /Sign in to see the devices connected to your account\./);
  assert.equal(b.field('view'), 'devices');
  // A wrong password keeps the wish.
  assert.match(assertHtmlPage(await b.submit({ username: 'alice', password: 'wrong horse battery' }), 400), /not correct/);
  assert.equal(b.field('view'), 'devices');
  // The sign-in form as the browser holds it, for the Back button below.
  const signInForm = b.formFields();
  const res = await b.post({ username: 'alice', password: PASSWORD });
  assert.equal(res.statusCode, 303);
  assert.match(String(res.headers.location), /&view=devices$/);
  body = assertHtmlPage(await b.open(String(res.headers.location)), 200);
  assert.deepEqual(rows(body).map((r) => r.name), ['Living-room TV']);
  // A Back-button resubmission of the sign-in lands on the list too.
  const back = await b.post({ ...signInForm, username: 'alice', password: PASSWORD, view: 'devices', action: 'signin' });
  assert.equal(back.statusCode, 303);
  assert.match(String(back.headers.location), /&view=devices$/);
  // The flow is still a device flow: the code step is one link away.
  assertHtmlPage(await follow(b, 'Connect a device with a code'), 200);
  assert.match(b.body, /name="action" value="code"/);
});

test('every answer of "Your devices" carries the page\'s real headers', async (t) => {
  const { h, tv, alice } = await setup(t);
  await login(h, tv, alice);
  const b = await onDevices(h);
  const res = b.last ?? assert.fail();
  assertHtmlPage(res, 200);
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
  assert.equal(res.headers['referrer-policy'], 'no-referrer');
  assert.match(res.body, /<meta name="referrer" content="no-referrer">/);
  const grant = grantOf(b.body, 'Living-room TV');
  await confirming(b, grant);
  for (const answer of [
    await b.post({ action: 'signout', grant: crypto.randomUUID() }),
    await b.post({ action: 'signout', grant }, { csrf: null }),
    await b.post({ action: 'signout' }),
    await b.post({ action: 'signout', grant }),
  ]) {
    assertPageHeaders(answer);
    assert.equal(answer.headers['x-content-type-options'], 'nosniff');
  }
});
