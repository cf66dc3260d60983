// Sign in with the organisation's identity provider (README "Sign in with your organisation"), over
// real HTTP to a real upstream OpenID Provider (node-oidc-provider, test/helpers/upstream-op.ts):
// the verification page's "Continue with …" button, the code flow with PKCE, state and nonce, the
// callback bound to the flow and the browser that started it, the person linked by (issuer, sub),
// their upstream sign-in in the device's ID token, and every way it can fail as a page of ours.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import type { Client, Environment } from '../../src/model/records.ts';
import { build, TestClock, type TestApp } from '../helpers/build.ts';
import { startUpstream, type Upstream, type UpstreamOptions, type UpstreamUser } from '../helpers/upstream-op.ts';
import { alertText, assertHtmlPage, deviceStarts, flowStatus, PageBrowser, pollToken, unescapeHtml } from '../pages/_support.ts';

const CLIENT_ID = 'device-code-server';
const CLIENT_SECRET = randomBytes(24).toString('base64url');

const ALICE: UpstreamUser = {
  sub: '00u-alice', username: 'alice', password: 'alice at corp', email: 'alice@corp.example.test', emailVerified: true,
  name: 'Alice Liddell', givenName: 'Alice', familyName: 'Liddell', amr: ['pwd', 'mfa'], acr: 'urn:corp:loa:2',
};
// Two people with one (unverified) address: two users, never one.
const BOB: UpstreamUser = { sub: '00u-bob', username: 'bob.smith', password: 'bob at corp', email: 'shared@corp.example.test', emailVerified: false, name: 'Bob Smith' };
const CAROL: UpstreamUser = { sub: '00u-carol', username: 'carol', password: 'carol at corp', email: 'shared@corp.example.test', emailVerified: false, name: 'Carol Jones' };

interface Setup {
  h: TestApp;
  env: Environment;
  upstream: Upstream;
  client: Client;
}

