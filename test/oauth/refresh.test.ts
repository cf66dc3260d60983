// Refresh tokens (RFC 6749 §6, RFC 9700 §4.14): rotation, reuse detection ending the
// grant, the grace window, narrowing, idle and absolute expiry, and the re-checks at every use.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { decodeJwt } from 'jose';
import type { NewClient } from '../../src/core/admin.ts';
import type { Client, Environment, User } from '../../src/model/records.ts';
import { build, DEVICE_CODE_GRANT, type TestApp } from '../helpers/build.ts';
import { assertNoStore, assertOAuthError, basic, decide, poll, prefixFor, startAuthorization, type TokenBody } from './_support.ts';

interface WithRefresh extends TokenBody {
  refresh_token?: string;
}

async function refreshClient(h: TestApp, o: Partial<NewClient> = {}): Promise<{ client: Client; secret?: string }> {
  return h.services.admin.createClient({ envId: h.services.defaultEnv.id, name: 'CLI', scope: 'openid profile', refreshTokens: true, ...o });
}

/** A whole device login; returns the token response (asserted 200). */
async function login(h: TestApp, client: Client, o: { scope?: string; user?: User; env?: Environment; secret?: string } = {}): Promise<WithRefresh> {
  const started = await startAuthorization(h, client, { scope: o.scope ?? 'openid profile offline_access', ...(o.env ? { env: o.env } : {}), ...(o.secret ? { secret: o.secret } : {}) });
  await decide(h, started.user_code, o.user ?? (await h.user()), true, o.env);
  const res = await poll(h, started.device_code, client.clientId, { ...(o.env ? { env: o.env } : {}), ...(o.secret ? { extra: { client_secret: o.secret } } : {}) });
  assert.equal(res.statusCode, 200, res.body);
  return res.json<WithRefresh>();
}

function refresh(h: TestApp, client: Client, token: string, o: { scope?: string; env?: Environment; secret?: string; remoteAddress?: string } = {}) {
  const body: Record<string, string> = { grant_type: 'refresh_token', refresh_token: token, client_id: client.clientId };
  if (o.scope !== undefined) body.scope = o.scope;
  if (o.secret !== undefined) body.client_secret = o.secret;
  return h.form(`${prefixFor(o.env)}/token`, body);
}

function introspect(h: TestApp, rs: { client: Client; secret: string }, token: string) {
  return h.form('/oauth/introspect', { token }, { authorization: basic(rs.client.clientId, rs.secret) });
}

async function resourceServer(h: TestApp): Promise<{ client: Client; secret: string }> {
  const r = await h.services.admin.createClient({ envId: h.services.defaultEnv.id, name: 'API', confidential: true });
  return { client: r.client, secret: r.secret ?? '' };
}

test('a device login with offline_access gets a refresh token (rt_, 256 bits); the access token carries the grant id', async (t) => {
  const h = await build(t);
  const { client } = await refreshClient(h);
  const token = await login(h, client);
  assert.match(token.refresh_token ?? '', /^rt_[A-Za-z0-9_-]{43}$/);
  const claims = decodeJwt(token.access_token);
  assert.match(String(claims.gid), /^[0-9a-f-]{36}$/);
  assert.equal(token.scope, 'openid profile offline_access');
  // Without offline_access there is a grant but no refresh token…
  const plain = await login(h, client, { scope: 'openid' });
  assert.equal(plain.refresh_token, undefined);
  assert.ok(decodeJwt(plain.access_token).gid);
  // …unless the client always gets one.
  const { client: always } = await refreshClient(h, { refreshAlways: true });
  assert.match((await login(h, always, { scope: 'openid' })).refresh_token ?? '', /^rt_/);
  // A client that may not use refresh tokens never gets one, and may not even ask for offline_access.
  const old = await h.publicClient({ scope: 'openid' });
  const started = await h.form('/oauth/device_authorization', { client_id: old.clientId, scope: 'openid offline_access' });
  assertOAuthError(started, 400, 'invalid_scope');
});

test('every refresh rotates the token; the access token and its scope are new; nothing raw is stored', async (t) => {
  const h = await build(t);
  const { client } = await refreshClient(h);
  const first = await login(h, client);
  h.clock.advance(10);
  const res = await refresh(h, client, first.refresh_token ?? '');
  assert.equal(res.statusCode, 200, res.body);
  assertNoStore(res);
  const second = res.json<WithRefresh>();
  // The grant holds openid: a fresh ID token comes with every refresh (OpenID Connect Core §12.2).
  assert.deepEqual(Object.keys(second).sort(), ['access_token', 'expires_in', 'id_token', 'refresh_token', 'scope', 'token_type']);
  assert.notEqual(second.refresh_token, first.refresh_token);
  assert.notEqual(second.access_token, first.access_token);
  assert.equal(second.scope, first.scope);
  assert.equal(decodeJwt(second.access_token).gid, decodeJwt(first.access_token).gid, 'the same grant');
  const third = (await refresh(h, client, second.refresh_token ?? '')).json<WithRefresh>();
  assert.match(third.refresh_token ?? '', /^rt_/);
  const db = new Database(h.config.databasePath, { readonly: true });
  const dump = JSON.stringify([db.prepare('SELECT * FROM refresh_tokens').all(), db.prepare('SELECT * FROM grants').all()]);
  db.close();
  for (const raw of [first.refresh_token, second.refresh_token, third.refresh_token]) assert.ok(!dump.includes(String(raw).slice(3)), 'no raw refresh token at rest');
});

