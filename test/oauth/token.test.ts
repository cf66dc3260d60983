// RFC 8628 §3.4-3.5 and RFC 6749 §5: every outcome of the token endpoint (docs/protocol.md). Time moves
// only through the TestClock.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { build, DEVICE_CODE_GRANT, type TestApp } from '../helpers/build.ts';
import { assertNoStore, assertOAuthError, basic, decide, poll, startAuthorization, type TokenBody } from './_support.ts';

async function storedDevice(h: TestApp, deviceCode: string) {
  const device = await h.services.store.deviceAuthorizations.getByDeviceCodeHash(h.services.secrets.hashCode('device', deviceCode));
  assert.ok(device, 'the authorization is stored');
  return device;
}

test('pending: authorization_pending with no-store headers; the first poll is never throttled', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  const started = await startAuthorization(h, client);
  // Polled in the same millisecond as the authorization was created: still not a slow_down.
  const res = await poll(h, started.device_code, client.clientId);
  assertOAuthError(res, 400, 'authorization_pending');
  assertNoStore(res);
  assert.equal((await storedDevice(h, started.device_code)).interval, 5);
});

test('slow_down: sooner than the interval; the interval grows by 5 s and is persisted; a poll exactly at the interval is accepted', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  const started = await startAuthorization(h, client);
  const code = started.device_code;
  assert.equal(started.interval, 5);

  assertOAuthError(await poll(h, code, client.clientId), 400, 'authorization_pending');
  h.clock.advance(5);
  assertOAuthError(await poll(h, code, client.clientId), 400, 'authorization_pending'); // exactly 5 s: accepted
  h.clock.t += 4999; // ms
  const slow = await poll(h, code, client.clientId);
  assertOAuthError(slow, 400, 'slow_down');
  assertNoStore(slow);
  assert.equal((await storedDevice(h, code)).interval, 10);

  // The slow_down poll counts as the previous poll, and the interval is now 10 s: 5 s later is too soon again.
  h.clock.advance(5);
  assertOAuthError(await poll(h, code, client.clientId), 400, 'slow_down');
  assert.equal((await storedDevice(h, code)).interval, 15);

  h.clock.t += 14999; // ms
  assertOAuthError(await poll(h, code, client.clientId), 400, 'slow_down');
  assert.equal((await storedDevice(h, code)).interval, 20);

  h.clock.advance(20);
  assertOAuthError(await poll(h, code, client.clientId), 400, 'authorization_pending');
  h.clock.advance(20);
  assertOAuthError(await poll(h, code, client.clientId), 400, 'authorization_pending');
  const stored = await storedDevice(h, code);
  assert.equal(stored.interval, 20, 'accepted polls do not change the interval');
  assert.equal(stored.lastPolledAt, h.clock.now());
});

test("slow_down honours the client's own interval", async (t) => {
  const h = await build(t);
  const client = await h.publicClient({ pollInterval: 2 });
  const started = await startAuthorization(h, client);
  assert.equal(started.interval, 2);
  assertOAuthError(await poll(h, started.device_code, client.clientId), 400, 'authorization_pending');
  h.clock.advance(2);
  assertOAuthError(await poll(h, started.device_code, client.clientId), 400, 'authorization_pending');
  h.clock.advance(1);
  assertOAuthError(await poll(h, started.device_code, client.clientId), 400, 'slow_down');
  assert.equal((await storedDevice(h, started.device_code)).interval, 7);
});

test('200: Bearer token with expires_in and scope; no-store headers; a second poll is invalid_grant', async (t) => {
  const h = await build(t);
  const client = await h.publicClient({ scope: 'openid profile email' });
  const user = await h.user('alice');
  const started = await startAuthorization(h, client, { scope: 'profile email' });
  assertOAuthError(await poll(h, started.device_code, client.clientId), 400, 'authorization_pending');
  await decide(h, started.user_code, user, true);
  h.clock.advance(5);
  const res = await poll(h, started.device_code, client.clientId);
  assert.equal(res.statusCode, 200, res.body);
  assertNoStore(res);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = res.json<TokenBody>();
  assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.expires_in, 3600);
  assert.equal(body.scope, 'profile email');
  assert.match(body.access_token, /^[\w-]+\.[\w-]+\.[\w-]+$/);

  h.clock.advance(5);
  assertOAuthError(await poll(h, started.device_code, client.clientId), 400, 'invalid_grant');
  h.clock.advance(60);
  assertOAuthError(await poll(h, started.device_code, client.clientId), 400, 'invalid_grant');
});

