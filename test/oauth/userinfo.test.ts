// UserInfo (OpenID Connect Core §5.3) as a bearer resource (RFC 6750): the same person and claims
// as the ID token, for an active access token granted openid; every other token is invalid_token,
// a token without openid insufficient_scope; bad requests are 4xx with a Bearer challenge.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeJwt } from 'jose';
import type { LightMyRequestResponse } from 'fastify';
import type { Client, Environment } from '../../src/model/records.ts';
import { build, type TestApp } from '../helpers/build.ts';
import { approveAsPerson, assertNoStore, assertOAuthError, basic, poll, prefixFor, startAuthorization, type TokenBody } from './_support.ts';

const PASSWORD = 'correct horse battery';

interface Tokens extends TokenBody {
  id_token?: string;
  refresh_token?: string;
}

async function setup(t: Parameters<typeof build>[0], env: Record<string, string> = {}) {
  const h = await build(t, { env });
  const client = (await h.services.admin.createClient({
    envId: h.services.defaultEnv.id, name: 'TV', scope: 'openid profile email', refreshTokens: true,
  })).client;
  const user = await h.services.admin.users.create({
    envId: h.services.defaultEnv.id, username: 'alice', email: 'alice@example.test', password: PASSWORD, name: 'Alice Liddell',
  });
  return { h, client, user };
}

async function login(h: TestApp, client: Client, scope: string, env?: Environment): Promise<Tokens> {
  const started = await startAuthorization(h, client, { scope, ...(env ? { env } : {}) });
  await approveAsPerson(h, started.user_code, 'alice', PASSWORD, env ? { env } : {});
  const res = await poll(h, started.device_code, client.clientId, env ? { env } : {});
  assert.equal(res.statusCode, 200, res.body);
  return res.json<Tokens>();
}

const userinfo = (h: TestApp, token: string, o: { method?: 'GET' | 'POST'; env?: Environment; remoteAddress?: string } = {}) =>
  h.inject({ method: o.method ?? 'GET', url: `${prefixFor(o.env)}/userinfo`, headers: { authorization: `Bearer ${token}` }, remoteAddress: o.remoteAddress ?? '192.0.2.10' });

function assertChallenge(res: LightMyRequestResponse, status: number, error: string): void {
  assertOAuthError(res, status, error);
  assert.match(String(res.headers['www-authenticate']), new RegExp(`^Bearer realm="[^"]+", error="${error}"`));
}

test('GET and POST: the claims of the approved scopes, the same subject as the ID token, no-store', async (t) => {
  const { h, client, user } = await setup(t);
  const tokens = await login(h, client, 'openid profile');
  for (const method of ['GET', 'POST'] as const) {
    const res = await userinfo(h, tokens.access_token, { method });
    assert.equal(res.statusCode, 200, res.body);
    assertNoStore(res);
    const claims = res.json<Record<string, unknown>>();
    assert.deepEqual(claims, { sub: user.id, name: 'Alice Liddell', preferred_username: 'alice', updated_at: Math.floor(user.updatedAt / 1000) });
    assert.equal(claims.sub, decodeJwt(tokens.id_token ?? '').sub);
  }
  // RFC 6750 §2.2: the token in a form body instead of the header.
  const inBody = await h.form('/oauth/userinfo', { access_token: tokens.access_token });
  assert.equal(inBody.statusCode, 200, inBody.body);
  const email = await login(h, client, 'openid email');
  assert.deepEqual((await userinfo(h, email.access_token)).json(), { sub: user.id, email: 'alice@example.test', email_verified: false });
  assert.match(await h.services.metrics.render(), /dcs_userinfo_total\{outcome="ok"\} 4\n/);
});

test('a token without openid: 403 insufficient_scope naming the scope it needs', async (t) => {
  const { h, client } = await setup(t);
  const tokens = await login(h, client, 'profile email');
  const res = await userinfo(h, tokens.access_token);
  assertOAuthError(res, 403, 'insufficient_scope');
  assert.match(String(res.headers['www-authenticate']), /^Bearer realm="[^"]+", error="insufficient_scope", scope="openid"$/);
  assert.match(await h.services.metrics.render(), /dcs_userinfo_total\{outcome="insufficient_scope"\} 1\n/);
});

