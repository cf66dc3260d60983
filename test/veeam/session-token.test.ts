// The Veeam password grant (docs/vendors.md): a session token for the session API.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { build } from '../helpers/build.ts';
import { assertNoStore } from '../oauth/_support.ts';
import { assertProblem, PASSWORD } from './_support.ts';

test("Veeam's example request gets a session token: fields, types, headers and claims", async (t) => {
  const h = await build(t);
  const alice = await h.user('alice', PASSWORD);
  // Veeam's documented body, spelled as Veeam spells it.
  const res = await h.form('/api/oauth2/token', `grant_type=Password&Username=alice&Password=${encodeURIComponent(PASSWORD)}`);
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
  assertNoStore(res);
  const body = res.json<Record<string, unknown>>();
  assert.deepEqual(Object.keys(body), ['access_token', 'token_type', 'refresh_token', 'expires_in', '.issued', '.expires']);
  assert.match(String(body.refresh_token), /^rt_[A-Za-z0-9_-]{43}$/);
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.expires_in, 3600);
  assert.equal(body['.issued'], new Date(h.clock.now()).toUTCString());
  assert.equal(body['.expires'], new Date(h.clock.now() + 3600_000).toUTCString());
  const token = String(body.access_token);
  assert.equal(decodeProtectedHeader(token).typ, 'session+jwt');
  const claims = decodeJwt(token);
  assert.equal(claims.iss, 'http://issuer.test');
  assert.equal(claims.aud, 'http://issuer.test/api');
  assert.equal(claims.sub, alice.id);
  assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), 3600);
  assert.equal(typeof claims.jti, 'string');
});

test('the grant type is case-insensitive and both spellings of the credentials work', async (t) => {
  const h = await build(t);
  await h.user('alice', PASSWORD);
  const bodies: Record<string, string>[] = [
    { grant_type: 'password', username: 'alice', password: PASSWORD },
    { grant_type: 'PASSWORD', Username: 'alice', password: PASSWORD },
    { grant_type: 'pAsSwOrD', username: 'alice', Password: PASSWORD },
    // Both spellings at once are fine when they agree.
    { grant_type: 'Password', username: 'alice', Username: 'alice', Password: PASSWORD },
  ];
  for (const body of bodies) {
    const res = await h.form('/api/oauth2/token', body);
    assert.equal(res.statusCode, 200, `${JSON.stringify(Object.keys(body))}: ${res.body}`);
  }
});

test('SESSION_TOKEN_LIFETIME_SECONDS sets expires_in and exp', async (t) => {
  const h = await build(t, { env: { SESSION_TOKEN_LIFETIME_SECONDS: '600' } });
  await h.user('alice', PASSWORD);
  const res = await h.form('/api/oauth2/token', { grant_type: 'Password', Username: 'alice', Password: PASSWORD });
  assert.equal(res.json<{ expires_in: number }>().expires_in, 600);
  const claims = decodeJwt(res.json<{ access_token: string }>().access_token);
  assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), 600);
});

test('a wrong password, an unknown user and a disabled user all get the same invalid_grant', async (t) => {
  const h = await build(t);
  await h.user('alice', PASSWORD);
  await h.user('bob', PASSWORD);
  await h.services.admin.users.setDisabled(h.services.defaultEnv.id, 'bob', true);
  const details = new Set<string>();
  for (const [username, password] of [['alice', 'wrong password'], ['nobody', PASSWORD], ['bob', PASSWORD]] as const) {
    const res = await h.form('/api/oauth2/token', { grant_type: 'Password', Username: username, Password: password });
    details.add(assertProblem(res, 400, 'invalid_grant').detail);
    assertNoStore(res);
  }
  assert.equal(details.size, 1, 'the answer does not reveal which of the three it was');
});

test('missing, unsupported and contradictory parameters', async (t) => {
  const h = await build(t);
  await h.user('alice', PASSWORD);
  const cases: [Record<string, string>, number, string][] = [
    [{ Username: 'alice', Password: PASSWORD }, 400, 'invalid_request'],
    [{ grant_type: 'client_credentials', Username: 'alice', Password: PASSWORD }, 400, 'unsupported_grant_type'],
    [{ grant_type: 'Mfa', Username: 'alice', Password: PASSWORD }, 400, 'unsupported_grant_type'],
    [{ grant_type: 'Password', Password: PASSWORD }, 400, 'invalid_request'],
    [{ grant_type: 'Password', Username: 'alice' }, 400, 'invalid_request'],
    [{ grant_type: 'Password', Username: 'alice', username: 'bob', Password: PASSWORD }, 400, 'invalid_request'],
  ];
  for (const [body, status, error] of cases) assertProblem(await h.form('/api/oauth2/token', body), status, error);
});

