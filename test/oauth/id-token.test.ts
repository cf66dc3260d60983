// OpenID Connect ID tokens from the device grant (OpenID Connect Core §2, §3.1.3.6, §12.2): claims
// by approved scope, the sign-in recorded when the person signed in on our page, the same subject
// as the access token, a fresh ID token with the same auth_time on refresh, signed by the
// environment's key.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import type { Client, Environment } from '../../src/model/records.ts';
import { build, type TestApp } from '../helpers/build.ts';
import { approveAsPerson, decide, poll, prefixFor, startAuthorization, type TokenBody } from './_support.ts';

const PASSWORD = 'correct horse battery';

interface Tokens extends TokenBody {
  id_token?: string;
  refresh_token?: string;
}

async function alice(h: TestApp, envId = h.services.defaultEnv.id) {
  return h.services.admin.users.create({
    envId, username: 'alice', email: 'alice@example.test', password: PASSWORD,
    name: 'Alice Liddell', givenName: 'Alice', familyName: 'Liddell', emailVerified: true,
  });
}

/** A device login approved by alice through the flow API; `between` runs after her sign-in. */
async function login(h: TestApp, client: Client, scope: string, o: { env?: Environment; between?: () => void } = {}): Promise<Tokens> {
  const started = await startAuthorization(h, client, { scope, ...(o.env ? { env: o.env } : {}) });
  await approveAsPerson(h, started.user_code, 'alice', PASSWORD, o);
  const res = await poll(h, started.device_code, client.clientId, o.env ? { env: o.env } : {});
  assert.equal(res.statusCode, 200, res.body);
  return res.json<Tokens>();
}

async function verifyIdToken(h: TestApp, token: string, issuer: string, audience: string, env?: Environment): Promise<JWTPayload> {
  const jwks = (await h.inject({ method: 'GET', url: `${prefixFor(env)}/jwks` })).json<JSONWebKeySet>();
  const header = decodeProtectedHeader(token);
  assert.equal(header.typ, 'JWT');
  assert.equal(typeof header.kid, 'string');
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer, audience, typ: 'JWT', currentDate: new Date(h.clock.now()) });
  return payload;
}

const SIGN_IN_CLAIMS = ['acr', 'amr', 'aud', 'auth_time', 'azp', 'exp', 'iat', 'iss', 'sid', 'sub'];

test('claims by approved scope: openid alone names only the subject; profile and email add theirs; no openid, no ID token', async (t) => {
  const h = await build(t);
  const client = await h.publicClient({ scope: 'openid profile email' });
  const user = await alice(h);
  const cases: [string, string[]][] = [
    ['openid', []],
    ['openid profile', ['family_name', 'given_name', 'name', 'preferred_username', 'updated_at']],
    ['openid email', ['email', 'email_verified']],
    ['openid profile email', ['email', 'email_verified', 'family_name', 'given_name', 'name', 'preferred_username', 'updated_at']],
  ];
  for (const [scope, extra] of cases) {
    const tokens = await login(h, client, scope);
    assert.ok(tokens.id_token, `an ID token for ${scope}`);
    const claims = await verifyIdToken(h, tokens.id_token, 'http://issuer.test', client.clientId);
    assert.deepEqual(Object.keys(claims).sort(), [...SIGN_IN_CLAIMS, ...extra].sort(), scope);
    assert.equal(claims.sub, user.id);
    assert.equal(claims.azp, client.clientId);
    assert.deepEqual(claims.amr, ['pwd']);
    assert.equal(claims.acr, '1');
    assert.equal(claims.nonce, undefined, 'the device flow has no nonce');
    if (extra.includes('name')) {
      assert.deepEqual([claims.name, claims.given_name, claims.family_name, claims.preferred_username], ['Alice Liddell', 'Alice', 'Liddell', 'alice']);
      assert.equal(claims.updated_at, Math.floor(user.updatedAt / 1000));
    }
    if (extra.includes('email')) assert.deepEqual([claims.email, claims.email_verified], ['alice@example.test', true]);
  }
  const plain = await login(h, client, 'profile email');
  assert.equal(plain.id_token, undefined, 'no openid, no ID token');
});

test('auth_time is when the person signed in, not when the device polled; sub and sid agree with the access token', async (t) => {
  const h = await build(t);
  const client = await h.publicClient({ scope: 'openid profile', pollInterval: 1 });
  const user = await alice(h);
  const signedInAt = h.clock.now();
  const tokens = await login(h, client, 'openid profile', { between: () => { h.clock.advance(120); } });
  h.clock.advance(5);
  const claims = await verifyIdToken(h, tokens.id_token ?? '', 'http://issuer.test', client.clientId);
  assert.equal(claims.auth_time, Math.floor(signedInAt / 1000));
  assert.equal(claims.iat, Math.floor((signedInAt + 120_000) / 1000), 'issued at the redeeming poll');
  assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), client.tokenLifetime, 'lives as long as the access token');
  const access = await jwtVerify(tokens.access_token, createLocalJWKSet((await h.inject({ method: 'GET', url: '/oauth/jwks' })).json<JSONWebKeySet>()),
    { currentDate: new Date(h.clock.now()) });
  assert.equal(access.payload.sub, claims.sub);
  assert.equal(claims.sub, user.id);
  assert.equal(access.payload.gid, claims.sid, 'sid is the grant the access token belongs to');
});