test('a rotated-out token presented again revokes the whole grant: every token of it stops working', async (t) => {
  const h = await build(t);
  const { client } = await refreshClient(h);
  const rs = await resourceServer(h);
  const first = await login(h, client);
  const second = (await refresh(h, client, first.refresh_token ?? '')).json<WithRefresh>();
  assert.equal((await introspect(h, rs, second.access_token)).json<{ active: boolean }>().active, true);
  // The attacker (or a confused client) replays the old token.
  const replay = await refresh(h, client, first.refresh_token ?? '');
  assertOAuthError(replay, 400, 'invalid_grant');
  assert.match(replay.json<{ error_description: string }>().error_description, /revoked/);
  assertOAuthError(await refresh(h, client, second.refresh_token ?? ''), 400, 'invalid_grant');
  for (const access of [first.access_token, second.access_token]) {
    assert.equal((await introspect(h, rs, access)).json<{ active: boolean }>().active, false);
  }
  // Another grant of the same user and client is untouched.
  const other = await login(h, client);
  assert.equal((await refresh(h, client, other.refresh_token ?? '')).statusCode, 200);
});

test('REFRESH_REUSE_GRACE_SECONDS: a retry after a lost answer gets a new token; after the grace it is reuse', async (t) => {
  const h = await build(t, { env: { REFRESH_REUSE_GRACE_SECONDS: '30' } });
  const { client } = await refreshClient(h);
  const first = await login(h, client);
  const lost = (await refresh(h, client, first.refresh_token ?? '')).json<WithRefresh>();
  h.clock.advance(20);
  // The client never saw `lost` and retries with the token it has: a new one, the grant lives.
  const retried = await refresh(h, client, first.refresh_token ?? '');
  assert.equal(retried.statusCode, 200, retried.body);
  const kept = (await refresh(h, client, retried.json<WithRefresh>().refresh_token ?? '')).json<WithRefresh>();
  assert.match(kept.refresh_token ?? '', /^rt_/);
  // The answer that was lost turns up after all: someone else had it, and the grant ends.
  assertOAuthError(await refresh(h, client, lost.refresh_token ?? ''), 400, 'invalid_grant');
  assertOAuthError(await refresh(h, client, kept.refresh_token ?? ''), 400, 'invalid_grant');

  // Past the grace, presenting a rotated-out token is reuse like any other.
  const second = await login(h, client);
  const next = (await refresh(h, client, second.refresh_token ?? '')).json<WithRefresh>();
  h.clock.advance(31);
  assertOAuthError(await refresh(h, client, second.refresh_token ?? ''), 400, 'invalid_grant');
  assertOAuthError(await refresh(h, client, next.refresh_token ?? ''), 400, 'invalid_grant');
});

test('scope may narrow, never widen; the grant keeps its scope', async (t) => {
  const h = await build(t);
  const { client } = await refreshClient(h, { scope: 'openid profile email' });
  const first = await login(h, client, { scope: 'openid profile offline_access' });
  const narrow = await refresh(h, client, first.refresh_token ?? '', { scope: 'openid' });
  assert.equal(narrow.statusCode, 200, narrow.body);
  assert.equal(narrow.json<WithRefresh>().scope, 'openid');
  assert.equal(decodeJwt(narrow.json<WithRefresh>().access_token).scope, 'openid');
  // email is allowed to the client but was not granted: widening.
  assertOAuthError(await refresh(h, client, narrow.json<WithRefresh>().refresh_token ?? '', { scope: 'openid email' }), 400, 'invalid_scope');
  const full = await refresh(h, client, narrow.json<WithRefresh>().refresh_token ?? '');
  assert.equal(full.json<WithRefresh>().scope, 'openid profile offline_access');
});

test('idle and absolute expiry, on the injected clock', async (t) => {
  const h = await build(t);
  const { client } = await refreshClient(h, { refreshIdleSeconds: 3600, refreshLifetimeSeconds: 7200 });
  let token = (await login(h, client)).refresh_token ?? '';
  for (const step of [3000, 3000]) {
    h.clock.advance(step);
    const res = await refresh(h, client, token);
    assert.equal(res.statusCode, 200, `use keeps the grant alive: ${res.body}`);
    token = res.json<WithRefresh>().refresh_token ?? '';
  }
  h.clock.advance(1201); // 7201 s after the approval, however recently used
  assertOAuthError(await refresh(h, client, token), 400, 'invalid_grant');
  const idle = (await login(h, client)).refresh_token ?? '';
  h.clock.advance(3601);
  assertOAuthError(await refresh(h, client, idle), 400, 'invalid_grant');
});