test('other methods are 405 with Allow: POST', async (t) => {
  const h = await build(t);
  for (const method of ['GET', 'PUT', 'DELETE', 'PATCH'] as const) {
    const res = await h.inject({ method, url: '/api/oauth2/token' });
    assertProblem(res, 405, 'method_not_allowed');
    assert.equal(res.headers.allow, 'POST');
  }
});

test('per environment: /{envID}/api/oauth2/token signs in that environment\'s users only', async (t) => {
  const h = await build(t);
  const other = await h.services.admin.createEnvironment('tenant-b');
  await h.user('alice', PASSWORD);
  await h.user('carol', PASSWORD, other.id);
  const res = await h.form(`/${other.id}/api/oauth2/token`, { grant_type: 'Password', Username: 'carol', Password: PASSWORD });
  assert.equal(res.statusCode, 200, res.body);
  const claims = decodeJwt(res.json<{ access_token: string }>().access_token);
  assert.equal(claims.iss, `http://issuer.test/${other.id}/as`);
  assert.equal(claims.aud, `http://issuer.test/${other.id}/api`);
  assertProblem(await h.form(`/${other.id}/api/oauth2/token`, { grant_type: 'Password', Username: 'alice', Password: PASSWORD }), 400, 'invalid_grant');
  assertProblem(await h.form('/api/oauth2/token', { grant_type: 'Password', Username: 'carol', Password: PASSWORD }), 400, 'invalid_grant');
  assertProblem(await h.form('/00000000-0000-4000-8000-000000000000/api/oauth2/token', { grant_type: 'Password' }), 404, 'not_found');
});

test('the token endpoint is rate limited per source address: 429 problem with Retry-After', async (t) => {
  const h = await build(t, { env: { RATE_LIMIT_SESSION: '2' } });
  await h.user('alice', PASSWORD);
  const body = { grant_type: 'Password', Username: 'alice', Password: 'wrong password' };
  for (let i = 0; i < 2; i++) assertProblem(await h.form('/api/oauth2/token', body), 400, 'invalid_grant');
  const res = await h.form('/api/oauth2/token', { ...body, Password: PASSWORD });
  assertProblem(res, 429, 'too_many_requests');
  assert.match(String(res.headers['retry-after']), /^\d+$/);
  assert.equal(res.headers['ratelimit-limit'], '2');
});

test('grant_type=Refresh_token renews a session with rotation; a replay or a sign-out ends it at once', async (t) => {
  const h = await build(t);
  await h.user('alice', PASSWORD);
  const first = (await h.form('/api/oauth2/token', { grant_type: 'Password', Username: 'alice', Password: PASSWORD })).json<{ access_token: string; refresh_token: string }>();
  const renew = (refreshToken: string) => h.form('/api/oauth2/token', { grant_type: 'Refresh_token', refresh_token: refreshToken });
  const res = await renew(first.refresh_token);
  assert.equal(res.statusCode, 200, res.body);
  const second = res.json<{ access_token: string; refresh_token: string }>();
  assert.notEqual(second.refresh_token, first.refresh_token);
  assert.equal(decodeProtectedHeader(second.access_token).typ, 'session+jwt');
  const getDeviceCode = (token: string) => h.inject({ method: 'GET', url: '/api/v1/accounts/created/getDeviceCode', headers: { authorization: `Bearer ${token}` } });
  assert.equal((await getDeviceCode(second.access_token)).statusCode, 200);
  // The old refresh token again: reuse, the whole session ends, its session tokens included.
  assertProblem(await renew(first.refresh_token), 400, 'invalid_grant');
  assertProblem(await renew(second.refresh_token), 400, 'invalid_grant');
  assertProblem(await getDeviceCode(second.access_token), 401, 'invalid_token');

  // A session is a grant: signing it out (grants revoke) ends its token before it expires.
  const other = (await h.form('/api/oauth2/token', { grant_type: 'password', username: 'alice', password: PASSWORD })).json<{ access_token: string }>();
  assert.equal((await getDeviceCode(other.access_token)).statusCode, 200);
  await h.services.grants.revoke(h.services.defaultEnv, String(decodeJwt(other.access_token).gid));
  assertProblem(await getDeviceCode(other.access_token), 401, 'invalid_token');
  // A device grant's refresh token is not a session's, and the other way round.
  assertProblem(await renew('rt_unknown'), 400, 'invalid_grant');
});