/** Our server (a SQLite file) with the upstream registered as the default environment's provider "corp". */
async function setup(
  t: TestContext, misbehave?: UpstreamOptions['misbehave'], users: UpstreamUser[] = [ALICE, BOB, CAROL], o: { claimsInUserInfoOnly?: boolean } = {},
): Promise<Setup> {
  const h = await build(t, { clock: new TestClock('real') });
  const env = h.services.defaultEnv;
  const upstream = await startUpstream(t, {
    users,
    client: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [h.services.urls.idpCallback(env.id, 'corp')] },
    ...(misbehave === undefined ? {} : { misbehave }),
    ...o,
  });
  await h.services.admin.identityProviders.add(env, { name: 'corp', displayName: 'Corp SSO', issuer: upstream.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  const client = await h.publicClient({ scope: 'openid profile email' });
  return { h, env, upstream, client };
}

/** The href of the sign-in page's "Continue with <label>" button. */
function continueWith(body: string, label: string): string {
  const href = new RegExp(`<a class="button[^"]*" href="([^"]+)">Continue with ${label}</a>`).exec(body)?.[1];
  assert.ok(href !== undefined, `no "Continue with ${label}" on the page`);
  return unescapeHtml(href);
}

/** GET a URL of ours in the browser without following redirects (the next hop may be the upstream). */
async function hop(b: PageBrowser, url: string) {
  return b.h.inject({ method: 'GET', url: b.local(url), headers: b.cookie === undefined ? {} : { cookie: b.cookie } });
}

/** Presses the button: our server answers 302 to the upstream's authorization endpoint. */
async function toUpstream(b: PageBrowser, s: Setup): Promise<URL> {
  const res = await hop(b, continueWith(b.body, 'Corp SSO'));
  assert.equal(res.statusCode, 302, res.body);
  assert.equal(res.headers['cache-control'], 'no-store');
  const url = new URL(String(res.headers.location));
  assert.equal(url.origin, s.upstream.issuer);
  return url;
}

/** A device asks for a code; the person opens verification_uri_complete and goes to the upstream. */
async function startAtDevice(s: Setup): Promise<{ b: PageBrowser; flowId: string; deviceCode: string; userCode: string; authUrl: URL }> {
  const device = await deviceStarts(s.h, s.client, 'openid profile email');
  const b = new PageBrowser(s.h);
  assertHtmlPage(await b.open(device.verification_uri_complete), 200);
  const flowId = b.field('flowId') ?? '';
  return { b, flowId, deviceCode: device.device_code, userCode: device.user_code, authUrl: await toUpstream(b, s) };
}

async function verifyIdToken(h: TestApp, token: string, audience: string): Promise<JWTPayload> {
  const jwks = (await h.inject({ method: 'GET', url: '/oauth/jwks' })).json<JSONWebKeySet>();
  return (await jwtVerify(token, createLocalJWKSet(jwks), { issuer: h.config.publicUrl, audience, typ: 'JWT' })).payload;
}

const FAILED_TITLE = /<h1[^>]*>Sign-in did not complete<\/h1>/;

/** The failure page: 400, what happened, and (when the browser holds the flow) the way back to its sign-in step. */
function assertFailed(res: Awaited<ReturnType<typeof hop>>, message: RegExp, flowId?: string): void {
  const body = assertHtmlPage(res, 400);
  assert.match(body, FAILED_TITLE);
  assert.match(unescapeHtml(alertText(body) ?? ''), message);
  if (flowId === undefined) assert.doesNotMatch(body, /Back to signing in/);
  else assert.ok(body.includes(`signon?flowId=${flowId}">Back to signing in</a>`), body);
}

test('a person signs in through their organisation: PKCE, state and nonce upstream; the device\'s ID token carries who they are and how they signed in', async (t) => {
  const s = await setup(t);
  const { h, env, upstream, client } = s;
  const { b, flowId, deviceCode, userCode, authUrl } = await startAtDevice(s);

  // The authorization request (OpenID Connect Core §3.1.2.1), with PKCE S256 (RFC 7636).
  const q = authUrl.searchParams;
  assert.equal(q.get('response_type'), 'code');
  assert.equal(q.get('client_id'), CLIENT_ID);
  assert.equal(q.get('redirect_uri'), `${h.config.publicUrl}/${env.id}/idp/corp/callback`);
  assert.equal(q.get('scope'), 'openid email profile');
  assert.equal(q.get('code_challenge_method'), 'S256');
  assert.match(q.get('code_challenge') ?? '', /^[\w-]{43}$/);
  assert.match(q.get('state') ?? '', /^[\w-]{43}$/);
  assert.match(q.get('nonce') ?? '', /^[\w-]{43}$/);
  // Nothing secret leaves in the URL, and the flow keeps only a hash of the state.
  assert.doesNotMatch(authUrl.href, new RegExp(CLIENT_SECRET));
  const pending = await h.services.store.flows.get(env.id, flowId, h.clock.now());
  assert.ok(pending?.idpStateHash !== null && pending?.idpStateHash !== undefined);
  assert.ok(!JSON.stringify(pending).includes(q.get('state') ?? '-'), 'the state is stored hashed');
  assert.ok(!JSON.stringify(pending).includes(q.get('nonce') ?? '-'), 'the nonce is stored encrypted');

  const back = await upstream.loginOverHttp(authUrl.href, ALICE.username, ALICE.password);
  assert.ok(back.startsWith(`${h.config.publicUrl}/${env.id}/idp/corp/callback?`), back);
  const res = await hop(b, back);
  assert.equal(res.statusCode, 303, res.body);
  // Back on the page at the code step, the device's code prefilled as it was before the detour.
  assertHtmlPage(await b.open(String(res.headers.location)), 200);
  assert.match(b.body, /Confirm the code/);
  assert.equal(b.field('user_code'), userCode);
  assert.equal(await flowStatus(h, flowId), 'DAG_USER_CODE_REQUIRED');

  assertHtmlPage(await b.submit({}), 200);
  assert.match(b.body, /Signed in as <strong>Alice Liddell<\/strong>/);
  assertHtmlPage(await b.submit({ action: 'approve' }), 200);

  const token = await pollToken(h, deviceCode, client);
  assert.equal(token.statusCode, 200, token.body);
  const idToken = await verifyIdToken(h, token.json<{ id_token: string }>().id_token, client.clientId);
  const alice = await h.services.store.users.getByIdentity(env.id, upstream.issuer, ALICE.sub);
  assert.ok(alice, 'the first sign-in created the local user');
  assert.equal(idToken.sub, alice.id, 'the subject is ours, not the upstream\'s');
  // How they signed in is the upstream's word (OpenID Connect Core §2): acr and amr as it said them.
  assert.equal(idToken.acr, ALICE.acr);
  assert.deepEqual(idToken.amr, ALICE.amr);
  assert.equal(typeof idToken.auth_time, 'number');
  assert.ok(Math.abs(Number(idToken.auth_time) - Date.now() / 1000) < 300, 'auth_time is the upstream sign-in\'s');
  assert.equal(idToken.email, ALICE.email);
  assert.equal(idToken.email_verified, true);
  assert.equal(idToken.name, ALICE.name);
  assert.equal(idToken.given_name, ALICE.givenName);
  assert.equal(idToken.family_name, ALICE.familyName);
  assert.equal(idToken.preferred_username, 'alice');

  assert.deepEqual(
    { username: alice.username, email: alice.email, emailVerified: alice.emailVerified, name: alice.name, passwordHash: alice.passwordHash, issuer: alice.idpIssuer },
    { username: 'alice', email: ALICE.email, emailVerified: true, name: ALICE.name, passwordHash: '', issuer: upstream.issuer },
  );
  const events = await h.services.store.audit.list({ envId: env.id, types: ['signin.federated', 'admin.changed'], limit: 10 });
  const signin = events.find((e) => e.type === 'signin.federated');
  assert.deepEqual([signin?.actor, signin?.subject, signin?.details], [`user:${alice.id}`, `flow:${flowId}`, { provider: 'corp', username: 'alice', acr: ALICE.acr, amr: ALICE.amr }]);
  assert.ok(events.some((e) => e.type === 'admin.changed' && e.actor === 'idp:corp' && e.subject === `user:${alice.id}`), 'the creation is in the trail');
  assert.ok(!JSON.stringify(events).includes(CLIENT_SECRET));
});

test('a person is (issuer, sub): the same person again is the same user, refreshed; an email or username never links two people', async (t) => {
  // The upstream reads its users as they are at each sign-in: Alice's can change between two.
  const aliceUpstream = { ...ALICE };
  const s = await setup(t, undefined, [aliceUpstream, BOB, CAROL]);
  const { h, env, upstream } = s;
  // A password user who happens to hold Alice's username and address is not her.
  const local = await h.services.admin.users.create({ envId: env.id, username: 'alice', email: ALICE.email ?? '', password: 'correct horse battery' });

  const signInAs = async (who: UpstreamUser) => {
    const { b, authUrl } = await startAtDevice(s);
    const res = await hop(b, await upstream.loginOverHttp(authUrl.href, who.username, who.password));
    assert.equal(res.statusCode, 303, res.body);
    const user = await h.services.store.users.getByIdentity(env.id, upstream.issuer, who.sub);
    assert.ok(user);
    return user;
  };
  const alice = await signInAs(ALICE);
  assert.notEqual(alice.id, local.id);
  assert.equal(alice.username, 'alice-2', 'a taken username gets a suffix');
  assert.equal((await h.services.store.users.get(env.id, local.id))?.idpIssuer, null, 'the password user is untouched');
  Object.assign(aliceUpstream, { name: 'Alice Hargreaves', familyName: 'Hargreaves', email: 'alice.h@corp.example.test', emailVerified: false });
  const again = await signInAs(ALICE);
  assert.equal(again.id, alice.id, 'the second sign-in finds the first one\'s user');
  assert.deepEqual([again.username, again.name, again.familyName, again.email, again.emailVerified],
    ['alice-2', 'Alice Hargreaves', 'Hargreaves', 'alice.h@corp.example.test', false], 'its attributes are the upstream\'s of now; the username stays');

  const bob = await signInAs(BOB);
  const carol = await signInAs(CAROL);
  assert.notEqual(bob.id, carol.id);
  assert.deepEqual([bob.username, bob.email, bob.emailVerified], ['bob.smith', 'shared@corp.example.test', false], 'an unverified address stays unverified');
  assert.deepEqual([carol.username, carol.email], ['carol', 'shared@corp.example.test']);
  assert.equal((await h.services.store.users.list(env.id)).length, 4);
});

test('cancel, a replayed callback, another browser\'s and a forged one fail on a page of ours; the flow is not moved and can still sign in', async (t) => {
  const s = await setup(t);
  const { h, env, upstream } = s;
  const { b, flowId, authUrl } = await startAtDevice(s);

  // Cancel at the upstream: access_denied comes back.
  const cancelled = await upstream.loginOverHttp(authUrl.href, ALICE.username, ALICE.password, { cancel: true });
  assert.match(cancelled, /[?&]error=access_denied/);
  assertFailed(await hop(b, cancelled), /The sign-in was cancelled/, flowId);
  assert.equal(await flowStatus(h, flowId), 'USERNAME_PASSWORD_REQUIRED');
  // The same answer twice: its state is spent (and no longer says which flow it was for).
  assertFailed(await hop(b, cancelled), /already used, has expired, or was opened in another browser/);

  // The way back, and a second try that completes.
  assertHtmlPage(await b.open(`/${env.id}/signon?flowId=${flowId}`), 200);
  const again = await upstream.loginOverHttp((await toUpstream(b, s)).href, ALICE.username, ALICE.password);

  // Another browser (no cookie, or its own flow's) cannot complete this browser's sign-in, and does not spoil it.
  const stranger = new PageBrowser(h);
  assertFailed(await hop(stranger, again), /opened in another browser/);
  assertHtmlPage(await stranger.open('/device'), 200);
  assertFailed(await hop(stranger, again), /opened in another browser/);
  assert.equal(await flowStatus(h, stranger.field('flowId') ?? ''), 'USERNAME_PASSWORD_REQUIRED');
  assert.equal(await flowStatus(h, flowId), 'USERNAME_PASSWORD_REQUIRED');

  const done = await hop(b, again);
  assert.equal(done.statusCode, 303, done.body);
  assert.equal(await flowStatus(h, flowId), 'DAG_USER_CODE_REQUIRED');
  // Replayed after success: refused, and the flow stays where it is.
  assertFailed(await hop(b, again), /already used/);
  assert.equal(await flowStatus(h, flowId), 'DAG_USER_CODE_REQUIRED');

  // A state nobody issued, none at all, a provider that does not exist.
  const forged = new URL(again);
  forged.searchParams.set('state', randomBytes(32).toString('base64url'));
  assertFailed(await hop(b, forged.href), /already used, has expired/);
  forged.searchParams.delete('state');
  assertFailed(await hop(b, forged.href), /already used, has expired/);
  const fresh = new PageBrowser(h);
  assertHtmlPage(await fresh.open('/device'), 200);
  const freshFlow = fresh.field('flowId') ?? '';
  assertFailed(await hop(fresh, `/${env.id}/idp/nope/start?flowId=${freshFlow}`), /That sign-in option is not available here/, freshFlow);
  // Only the browser that holds a flow may start its sign-in.
  assertHtmlPage(await hop(stranger, `/${env.id}/idp/corp/start?flowId=${freshFlow}`), 404);
  // A flow past its sign-in goes back to its page rather than upstream.
  const past = await hop(b, `/${env.id}/idp/corp/start?flowId=${flowId}`);
  assert.equal(past.statusCode, 303);
  assert.equal(String(past.headers.location), `${h.config.publicUrl}/${env.id}/signon?flowId=${flowId}`);
});

test('an upstream that refuses, lies about the nonce, is down, fails or hangs: a clear page, nobody signed in, never a 500', async (t) => {
  await t.test('deny: access_denied', async (t) => {
    const s = await setup(t, { deny: true });
    const { b, flowId, authUrl } = await startAtDevice(s);
    assertFailed(await hop(b, await s.upstream.loginOverHttp(authUrl.href, ALICE.username, ALICE.password)), /did not allow it/, flowId);
    assert.equal(await flowStatus(s.h, flowId), 'USERNAME_PASSWORD_REQUIRED');
  });

  await t.test('a validly signed ID token for another nonce', async (t) => {
    const s = await setup(t, { wrongNonce: true });
    const { b, flowId, authUrl } = await startAtDevice(s);
    assertFailed(await hop(b, await s.upstream.loginOverHttp(authUrl.href, ALICE.username, ALICE.password)), /could not be trusted/, flowId);
    assert.equal(await flowStatus(s.h, flowId), 'USERNAME_PASSWORD_REQUIRED');
    assert.equal(await s.h.services.store.users.getByIdentity(s.env.id, s.upstream.issuer, ALICE.sub), undefined, 'nobody was created');
  });

  await t.test('down when the button is pressed, then back', async (t) => {
    const s = await setup(t);
    const device = await deviceStarts(s.h, s.client);
    const b = new PageBrowser(s.h);
    assertHtmlPage(await b.open(device.verification_uri_complete), 200);
    const flowId = b.field('flowId') ?? '';
    await s.upstream.stop();
    assertFailed(await hop(b, continueWith(b.body, 'Corp SSO')), /could not be reached just now/, flowId);
    await s.upstream.start();
    // The failure was not remembered: the next press goes upstream.
    await toUpstream(b, s);
  });

  await t.test('the token endpoint answers 500', async (t) => {
    const s = await setup(t, { tokenEndpoint: 'error' });
    const { b, flowId, authUrl } = await startAtDevice(s);
    assertFailed(await hop(b, await s.upstream.loginOverHttp(authUrl.href, ALICE.username, ALICE.password)), /could not be reached just now/, flowId);
    assert.equal(await flowStatus(s.h, flowId), 'USERNAME_PASSWORD_REQUIRED');
  });

  await t.test('the token endpoint never answers (the request gives up after its timeout)', async (t) => {
    const s = await setup(t, { tokenEndpoint: 'hang' });
    const { b, flowId, authUrl } = await startAtDevice(s);
    assertFailed(await hop(b, await s.upstream.loginOverHttp(authUrl.href, ALICE.username, ALICE.password)), /could not be reached just now/, flowId);
    assert.equal(await flowStatus(s.h, flowId), 'USERNAME_PASSWORD_REQUIRED');
  });
});

test('a disabled federated user is refused at the callback; /device?idp= goes straight to the provider with the code riding along', async (t) => {
  const s = await setup(t);
  const { h, env, upstream } = s;
  const device = await deviceStarts(h, s.client);
  const b = new PageBrowser(h);
  const entry = await hop(b, `/device?idp=corp&user_code=${device.user_code}`);
  assert.equal(entry.statusCode, 302);
  const start = String(entry.headers.location);
  assert.match(start, new RegExp(`^${h.config.publicUrl}/${env.id}/idp/corp/start\\?flowId=[\\w-]+&user_code=`));
  b.cookie = String(entry.headers['set-cookie']).split(';')[0];
  const toProvider = await hop(b, start);
  assert.equal(toProvider.statusCode, 302);
  const res = await hop(b, await upstream.loginOverHttp(String(toProvider.headers.location), ALICE.username, ALICE.password));
  assert.equal(res.statusCode, 303);
  assertHtmlPage(await b.open(String(res.headers.location)), 200);
  assert.equal(b.field('user_code'), device.user_code);

  await h.services.admin.users.setDisabled(env.id, 'alice', true);
  const { b: b2, flowId, authUrl } = await startAtDevice(s);
  assertFailed(await hop(b2, await upstream.loginOverHttp(authUrl.href, ALICE.username, ALICE.password)), /can no longer approve devices/, flowId);
  assert.equal(await flowStatus(h, flowId), 'USERNAME_PASSWORD_REQUIRED');
});

test('password sign-in off: the page offers only the providers, a password is refused on the page and the flow API, which links the providers', async (t) => {
  const s = await setup(t);
  const { h, env } = s;
  const b = new PageBrowser(h);
  assertHtmlPage(await b.open('/device'), 200);
  const flowId = b.field('flowId') ?? '';
  const flowUrl = `/${env.id}/flows/${flowId}`;
  const readFlow = async () => {
    const res = await h.inject({ method: 'GET', url: flowUrl, headers: { cookie: b.cookie ?? '' } });
    assert.equal(res.statusCode, 200, res.body);
    return res.json<{ _links: Record<string, unknown> }>()._links;
  };
  // Both ways while passwords are on.
  assert.match(b.body, /name="password"/);
  assert.match(b.body, /or sign in with your username and password/);
  const idp = [{ name: 'corp', title: 'Corp SSO', href: `${h.config.publicUrl}/${env.id}/idp/corp/start?flowId=${flowId}` }];
  assert.deepEqual(await readFlow(), { self: { href: `${h.config.publicUrl}${flowUrl}` }, 'usernamePassword.check': { href: `${h.config.publicUrl}${flowUrl}` }, idp });

  const form = b.formFields();
  await h.services.admin.setPasswordSignIn(env, false);
  assertHtmlPage(await b.open(`/${env.id}/signon?flowId=${flowId}`), 200);
  assert.doesNotMatch(b.body, /name="password"/);
  assert.match(b.body, /Continue with Corp SSO/);
  assert.deepEqual(await readFlow(), { self: { href: `${h.config.publicUrl}${flowUrl}` }, idp });

  await h.user('dave');
  // The form as it was before passwords were turned off.
  const posted = await b.post({ ...form, action: 'signin', username: 'dave', password: 'correct horse battery' });
  assertHtmlPage(posted, 403);
  const api = await h.inject({
    method: 'POST', url: flowUrl, headers: { cookie: b.cookie ?? '', 'content-type': 'application/vnd.pingidentity.usernamepassword.check+json' },
    payload: { username: 'dave', password: 'correct horse battery' },
  });
  assert.equal(api.statusCode, 403, api.body);
  assert.equal(api.json<{ code: string }>().code, 'ACCESS_FAILED');
  assert.equal(await flowStatus(h, flowId), 'USERNAME_PASSWORD_REQUIRED');

  // The provider still signs people in; a custom UI sends the browser to the link the flow API gave.
  const started = await hop(b, idp[0]?.href ?? '');
  assert.equal(started.statusCode, 302);
  const res = await hop(b, await s.upstream.loginOverHttp(String(started.headers.location), ALICE.username, ALICE.password));
  assert.equal(res.statusCode, 303);
  const after = await h.inject({ method: 'GET', url: flowUrl, headers: { cookie: b.cookie ?? '' } });
  const flow = after.json<{ status: string; _links: Record<string, unknown>; _embedded: { user?: { username: string; name?: string } } }>();
  assert.equal(flow.status, 'DAG_USER_CODE_REQUIRED');
  const alice = await h.services.store.users.getByIdentity(env.id, s.upstream.issuer, ALICE.sub);
  assert.deepEqual(flow._embedded.user, { id: alice?.id, username: 'alice', name: ALICE.name });
  assert.deepEqual(Object.keys(flow._links).sort(), ['deviceAuthGrant.userCode.verify', 'self']);
});

test('callbacks and starts with missing, duplicated or oversized parameters: the page\'s error, never a 500; the flow is not moved', async (t) => {
  const s = await setup(t);
  const { h, env, upstream } = s;
  const { b, flowId, authUrl } = await startAtDevice(s);
  const back = new URL(await upstream.loginOverHttp(authUrl.href, ALICE.username, ALICE.password));
  const callback = `/${env.id}/idp/corp/callback`;
  const state = back.searchParams.get('state') ?? '';
  const code = back.searchParams.get('code') ?? '';
  const cases: [string, number][] = [
    [callback, 400],
    [`${callback}?code=${code}`, 400],
    [`${callback}?state=${state}&state=${state}&code=${code}`, 400],
    [`${callback}?state=${state}&code=${code}&code=${code}`, 400],
    [`${callback}?state=${'s'.repeat(600)}&code=${code}`, 400],
    [`${callback}?state=${state}&code=${'c'.repeat(3000)}`, 400],
    [`${callback}?state=${state}&code=${code}&error=${'e'.repeat(300)}`, 400],
    [`${callback}?state=%00&code=${code}`, 400],
    [`/${env.id}/idp/${'n'.repeat(41)}/callback?state=${state}&code=${code}`, 400],
    [`/${env.id}/idp/corp/start`, 404],
    [`/${env.id}/idp/corp/start?flowId=${flowId}&flowId=${flowId}`, 400],
    [`/${env.id}/idp/corp/start?flowId=${'f'.repeat(65)}`, 400],
    [`/${env.id}/idp/corp/start?flowId=${flowId}&view=all`, 400],
    [`/00000000-0000-4000-8000-000000000000/idp/corp/callback?state=${state}&code=${code}`, 404],
  ];
  for (const [url, status] of cases) {
    assertHtmlPage(await hop(b, url), status);
    assert.equal(await flowStatus(h, flowId), 'USERNAME_PASSWORD_REQUIRED', url);
  }
  // None of it spent the real answer: it still completes the sign-in.
  const done = await hop(b, back.href);
  assert.equal(done.statusCode, 303, done.body);
  assert.equal(await flowStatus(h, flowId), 'DAG_USER_CODE_REQUIRED');
});

test('two providers: one email and even one sub at both are two people; a provider re-added under a new name finds its people again', async (t) => {
  const h = await build(t, { clock: new TestClock('real') });
  const env = h.services.defaultEnv;
  const cb = (name: string) => h.services.urls.idpCallback(env.id, name);
  const corp = await startUpstream(t, { users: [ALICE], client: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [cb('corp'), cb('corp-eu')] } });
  // Another organisation's Alice: the same address, even the same sub.
  const partner = await startUpstream(t, { users: [{ ...ALICE, name: 'Alice Partner' }], client: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [cb('partner')] } });
  const add = (name: string, label: string, issuer: string) =>
    h.services.admin.identityProviders.add(env, { name, displayName: label, issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  await add('corp', 'Corp SSO', corp.issuer);
  await add('partner', 'Partner SSO', partner.issuer);
  const client = await h.publicClient({ scope: 'openid profile email' });

  const signInWith = async (label: string, upstream: Upstream) => {
    const device = await deviceStarts(h, client);
    const b = new PageBrowser(h);
    assertHtmlPage(await b.open(device.verification_uri_complete), 200);
    const start = await hop(b, continueWith(b.body, label));
    assert.equal(start.statusCode, 302, start.body);
    const res = await hop(b, await upstream.loginOverHttp(String(start.headers.location), ALICE.username, ALICE.password));
    assert.equal(res.statusCode, 303, res.body);
    const user = await h.services.store.users.getByIdentity(env.id, upstream.issuer, ALICE.sub);
    assert.ok(user);
    return user;
  };
  const atCorp = await signInWith('Corp SSO', corp);
  const atPartner = await signInWith('Partner SSO', partner);
  assert.notEqual(atCorp.id, atPartner.id);
  assert.deepEqual([atCorp.email, atPartner.email], [ALICE.email, ALICE.email]);
  assert.deepEqual([atCorp.name, atPartner.name], [ALICE.name, 'Alice Partner']);

  // Renamed: removed, then added under another name with the same issuer. Same people, the new button.
  await h.services.admin.identityProviders.remove(env, 'corp');
  await add('corp-eu', 'Corp SSO (EU)', corp.issuer);
  // A running server reads its providers again within a minute (idp add and remove may come from another process).
  const page = new PageBrowser(h);
  assertHtmlPage(await page.open('/device'), 200);
  assert.match(page.body, /Continue with Corp SSO</, 'still the list read a moment ago');
  h.clock.advance(61);
  assertHtmlPage(await page.open('/device'), 200);
  assert.doesNotMatch(page.body, /Continue with Corp SSO</);
  const start = await hop(page, continueWith(page.body, 'Corp SSO \\(EU\\)'));
  const res = await hop(page, await corp.loginOverHttp(String(start.headers.location), ALICE.username, ALICE.password));
  assert.equal(res.statusCode, 303, res.body);
  assert.equal((await h.services.store.users.list(env.id)).length, 2, 'nobody new');
});

test('a provider that keeps profile and email claims to UserInfo: they are read from there', async (t) => {
  const s = await setup(t, undefined, [ALICE], { claimsInUserInfoOnly: true });
  const { b, authUrl } = await startAtDevice(s);
  const res = await hop(b, await s.upstream.loginOverHttp(authUrl.href, ALICE.username, ALICE.password));
  assert.equal(res.statusCode, 303, res.body);
  const alice = await s.h.services.store.users.getByIdentity(s.env.id, s.upstream.issuer, ALICE.sub);
  assert.deepEqual([alice?.username, alice?.email, alice?.emailVerified, alice?.name, alice?.givenName, alice?.familyName],
    ['alice', ALICE.email, true, ALICE.name, ALICE.givenName, ALICE.familyName]);
});