test('refresh: a fresh ID token with the same sub, auth_time and sid; a refresh that narrows away openid gets none', async (t) => {
  const h = await build(t);
  const client = (await h.services.admin.createClient({ envId: h.services.defaultEnv.id, name: 'CLI', scope: 'openid profile', refreshTokens: true })).client;
  await alice(h);
  const first = await login(h, client, 'openid profile offline_access');
  const before = await verifyIdToken(h, first.id_token ?? '', 'http://issuer.test', client.clientId);
  h.clock.advance(600);
  const refreshed = await h.form('/oauth/token', { grant_type: 'refresh_token', refresh_token: first.refresh_token ?? '', client_id: client.clientId });
  assert.equal(refreshed.statusCode, 200, refreshed.body);
  const next = refreshed.json<Tokens>();
  const after = await verifyIdToken(h, next.id_token ?? '', 'http://issuer.test', client.clientId);
  assert.deepEqual([after.sub, after.auth_time, after.sid, after.name], [before.sub, before.auth_time, before.sid, before.name]);
  assert.equal((after.iat ?? 0) - (before.iat ?? 0), 600);
  const narrowed = await h.form('/oauth/token', { grant_type: 'refresh_token', refresh_token: next.refresh_token ?? '', client_id: client.clientId, scope: 'profile' });
  assert.equal(narrowed.statusCode, 200, narrowed.body);
  assert.equal(narrowed.json<Tokens>().id_token, undefined);
  const metrics = await h.services.metrics.render();
  assert.match(metrics, /dcs_tokens_issued_total\{kind="id"\} 2\n/);
});

test('per environment: the ID token names that environment\'s issuer and verifies only with its keys', async (t) => {
  const h = await build(t);
  const env = await h.services.admin.createEnvironment('staging');
  const client = await h.publicClient({ scope: 'openid email', envId: env.id });
  await alice(h, env.id);
  const tokens = await login(h, client, 'openid email', { env });
  const issuer = `http://issuer.test/${env.id}/as`;
  const claims = await verifyIdToken(h, tokens.id_token ?? '', issuer, client.clientId, env);
  assert.equal(claims.email, 'alice@example.test');
  await assert.rejects(verifyIdToken(h, tokens.id_token ?? '', issuer, client.clientId), 'the default environment\'s keys do not verify it');
});

test('an approval made on a person\'s behalf (the CLI) says when, and no sign-in method; a password session gets no ID token', async (t) => {
  const h = await build(t);
  const client = await h.publicClient({ scope: 'openid' });
  const user = await alice(h);
  const started = await startAuthorization(h, client, { scope: 'openid' });
  await decide(h, started.user_code, user, true);
  const res = await poll(h, started.device_code, client.clientId);
  const claims = await verifyIdToken(h, res.json<Tokens>().id_token ?? '', 'http://issuer.test', client.clientId);
  assert.equal(claims.auth_time, Math.floor(h.clock.now() / 1000));
  assert.equal(claims.amr, undefined);
  assert.equal(claims.acr, undefined);
  const session = await h.form('/api/oauth2/token', { grant_type: 'Password', username: 'alice', password: PASSWORD });
  assert.equal(session.statusCode, 200, session.body);
  assert.equal(session.json<Record<string, unknown>>().id_token, undefined);
});

test('an ID token is never a credential: not at UserInfo, introspection, getDeviceCode or the RSA admin API', async (t) => {
  const h = await build(t);
  const client = await h.publicClient({ scope: 'openid profile' });
  await alice(h);
  const { id_token: idToken } = await login(h, client, 'openid profile');
  assert.ok(idToken);
  const bearer = { authorization: `Bearer ${idToken}` };
  assert.equal((await h.inject({ method: 'GET', url: '/oauth/userinfo', headers: bearer })).statusCode, 401);
  assert.equal((await h.inject({ method: 'GET', url: '/api/v1/accounts/created/getDeviceCode', headers: bearer })).statusCode, 401);
  const rsa = await h.inject({ method: 'POST', url: '/AdminInterface/restapi/v1/users/lookup', headers: { ...bearer, 'content-type': 'application/json' }, payload: '{"username":"alice"}' });
  assert.equal(rsa.statusCode, 403);
  const { client: rs, secret } = await h.confidentialClient();
  const introspected = await h.form('/oauth/introspect', { token: idToken, client_id: rs.clientId, client_secret: secret });
  assert.deepEqual(introspected.json(), { active: false });
});