test('inactive tokens are invalid_token: another environment\'s, a revoked grant, a disabled user, a revoked or expired token', async (t) => {
  const { h, client, user } = await setup(t);
  const staging = await h.services.admin.createEnvironment('staging');
  const elsewhere = await h.publicClient({ scope: 'openid', envId: staging.id });
  await h.services.admin.users.create({ envId: staging.id, username: 'alice', email: 'alice@example.test', password: PASSWORD });
  const foreign = await login(h, elsewhere, 'openid', staging);
  assert.equal((await userinfo(h, foreign.access_token, { env: staging })).statusCode, 200, 'at home it works');
  assertChallenge(await userinfo(h, foreign.access_token), 401, 'invalid_token');

  const revokedGrant = await login(h, client, 'openid offline_access');
  assert.equal((await h.form('/oauth/revoke', { token: revokedGrant.refresh_token ?? '', client_id: client.clientId })).statusCode, 200);
  assertChallenge(await userinfo(h, revokedGrant.access_token), 401, 'invalid_token');

  const revokedToken = await login(h, client, 'openid');
  assert.equal((await h.form('/oauth/revoke', { token: revokedToken.access_token, client_id: client.clientId })).statusCode, 200);
  assertChallenge(await userinfo(h, revokedToken.access_token), 401, 'invalid_token');

  const live = await login(h, client, 'openid');
  h.clock.advance(client.tokenLifetime + 61);
  assertChallenge(await userinfo(h, live.access_token), 401, 'invalid_token');

  const beforeDisable = await login(h, client, 'openid');
  await h.services.admin.users.setDisabled(h.services.defaultEnv.id, user.username, true);
  assertChallenge(await userinfo(h, beforeDisable.access_token), 401, 'invalid_token');
  assert.match(await h.services.metrics.render(), /dcs_userinfo_total\{outcome="invalid_token"\} 5\n/);
});

test('bad requests: no token, a Basic header, a token in the query, two tokens, an oversized or malformed token, a refresh token', async (t) => {
  const { h, client } = await setup(t);
  const tokens = await login(h, client, 'openid offline_access');
  assertChallenge(await h.inject({ method: 'GET', url: '/oauth/userinfo' }), 401, 'invalid_token');
  assertChallenge(await h.inject({ method: 'GET', url: '/oauth/userinfo', headers: { authorization: basic('alice', PASSWORD) } }), 401, 'invalid_token');
  assertChallenge(await h.inject({ method: 'GET', url: `/oauth/userinfo?access_token=${tokens.access_token}` }), 401, 'invalid_token');
  const both = await h.form('/oauth/userinfo', { access_token: tokens.access_token }, { authorization: `Bearer ${tokens.access_token}` });
  assertChallenge(both, 400, 'invalid_request');
  assertChallenge(await userinfo(h, 'x'.repeat(20_000)), 401, 'invalid_token');
  assertChallenge(await userinfo(h, 'not.a.jwt'), 401, 'invalid_token');
  assertChallenge(await userinfo(h, tokens.refresh_token ?? ''), 401, 'invalid_token');
  const json = await h.inject({ method: 'POST', url: '/oauth/userinfo', headers: { 'content-type': 'application/json' }, payload: '{"access_token":"x"}' });
  assertOAuthError(json, 415, 'invalid_request');
  const repeated = await h.inject({ method: 'POST', url: '/oauth/userinfo', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'access_token=a&access_token=b' });
  assertOAuthError(repeated, 400, 'invalid_request');
});

test('limited per token subject: another person, or a failed token from elsewhere, has its own budget', async (t) => {
  const { h, client } = await setup(t, { RATE_LIMIT_USERINFO: '2' });
  const tokens = await login(h, client, 'openid');
  assert.equal((await userinfo(h, tokens.access_token, { remoteAddress: '192.0.2.1' })).statusCode, 200);
  assert.equal((await userinfo(h, tokens.access_token, { remoteAddress: '192.0.2.2' })).statusCode, 200, 'the subject, not the address, is counted');
  const spent = await userinfo(h, tokens.access_token, { remoteAddress: '192.0.2.3' });
  assertOAuthError(spent, 429, 'temporarily_unavailable');
  assert.match(String(spent.headers['retry-after']), /^\d+$/);
  assertChallenge(await userinfo(h, 'not.a.jwt', { remoteAddress: '192.0.2.4' }), 401, 'invalid_token');
});
