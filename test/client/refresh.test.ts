// refreshToken (RFC 6749 §6) against a real listening server: each refresh rotates the refresh token,
// a rotated-out token is invalid_grant (and its reuse ends the grant), scope may only narrow, and
// confidential clients authenticate as in the device flow. Failures are typed DeviceLoginErrors,
// and a refresh is never retried (a repeat after a lost answer would be reuse).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeJwt } from 'jose';
import { deviceLogin } from '../../src/client/device-login.ts';
import { discover } from '../../src/client/discovery.ts';
import { refreshToken } from '../../src/client/refresh.ts';
import type { FetchLike } from '../../src/client/transport.ts';
import { DeviceLoginError } from '../../src/client/errors.ts';
import type { TestApp } from '../helpers/build.ts';
import { decide } from '../oauth/_support.ts';
import { freePort, listeningServer, refreshClient, virtualTime } from './_support.ts';

/** A device login with offline_access, approved on its first poll; time is virtual. */
async function signIn(h: TestApp, base: string, clientId: string, o: { clientSecret?: string; scope?: string } = {}) {
  const user = await h.user();
  const time = virtualTime(h);
  let code = '';
  const result = await deviceLogin({
    issuer: base, clientId, scope: o.scope ?? 'openid profile offline_access', clock: time.clock, sleep: time.sleep,
    ...(o.clientSecret === undefined ? {} : { clientSecret: o.clientSecret }),
    onCode: (prompt) => { code = prompt.user_code; },
    onPoll: () => decide(h, code, user, true),
  });
  assert.match(result.token.refresh_token ?? '', /^rt_/, 'the login got a refresh token');
  return result;
}

function assertDeviceLoginError(code: string, message?: RegExp): (err: unknown) => true {
  return (err) => {
    assert.ok(err instanceof DeviceLoginError, String(err));
    assert.equal(err.code, code, err.message);
    if (message !== undefined) assert.match(err.message, message);
    assert.ok(!/rt_[\w-]{10}/.test(err.message), 'no refresh token in a message');
    return true;
  };
}

const json = (status: number, body: unknown): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

const FAKE_METADATA = {
  issuer: 'https://as.example',
  device_authorization_endpoint: 'https://as.example/device_authorization',
  token_endpoint: 'https://as.example/token',
};

test('refreshToken: a new access token and a new refresh token each time; the rotated-out one is invalid_grant and ends the grant', async (t) => {
  const { h, base } = await listeningServer(t);
  const { client } = await refreshClient(h);
  const first = await signIn(h, base, client.clientId);

  const second = await refreshToken({ issuer: base, clientId: client.clientId, refreshToken: first.token.refresh_token ?? '' });
  assert.equal(second.metadata.issuer, base);
  assert.equal(second.token.token_type, 'Bearer');
  assert.equal(second.token.scope, 'openid profile offline_access');
  assert.equal(second.token.expires_in, 3600);
  assert.ok(Math.abs(second.obtainedAt - Date.now()) < 5000);
  assert.notEqual(second.token.access_token, first.token.access_token);
  assert.match(second.token.refresh_token ?? '', /^rt_/);
  assert.notEqual(second.token.refresh_token, first.token.refresh_token, 'rotated');
  assert.equal(decodeJwt(second.token.access_token).gid, decodeJwt(first.token.access_token).gid, 'the same grant');

  // The new ID token names the same person (OpenID Connect Core §12.2).
  assert.equal(second.idTokenClaims?.sub, first.idTokenClaims?.sub);

  // With the metadata at hand there is no discovery: one POST to the token endpoint, then the
  // issuer's keys for the new ID token, through the same fetch.
  const urls: string[] = [];
  const recording: FetchLike = (url, init) => { urls.push(`${init.method ?? 'GET'} ${url}`); return fetch(url, init); };
  const third = await refreshToken({ metadata: second.metadata, clientId: client.clientId, refreshToken: second.token.refresh_token ?? '', fetch: recording });
  assert.deepEqual(urls, [`POST ${base}/oauth/token`, `GET ${base}/oauth/jwks`]);
  assert.notEqual(third.token.refresh_token, second.token.refresh_token);

  // The first token again: the server takes it for a copy and revokes the grant…
  await assert.rejects(
    refreshToken({ metadata: second.metadata, clientId: client.clientId, refreshToken: first.token.refresh_token ?? '' }),
    assertDeviceLoginError('invalid_grant', /^the refresh token is no longer valid: it expired, was revoked or was already used \(.*already used.*\)$/),
  );
  // …so the newest token is dead too.
  await assert.rejects(
    refreshToken({ metadata: second.metadata, clientId: client.clientId, refreshToken: third.token.refresh_token ?? '' }),
    (err: unknown) => err instanceof DeviceLoginError && err.code === 'invalid_grant' && err.status === 400 && err.oauthError === 'invalid_grant',
  );
});