test('re-checked at every refresh: a disabled user, a deleted client, a client that lost the grant type', async (t) => {
  const h = await build(t);
  const { client } = await refreshClient(h);
  const alice = await h.user('alice');
  const token = (await login(h, client, { user: alice })).refresh_token ?? '';
  await h.services.admin.users.setDisabled(h.services.defaultEnv.id, 'alice', true);
  assertOAuthError(await refresh(h, client, token), 400, 'invalid_grant');
  await h.services.admin.users.setDisabled(h.services.defaultEnv.id, 'alice', false);
  // The disable ended the grant (README "Staying signed in"): enabled again, alice signs in anew.
  assertOAuthError(await refresh(h, client, token), 400, 'invalid_grant');

  const { client: lost } = await refreshClient(h);
  const lostToken = (await login(h, lost)).refresh_token ?? '';
  assert.ok(await h.services.store.clients.update({ ...lost, grantTypes: [DEVICE_CODE_GRANT] }));
  assertOAuthError(await refresh(h, lost, lostToken), 400, 'unauthorized_client');

  const { client: gone } = await refreshClient(h);
  const goneToken = (await login(h, gone)).refresh_token ?? '';
  await h.services.admin.deleteClient(gone.envId, gone.clientId);
  assertOAuthError(await refresh(h, gone, goneToken), 401, 'invalid_client');
});

test('a confidential client may keep one refresh token (no rotation); public clients always rotate', async (t) => {
  const h = await build(t);
  const { client, secret } = await refreshClient(h, { confidential: true, noRotation: true });
  const token = await login(h, client, { secret: secret ?? '' });
  for (let i = 0; i < 3; i++) {
    const res = await refresh(h, client, token.refresh_token ?? '', { secret: secret ?? '' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json<WithRefresh>().refresh_token, token.refresh_token);
  }
  await assert.rejects(h.services.admin.createClient({ envId: h.services.defaultEnv.id, name: 'x', refreshTokens: true, noRotation: true }), /public clients always rotate/);
});

test('another client\'s or another environment\'s token is invalid_grant and changes nothing; malformed ones too', async (t) => {
  const h = await build(t);
  const { client } = await refreshClient(h);
  const { client: other } = await refreshClient(h);
  const token = (await login(h, client)).refresh_token ?? '';
  assertOAuthError(await refresh(h, other, token), 400, 'invalid_grant');
  const env = await h.services.admin.createEnvironment('tenant-b');
  const { client: envClient } = await h.services.admin.createClient({ envId: env.id, name: 'B', refreshTokens: true });
  assertOAuthError(await refresh(h, envClient, token, { env }), 400, 'invalid_grant');
  for (const bad of ['rt_', 'rt_x', `${token}x`, token.slice(0, -1), token.toUpperCase(), 'dc_abc', '', `rt_${'a'.repeat(5000)}`]) {
    const res = await refresh(h, client, bad);
    assert.ok(res.statusCode === 400, `${bad.slice(0, 20)}: ${res.body}`);
    assert.ok(['invalid_grant', 'invalid_request'].includes(res.json<{ error: string }>().error));
  }
  assert.equal((await refresh(h, client, token)).statusCode, 200, 'the owner\'s token still works');
  assertOAuthError(await h.form('/oauth/token', `grant_type=refresh_token&refresh_token=${token}&refresh_token=${token}&client_id=${client.clientId}`), 400, 'invalid_request');
  assertOAuthError(await h.form('/oauth/token', { grant_type: 'refresh_token', client_id: client.clientId }), 400, 'invalid_request');
});

test('concurrent refreshes with one token over real sockets: exactly one new token', async (t) => {
  const h = await build(t, { env: { RATE_LIMIT_TOKEN: '1000' } });
  const { client } = await refreshClient(h);
  const token = (await login(h, client)).refresh_token ?? '';
  const url = await h.listen();
  const answers = await Promise.all(Array.from({ length: 10 }, async () => {
    const res = await fetch(`${url}/oauth/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token, client_id: client.clientId }),
    });
    return res.status;
  }));
  assert.equal(answers.filter((s) => s === 200).length, 1, answers.join(','));
  assert.equal(answers.filter((s) => s === 400).length, 9);
});

test('the per-environment token endpoint refreshes that environment\'s grants', async (t) => {
  const h = await build(t);
  const env = await h.services.admin.createEnvironment('tenant-b');
  const { client } = await h.services.admin.createClient({ envId: env.id, name: 'B', refreshTokens: true });
  const carol = await h.user('carol', 'correct horse battery', env.id);
  const token = await login(h, client, { env, user: carol });
  const res = await refresh(h, client, token.refresh_token ?? '', { env });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(decodeJwt(res.json<WithRefresh>().access_token).iss, `http://issuer.test/${env.id}/as`);
});
