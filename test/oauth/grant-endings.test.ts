// What ends a grant besides its own refresh tokens: its device code presented again after
// redemption (RFC 6749 §4.1.2, docs/protocol.md), and disabling its user, for good (README
// "Staying signed in"). Introspection (RFC 7662) and the token endpoint say so.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Client } from '../../src/model/records.ts';
import { build, type TestApp } from '../helpers/build.ts';
import { assertOAuthError, basic, decide, poll, startAuthorization, type TokenBody } from './_support.ts';

interface Tokens extends TokenBody {
  refresh_token: string;
}

async function setup(t: Parameters<typeof build>[0]) {
  const h = await build(t);
  const device = (await h.services.admin.createClient({ envId: h.services.defaultEnv.id, name: 'TV', refreshTokens: true })).client;
  const api = await h.services.admin.createClient({ envId: h.services.defaultEnv.id, name: 'API', confidential: true });
  const active = async (token: string) =>
    (await h.form('/oauth/introspect', { token }, { authorization: basic(api.client.clientId, api.secret ?? '') })).json<{ active: boolean }>().active;
  const refresh = (token: string) => h.form('/oauth/token', { grant_type: 'refresh_token', refresh_token: token, client_id: device.clientId });
  return { h, device, active, refresh };
}

/** A device login with offline_access by `username`; returns the code and the tokens. */
async function login(h: TestApp, client: Client, username: string): Promise<{ deviceCode: string; tokens: Tokens }> {
  const started = await startAuthorization(h, client, { scope: 'openid offline_access' });
  const user = await h.services.store.users.getByUsername(h.services.defaultEnv.id, username) ?? await h.user(username);
  await decide(h, started.user_code, user, true);
  const res = await poll(h, started.device_code, client.clientId);
  assert.equal(res.statusCode, 200, res.body);
  return { deviceCode: started.device_code, tokens: res.json<Tokens>() };
}

test('a redeemed device code presented again answers invalid_grant and ends the grant it opened: the first token introspects inactive', async (t) => {
  const { h, device, active, refresh } = await setup(t);
  const { deviceCode, tokens } = await login(h, device, 'alice');
  const other = await login(h, device, 'alice');
  assert.equal(await active(tokens.access_token), true);

  // The stolen code, presented after the real device got its token.
  h.clock.advance(5);
  const replay = assertOAuthError(await poll(h, deviceCode, device.clientId), 400, 'invalid_grant');
  assert.match(replay.error_description ?? '', /already been used/);
  assert.equal(await active(tokens.access_token), false, 'the access token of the grant is dead');
  assert.equal(await active(tokens.refresh_token), false);
  assertOAuthError(await refresh(tokens.refresh_token), 400, 'invalid_grant');
  assert.equal(await active(other.tokens.access_token), true, 'another login of the same person and client stands');
  assert.equal((await refresh(other.tokens.refresh_token)).statusCode, 200);
  // Again, and after the code expired: still refused, nothing else ends.
  assertOAuthError(await poll(h, deviceCode, device.clientId), 400, 'invalid_grant');
  h.clock.advance(600);
  assertOAuthError(await poll(h, deviceCode, device.clientId), 400, 'expired_token');
  const metrics = await h.inject({ method: 'GET', url: '/metrics' });
  assert.match(metrics.body, /^dcs_device_code_reuse_total 1$/m, 'counted once, when it ended a live grant');
});

test('a redeemed code presented again after its expiry still ends its grant (the row is kept an hour)', async (t) => {
  const { h, device, active } = await setup(t);
  const { deviceCode, tokens } = await login(h, device, 'alice');
  h.clock.advance(601);
  assertOAuthError(await poll(h, deviceCode, device.clientId), 400, 'expired_token');
  assert.equal(await active(tokens.refresh_token), false);
});

test('a code spent without a token (its user was disabled) presented again: invalid_grant, nothing to end', async (t) => {
  const { h, device } = await setup(t);
  const user = await h.user('bob');
  const started = await startAuthorization(h, device);
  await decide(h, started.user_code, user, true);
  await h.services.store.clients.update({ ...device, scopes: ['openid'] });
  assertOAuthError(await poll(h, started.device_code, device.clientId), 400, 'access_denied');
  h.clock.advance(5);
  assertOAuthError(await poll(h, started.device_code, device.clientId), 400, 'invalid_grant');
});

test('disabling a user ends their grants, and enabling them again brings none back', async (t) => {
  const { h, device, active, refresh } = await setup(t);
  const { tokens } = await login(h, device, 'alice');
  const { tokens: bobs } = await login(h, device, 'bob');
  const envId = h.services.defaultEnv.id;
  const alice = await h.services.admin.users.getByUsername(envId, 'alice');

  await h.services.admin.users.setDisabled(envId, 'alice', true);
  assert.equal(await active(tokens.access_token), false);
  assertOAuthError(await refresh(tokens.refresh_token), 400, 'invalid_grant');
  assert.deepEqual(await h.services.grants.listLive(h.services.defaultEnv, alice.id), []);

  await h.services.admin.users.setDisabled(envId, 'alice', false);
  assert.equal(await active(tokens.access_token), false, 'a grant made before the disable stays ended');
  assert.equal(await active(tokens.refresh_token), false);
  assertOAuthError(await refresh(tokens.refresh_token), 400, 'invalid_grant');
  assert.deepEqual(await h.services.grants.listLive(h.services.defaultEnv, alice.id), [], '"Your devices" lists none of them');
  assert.equal(await active(bobs.access_token), true, 'other users keep theirs');

  // Enabled again, alice signs in anew: a new grant, which works.
  const fresh = await login(h, device, 'alice');
  assert.equal(await active(fresh.tokens.access_token), true);
  assert.equal((await refresh(fresh.tokens.refresh_token)).statusCode, 200);
});
