// Client mistakes an integrator can fix are named (README "Troubleshooting"): a client_id that does
// not exist, and offline_access asked by a client that issues no refresh tokens. Confidential client
// authentication keeps one answer for an unknown client and a wrong secret (RFC 6749 §5.2).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { build, DEVICE_CODE_GRANT } from '../helpers/build.ts';
import { assertNoStore, assertOAuthError, basic, decide, poll, startAuthorization, type ErrorBody } from './_support.ts';

test('an unknown client_id at device authorization (no secret) says the client does not exist: 401 invalid_client', async (t) => {
  const h = await build(t);
  const res = await h.form('/oauth/device_authorization', { client_id: 'living-room-tv', scope: 'openid' });
  assertOAuthError(res, 401, 'invalid_client');
  assertNoStore(res);
  assert.equal(res.headers['www-authenticate'], undefined, 'no Basic challenge: none was used');
  assert.equal(res.json<ErrorBody>().error_description, 'unknown client_id: living-room-tv (no client has this id in this environment)');

  // Another environment's client does not exist here either.
  const tenant = await h.services.admin.createEnvironment('tenant');
  const elsewhere = await h.publicClient({ envId: tenant.id });
  const wrongEnv = await h.form('/oauth/device_authorization', { client_id: elsewhere.clientId });
  assertOAuthError(wrongEnv, 401, 'invalid_client');
  assert.match(wrongEnv.json<ErrorBody>().error_description ?? '', /^unknown client_id: [0-9a-f-]{36} \(no client has this id in this environment\)$/);

  // The token endpoint shares the check.
  const polled = await h.form('/oauth/token', { grant_type: DEVICE_CODE_GRANT, device_code: 'dc_x', client_id: 'living-room-tv' });
  assertOAuthError(polled, 401, 'invalid_client');
  assert.match(polled.json<ErrorBody>().error_description ?? '', /^unknown client_id: living-room-tv /);
});

test('with a secret, an unknown client and a wrong secret stay one answer; neither says "unknown"', async (t) => {
  const h = await build(t);
  const { client } = await h.confidentialClient();
  const answers = await Promise.all([
    h.form('/oauth/device_authorization', { client_id: 'no-such-client', client_secret: 'guess' }),
    h.form('/oauth/device_authorization', { client_id: client.clientId, client_secret: 'guess' }),
    h.form('/oauth/device_authorization', {}, { authorization: basic('no-such-client', 'guess') }),
    h.form('/oauth/device_authorization', {}, { authorization: basic(client.clientId, 'guess') }),
  ]);
  for (const res of answers) assertOAuthError(res, 401, 'invalid_client');
  const descriptions = new Set(answers.map((r) => r.json<ErrorBody>().error_description));
  assert.deepEqual([...descriptions], ['client authentication failed']);
});

test('offline_access from a client without refresh tokens: invalid_scope naming the command that enables them, which then works', async (t) => {
  const h = await build(t);
  const client = await h.publicClient({ scope: 'openid profile' });
  const res = await h.form('/oauth/device_authorization', { client_id: client.clientId, scope: 'openid offline_access' });
  assertOAuthError(res, 400, 'invalid_scope');
  assertNoStore(res);
  assert.equal(res.json<ErrorBody>().error_description,
    `client ${client.clientId} does not issue refresh tokens, so it cannot ask for offline_access: `
    + `enable them with \`device-code-server client update ${client.clientId} --refresh\`, or leave offline_access out of the scope`);
  // Other scopes the client lacks keep their plain answer.
  const other = await h.form('/oauth/device_authorization', { client_id: client.clientId, scope: 'openid email' });
  assert.equal(other.json<ErrorBody>().error_description, 'scope not allowed for this client: email');

  // The fix it names: the same client, now with refresh tokens, gets one for offline_access.
  const updated = await h.services.admin.updateClient(client.envId, client.clientId, { refreshTokens: true });
  assert.deepEqual(updated.scopes, ['openid', 'profile', 'offline_access']);
  const started = await startAuthorization(h, updated, { scope: 'openid offline_access' });
  await decide(h, started.user_code, await h.user(), true);
  const token = await poll(h, started.device_code, client.clientId);
  assert.equal(token.statusCode, 200, token.body);
  assert.match(token.json<{ refresh_token?: string }>().refresh_token ?? '', /^rt_/);
});

test('a client cannot be made with offline_access but without refresh tokens', async (t) => {
  const h = await build(t);
  await assert.rejects(h.services.admin.createClient({ envId: h.services.defaultEnv.id, name: 'TV', scope: 'openid offline_access' }),
    { name: 'CoreError', code: 'invalid_scope', message: 'offline_access needs refresh tokens enabled' });
  const { client } = await h.services.admin.createClient({ envId: h.services.defaultEnv.id, name: 'TV', scope: 'openid offline_access', refreshTokens: true });
  assert.deepEqual(client.scopes, ['openid', 'offline_access']);
});