test("without a requested scope the token carries the client's scopes; expires_in is the client's token lifetime", async (t) => {
  const h = await build(t);
  const { client } = await h.services.admin.createClient({ envId: h.services.defaultEnv.id, name: 'TV', scope: 'openid email', tokenLifetime: 120 });
  const user = await h.user();
  const started = await startAuthorization(h, client);
  await decide(h, started.user_code, user, true);
  const res = await poll(h, started.device_code, client.clientId);
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json<TokenBody>().scope, 'openid email');
  assert.equal(res.json<TokenBody>().expires_in, 120);
});

test('an approved code is redeemed on its first poll, however soon', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  const user = await h.user();
  const started = await startAuthorization(h, client);
  assertOAuthError(await poll(h, started.device_code, client.clientId), 400, 'authorization_pending');
  await decide(h, started.user_code, user, true);
  h.clock.advance(1);
  assert.equal((await poll(h, started.device_code, client.clientId)).statusCode, 200);
});

test('access_denied after deny, and it stays access_denied', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  const user = await h.user();
  const started = await startAuthorization(h, client);
  assertOAuthError(await poll(h, started.device_code, client.clientId), 400, 'authorization_pending');
  await decide(h, started.user_code, user, false);
  h.clock.advance(5);
  const res = await poll(h, started.device_code, client.clientId);
  assertOAuthError(res, 400, 'access_denied');
  assertNoStore(res);
  for (let i = 0; i < 3; i++) {
    h.clock.advance(5);
    assertOAuthError(await poll(h, started.device_code, client.clientId), 400, 'access_denied');
  }
  // A denied code cannot be approved afterwards.
  await assert.rejects(h.services.deviceFlow.findPendingByUserCode(h.services.defaultEnv, started.user_code), { code: 'user_code_used' });
});

test('expired_token once expires_in has passed: pending, approved and denied codes alike', async (t) => {
  const h = await build(t);
  const client = await h.publicClient({ codeLifetime: 60 });
  const user = await h.user();
  const pending = await startAuthorization(h, client);
  const approved = await startAuthorization(h, client);
  const denied = await startAuthorization(h, client);
  await decide(h, approved.user_code, user, true);
  await decide(h, denied.user_code, user, false);

  h.clock.t += 59999; // ms
  assertOAuthError(await poll(h, pending.device_code, client.clientId), 400, 'authorization_pending');
  h.clock.t += 1; // ms
  for (const code of [pending, approved, denied]) {
    const res = await poll(h, code.device_code, client.clientId);
    assertOAuthError(res, 400, 'expired_token');
    assertNoStore(res);
  }
  // And it stays that way, never a token.
  h.clock.advance(3600);
  for (const code of [pending, approved, denied]) assertOAuthError(await poll(h, code.device_code, client.clientId), 400, 'expired_token');
});

test('an approved code one millisecond before expiry still yields a token', async (t) => {
  const h = await build(t);
  const client = await h.publicClient({ codeLifetime: 30 });
  const user = await h.user();
  const started = await startAuthorization(h, client);
  await decide(h, started.user_code, user, true);
  h.clock.t += 29999; // ms
  assert.equal((await poll(h, started.device_code, client.clientId)).statusCode, 200);
});

test('invalid_grant: an unknown code, a malformed code, a code of another client', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  const other = await h.publicClient();
  const user = await h.user();
  assertOAuthError(await poll(h, `dc_${randomBytes(32).toString('base64url')}`, client.clientId), 400, 'invalid_grant');
  assertOAuthError(await poll(h, 'not-a-device-code', client.clientId), 400, 'invalid_grant');

  const started = await startAuthorization(h, client);
  await decide(h, started.user_code, user, true);
  const stolen = await poll(h, started.device_code, other.clientId);
  assertOAuthError(stolen, 400, 'invalid_grant');
  assertNoStore(stolen);
  // The other client's attempt did not consume the code: its owner still gets the token.
  assert.equal((await poll(h, started.device_code, client.clientId)).statusCode, 200);
});