test('refreshToken: scope may narrow, never widen; a confidential client authenticates with client_secret_basic', async (t) => {
  const { h, base } = await listeningServer(t);
  const { client } = await refreshClient(h, { scope: 'openid profile email' });
  const first = await signIn(h, base, client.clientId);
  const metadata = await discover(base);
  const narrow = await refreshToken({ metadata, clientId: client.clientId, refreshToken: first.token.refresh_token ?? '', scope: 'openid' });
  assert.equal(narrow.token.scope, 'openid');
  assert.equal(decodeJwt(narrow.token.access_token).scope, 'openid');
  await assert.rejects(
    refreshToken({ metadata, clientId: client.clientId, refreshToken: narrow.token.refresh_token ?? '', scope: 'openid email' }),
    assertDeviceLoginError('invalid_scope', /may only narrow/),
  );

  const { client: backend, secret } = await refreshClient(h, { confidential: true });
  assert.ok(secret !== undefined);
  const signedIn = await signIn(h, base, backend.clientId, { clientSecret: secret });
  const sent: (string | null)[] = [];
  const spy: FetchLike = (url, init) => { sent.push(new Headers(init.headers).get('authorization')); return fetch(url, init); };
  const refreshed = await refreshToken({ metadata, clientId: backend.clientId, clientSecret: secret, refreshToken: signedIn.token.refresh_token ?? '', fetch: spy });
  assert.match(refreshed.token.refresh_token ?? '', /^rt_/);
  assert.match(sent[0] ?? '', /^Basic /);
  await assert.rejects(
    refreshToken({ metadata, clientId: backend.clientId, clientSecret: `${secret}x`, refreshToken: refreshed.token.refresh_token ?? '' }),
    (err: unknown) => {
      assertDeviceLoginError('invalid_client', /does not accept this client/)(err);
      assert.ok(err instanceof Error && !err.message.includes(secret), 'the secret is never in a message');
      return true;
    },
  );
});

test('refreshToken: an unknown client, a garbled token, an unreachable server, and no retry on a 5xx', async (t) => {
  const { h, base } = await listeningServer(t);
  const { client } = await refreshClient(h);
  const first = await signIn(h, base, client.clientId);
  const metadata = await discover(base);
  await assert.rejects(refreshToken({ metadata, clientId: 'no-such-client', refreshToken: first.token.refresh_token ?? '' }), assertDeviceLoginError('invalid_client'));
  await assert.rejects(refreshToken({ metadata, clientId: client.clientId, refreshToken: 'rt_garbled' }), assertDeviceLoginError('invalid_grant'));
  await assert.rejects(refreshToken({ metadata, clientId: client.clientId, refreshToken: '' }), assertDeviceLoginError('invalid_request'));
  // Those refusals did not touch the real token.
  const ok = await refreshToken({ metadata, clientId: client.clientId, refreshToken: first.token.refresh_token ?? '' });
  assert.match(ok.token.refresh_token ?? '', /^rt_/);

  const closed = `http://127.0.0.1:${await freePort()}`;
  await assert.rejects(refreshToken({ issuer: closed, clientId: 'cli', refreshToken: 'rt_x' }), assertDeviceLoginError('network', /ECONNREFUSED/));
  await assert.rejects(refreshToken({ issuer: 'http://as.example', clientId: 'cli', refreshToken: 'rt_x' }), assertDeviceLoginError('insecure_url'));

  let calls = 0;
  const flaky: FetchLike = () => { calls++; return Promise.resolve(json(503, { error: 'temporarily_unavailable' })); };
  await assert.rejects(refreshToken({ metadata: FAKE_METADATA, clientId: 'cli', refreshToken: 'rt_x', fetch: flaky }), assertDeviceLoginError('temporarily_unavailable'));
  assert.equal(calls, 1, 'a refresh is sent once');
  const down: FetchLike = () => { calls++; return Promise.reject(new TypeError('fetch failed', { cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) })); };
  calls = 0;
  await assert.rejects(refreshToken({ metadata: FAKE_METADATA, clientId: 'cli', refreshToken: 'rt_x', fetch: down }), assertDeviceLoginError('network', /ECONNRESET/));
  assert.equal(calls, 1);
});

test('refreshToken (a fake server): the form sent; no refresh_token in the answer keeps the one presented; bad answers are refused', async () => {
  const bodies: string[] = [];
  const answers = [
    json(200, { access_token: 'at2', token_type: 'Bearer', expires_in: 60 }),
    json(200, { token_type: 'Bearer' }),
    json(400, { error: 'unauthorized_client' }),
    new Response('<html>oops</html>', { status: 502 }),
  ];
  const fake: FetchLike = (_url, init) => { bodies.push(typeof init.body === 'string' ? init.body : ''); return Promise.resolve(answers.shift() ?? json(500, {})); };
  const kept = await refreshToken({ metadata: FAKE_METADATA, clientId: 'cli', refreshToken: 'rt_old', scope: 'a b', fetch: fake, clock: { now: () => 42 } });
  assert.deepEqual(kept.token, { access_token: 'at2', token_type: 'Bearer', expires_in: 60, refresh_token: 'rt_old' });
  assert.equal(kept.obtainedAt, 42);
  assert.deepEqual(Object.fromEntries(new URLSearchParams(bodies[0])), { grant_type: 'refresh_token', refresh_token: 'rt_old', scope: 'a b', client_id: 'cli' });
  await assert.rejects(refreshToken({ metadata: FAKE_METADATA, clientId: 'cli', refreshToken: 'rt_old', fetch: fake }), assertDeviceLoginError('invalid_response'));
  await assert.rejects(refreshToken({ metadata: FAKE_METADATA, clientId: 'cli', refreshToken: 'rt_old', fetch: fake }), assertDeviceLoginError('unauthorized_client', /may not use refresh tokens/));
  await assert.rejects(refreshToken({ metadata: FAKE_METADATA, clientId: 'cli', refreshToken: 'rt_old', fetch: fake }), assertDeviceLoginError('server_error', /HTTP 502/));
});