test('a code of another environment: invalid_client or invalid_grant at the root, never a token', async (t) => {
  const h = await build(t);
  const tenant = await h.services.admin.createEnvironment('tenant2');
  const client = await h.publicClient({ envId: tenant.id });
  const started = await startAuthorization(h, client, { env: tenant });
  assertOAuthError(await poll(h, started.device_code, client.clientId, { env: tenant }), 400, 'authorization_pending');
  // The root serves the default environment, where this client does not exist.
  assertOAuthError(await poll(h, started.device_code, client.clientId), 401, 'invalid_client');
  const defaultClient = await h.publicClient();
  assertOAuthError(await poll(h, started.device_code, defaultClient.clientId), 400, 'invalid_grant');
});

test('invalid_client at the token endpoint: missing, unknown, public with a secret, wrong confidential secret', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  const { client: conf, secret } = await h.confidentialClient();
  const started = await startAuthorization(h, client);

  const missing = await h.form('/oauth/token', { grant_type: DEVICE_CODE_GRANT, device_code: started.device_code });
  assertOAuthError(missing, 401, 'invalid_client');
  assertNoStore(missing);
  assertOAuthError(await poll(h, started.device_code, 'no-such-client'), 401, 'invalid_client');
  assertOAuthError(await poll(h, started.device_code, client.clientId, { extra: { client_secret: 'x' } }), 401, 'invalid_client');

  const confStarted = await startAuthorization(h, conf, { secret });
  assertOAuthError(await poll(h, confStarted.device_code, conf.clientId), 401, 'invalid_client');
  assertOAuthError(await poll(h, confStarted.device_code, conf.clientId, { extra: { client_secret: 'wrong' } }), 401, 'invalid_client');
  const wrongBasic = await h.form('/oauth/token', { grant_type: DEVICE_CODE_GRANT, device_code: confStarted.device_code }, { authorization: basic(conf.clientId, 'wrong') });
  assertOAuthError(wrongBasic, 401, 'invalid_client');
  assert.match(String(wrongBasic.headers['www-authenticate']), /^Basic /);
  assertNoStore(wrongBasic);
  // None of these failed attempts counted as a poll of the code.
  assert.equal((await storedDevice(h, confStarted.device_code)).lastPolledAt, null);
});

test('confidential client: the whole flow with client_secret_basic', async (t) => {
  const h = await build(t);
  const { client, secret } = await h.confidentialClient();
  const user = await h.user();
  const auth = { authorization: basic(client.clientId, secret) };
  const startedRes = await h.form('/oauth/device_authorization', { scope: 'openid' }, auth);
  assert.equal(startedRes.statusCode, 200);
  const started = startedRes.json<{ device_code: string; user_code: string }>();
  const tokenPoll = () => h.form('/oauth/token', { grant_type: DEVICE_CODE_GRANT, device_code: started.device_code }, auth);
  assertOAuthError(await tokenPoll(), 400, 'authorization_pending');
  await decide(h, started.user_code, user, true);
  h.clock.advance(5);
  const res = await tokenPoll();
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json<TokenBody>().scope, 'openid');
  // client_secret_post works at the token endpoint too (the code is spent, so invalid_grant proves the client authenticated).
  assertOAuthError(await poll(h, started.device_code, client.clientId, { extra: { client_secret: secret } }), 400, 'invalid_grant');
});

test('unauthorized_client: a client whose device grant was removed after it started an authorization', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  const user = await h.user();
  const started = await startAuthorization(h, client);
  await decide(h, started.user_code, user, true);
  assert.ok(await h.services.store.clients.update({ ...client, grantTypes: [] }));
  const res = await poll(h, started.device_code, client.clientId);
  assertOAuthError(res, 400, 'unauthorized_client');
  assertNoStore(res);
  // The code was not spent by the refused poll.
  assert.equal((await storedDevice(h, started.device_code)).status, 'approved');
});

test('access_denied when the client lost a granted scope between approval and redemption', async (t) => {
  const h = await build(t);
  const client = await h.publicClient({ scope: 'openid profile' });
  const user = await h.user();
  const started = await startAuthorization(h, client, { scope: 'openid profile' });
  await decide(h, started.user_code, user, true);
  assert.ok(await h.services.store.clients.update({ ...client, scopes: ['openid'] }));
  assertOAuthError(await poll(h, started.device_code, client.clientId), 400, 'access_denied');
});

test('unsupported_grant_type', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  for (const grant of ['authorization_code', 'client_credentials', 'password', 'Refresh_token', 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'device_code']) {
    const res = await h.form('/oauth/token', { grant_type: grant, client_id: client.clientId, device_code: 'dc_x' });
    assertOAuthError(res, 400, 'unsupported_grant_type');
    assertNoStore(res);
  }
});

test('invalid_request: missing grant_type, missing or empty device_code, duplicated parameters', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  const started = await startAuthorization(h, client);
  const cases: Record<string, string | string[]>[] = [
    { device_code: started.device_code, client_id: client.clientId },
    { grant_type: DEVICE_CODE_GRANT, client_id: client.clientId },
    { grant_type: DEVICE_CODE_GRANT, client_id: client.clientId, device_code: '' },
    { grant_type: [DEVICE_CODE_GRANT, DEVICE_CODE_GRANT], device_code: started.device_code, client_id: client.clientId },
    { grant_type: DEVICE_CODE_GRANT, device_code: [started.device_code, started.device_code], client_id: client.clientId },
    { grant_type: DEVICE_CODE_GRANT, device_code: started.device_code, client_id: [client.clientId, client.clientId] },
  ];
  for (const body of cases) {
    const res = await h.form('/oauth/token', body);
    assertOAuthError(res, 400, 'invalid_request');
    assertNoStore(res);
  }
  // None of them was taken as a poll.
  assert.equal((await storedDevice(h, started.device_code)).lastPolledAt, null);
});

test('a user disabled between approval and redemption: access_denied, and never a token afterwards', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  const user = await h.user('bob');
  const started = await startAuthorization(h, client);
  await decide(h, started.user_code, user, true);
  await h.services.admin.users.setDisabled(h.services.defaultEnv.id, 'bob', true);
  const res = await poll(h, started.device_code, client.clientId);
  assertOAuthError(res, 400, 'access_denied');
  assertNoStore(res);
  // Re-enabling the user does not bring the approval back.
  await h.services.admin.users.setDisabled(h.services.defaultEnv.id, 'bob', false);
  h.clock.advance(5);
  const again = await poll(h, started.device_code, client.clientId);
  assert.notEqual(again.statusCode, 200);
  assertOAuthError(again, 400, 'access_denied');
});

test('a user disabled and enabled again before the device polls: the approval was denied by the disable, never a token', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  const user = await h.user('bob');
  const started = await startAuthorization(h, client);
  await decide(h, started.user_code, user, true);
  await h.services.admin.users.setDisabled(h.services.defaultEnv.id, 'bob', true);
  await h.services.admin.users.setDisabled(h.services.defaultEnv.id, 'bob', false);
  assertOAuthError(await poll(h, started.device_code, client.clientId), 400, 'access_denied');
});

test('a disabled user cannot approve', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  await h.user('carol');
  const disabled = await h.services.admin.users.setDisabled(h.services.defaultEnv.id, 'carol', true);
  const started = await startAuthorization(h, client);
  const device = await h.services.deviceFlow.findPendingByUserCode(h.services.defaultEnv, started.user_code);
  await assert.rejects(h.services.deviceFlow.decide(device, disabled, true), { code: 'access_denied' });
  assertOAuthError(await poll(h, started.device_code, client.clientId), 400, 'authorization_pending');
});

test('the per-environment token endpoint completes a flow', async (t) => {
  const h = await build(t);
  const tenant = await h.services.admin.createEnvironment('tenant2');
  const client = await h.publicClient({ envId: tenant.id });
  const user = await h.user('dave', 'correct horse battery', tenant.id);
  const started = await startAuthorization(h, client, { env: tenant });
  assertOAuthError(await poll(h, started.device_code, client.clientId, { env: tenant }), 400, 'authorization_pending');
  // The code is only found in its own environment.
  await assert.rejects(h.services.deviceFlow.findPendingByUserCode(h.services.defaultEnv, started.user_code), { code: 'invalid_user_code' });
  await decide(h, started.user_code, user, true, tenant);
  h.clock.advance(5);
  const res = await poll(h, started.device_code, client.clientId, { env: tenant });
  assert.equal(res.statusCode, 200, res.body);
  assertNoStore(res);
  assert.equal(res.json<TokenBody>().token_type, 'Bearer');
});
