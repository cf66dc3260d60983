// RFC 8628 §3.1-3.2: the device authorization endpoint, at the root and per environment.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { build } from '../helpers/build.ts';
import { assertNoStore, assertOAuthError, basic, type DeviceAuthorizationBody } from './_support.ts';

const USER_CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/;

function assertDeviceCode(code: string): void {
  assert.ok(code.startsWith('dc_'), code);
  const random = code.slice(3);
  assert.match(random, /^[A-Za-z0-9_-]+$/, 'base64url after the prefix');
  assert.ok(Buffer.from(random, 'base64url').length * 8 >= 256, 'at least 256 random bits');
}

test('200: every field with its type, the default lifetime and interval, no-store headers', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  const res = await h.form('/oauth/device_authorization', { client_id: client.clientId, scope: 'openid profile' });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  assertNoStore(res);
  const body = res.json<DeviceAuthorizationBody>();
  assert.deepEqual(Object.keys(body).sort(), ['device_code', 'expires_in', 'interval', 'user_code', 'verification_uri', 'verification_uri_complete']);
  assertDeviceCode(body.device_code);
  assert.match(body.user_code, USER_CODE);
  assert.equal(body.verification_uri, 'http://issuer.test/device');
  assert.equal(body.verification_uri_complete, `http://issuer.test/device?user_code=${body.user_code}`);
  assert.equal(body.expires_in, 600);
  assert.equal(body.interval, 5);
});

test('every authorization gets fresh codes', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  const seenDevice = new Set<string>();
  const seenUser = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const body = (await h.form('/oauth/device_authorization', { client_id: client.clientId })).json<DeviceAuthorizationBody>();
    assertDeviceCode(body.device_code);
    assert.match(body.user_code, USER_CODE);
    seenDevice.add(body.device_code);
    seenUser.add(body.user_code);
  }
  assert.equal(seenDevice.size, 20);
  assert.equal(seenUser.size, 20);
});

test("the client's code lifetime and poll interval are used", async (t) => {
  const h = await build(t);
  const client = await h.publicClient({ codeLifetime: 120, pollInterval: 7 });
  const body = (await h.form('/oauth/device_authorization', { client_id: client.clientId })).json<DeviceAuthorizationBody>();
  assert.equal(body.expires_in, 120);
  assert.equal(body.interval, 7);
});

test('per-environment endpoint: verification URI of that environment; clients of other environments are unknown there', async (t) => {
  const h = await build(t);
  const tenant = await h.services.admin.createEnvironment('tenant2');
  const tenantClient = await h.publicClient({ envId: tenant.id });
  const defaultClient = await h.publicClient();

  const res = await h.form(`/${tenant.id}/as/device_authorization`, { client_id: tenantClient.clientId });
  assert.equal(res.statusCode, 200);
  assertNoStore(res);
  const body = res.json<DeviceAuthorizationBody>();
  assertDeviceCode(body.device_code);
  assert.match(body.user_code, USER_CODE);
  assert.equal(body.verification_uri, `http://issuer.test/${tenant.id}/device`);
  assert.equal(body.verification_uri_complete, `http://issuer.test/${tenant.id}/device?user_code=${body.user_code}`);

  assertOAuthError(await h.form(`/${tenant.id}/as/device_authorization`, { client_id: defaultClient.clientId }), 401, 'invalid_client');
  assertOAuthError(await h.form('/oauth/device_authorization', { client_id: tenantClient.clientId }), 401, 'invalid_client');
});

test('unknown environment id: 404 in the RFC 6749 format', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  const res = await h.form('/6f1c1c2e-4a55-4c1e-9d3b-0a1b2c3d4e5f/as/device_authorization', { client_id: client.clientId });
  assertOAuthError(res, 404, 'invalid_request');
});

test('unknown parameters are ignored', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  const res = await h.form('/oauth/device_authorization', { client_id: client.clientId, foo: 'bar', response_type: 'code', audience: 'x' });
  assert.equal(res.statusCode, 200);
  assertDeviceCode(res.json<DeviceAuthorizationBody>().device_code);
});

test('a duplicated parameter is invalid_request, with no-store headers', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  const bodies: Record<string, string | string[]>[] = [
    { client_id: [client.clientId, client.clientId] },
    { client_id: client.clientId, scope: ['openid', 'openid'] },
    { client_id: client.clientId, foo: ['a', 'b'] },
  ];
  for (const body of bodies) {
    const res = await h.form('/oauth/device_authorization', body);
    assertOAuthError(res, 400, 'invalid_request');
    assertNoStore(res);
  }
});

test('missing client_id: 401 invalid_client with no-store headers and no Basic challenge', async (t) => {
  const h = await build(t);
  const res = await h.form('/oauth/device_authorization', { scope: 'openid' });
  assertOAuthError(res, 401, 'invalid_client');
  assertNoStore(res);
  assert.equal(res.headers['www-authenticate'], undefined);
  assertOAuthError(await h.form('/oauth/device_authorization', { client_id: '' }), 401, 'invalid_client');
});

test('unknown client: 401 invalid_client', async (t) => {
  const h = await build(t);
  const res = await h.form('/oauth/device_authorization', { client_id: 'no-such-client' });
  assertOAuthError(res, 401, 'invalid_client');
  assertNoStore(res);
});

test('a scope the client may not have, or a malformed scope: invalid_scope', async (t) => {
  const h = await build(t);
  const client = await h.publicClient({ scope: 'openid profile' });
  for (const scope of ['email', 'openid admin', 'profile "x"']) {
    const res = await h.form('/oauth/device_authorization', { client_id: client.clientId, scope });
    assertOAuthError(res, 400, 'invalid_scope');
    assertNoStore(res);
  }
  // A subset is fine.
  assert.equal((await h.form('/oauth/device_authorization', { client_id: client.clientId, scope: 'profile' })).statusCode, 200);
});

test('a client without the device grant: unauthorized_client', async (t) => {
  const h = await build(t);
  const base = await h.publicClient();
  await h.services.store.clients.create({ ...base, clientId: 'no-device-grant', grantTypes: [] });
  assertOAuthError(await h.form('/oauth/device_authorization', { client_id: 'no-device-grant' }), 400, 'unauthorized_client');
});

test('confidential client: client_secret_basic and client_secret_post both work', async (t) => {
  const h = await build(t);
  const { client, secret } = await h.confidentialClient();
  const viaBasic = await h.form('/oauth/device_authorization', { scope: 'openid' }, { authorization: basic(client.clientId, secret) });
  assert.equal(viaBasic.statusCode, 200, viaBasic.body);
  assertDeviceCode(viaBasic.json<DeviceAuthorizationBody>().device_code);
  // Basic plus a matching client_id in the body is still one authentication method.
  const basicWithId = await h.form('/oauth/device_authorization', { client_id: client.clientId }, { authorization: basic(client.clientId, secret) });
  assert.equal(basicWithId.statusCode, 200, basicWithId.body);
  const viaPost = await h.form('/oauth/device_authorization', { client_id: client.clientId, client_secret: secret });
  assert.equal(viaPost.statusCode, 200, viaPost.body);
  assertDeviceCode(viaPost.json<DeviceAuthorizationBody>().device_code);
});

test('confidential client: no secret, or a wrong secret, is 401 invalid_client; Basic failures carry a Basic challenge', async (t) => {
  const h = await build(t);
  const { client, secret } = await h.confidentialClient();

  const none = await h.form('/oauth/device_authorization', { client_id: client.clientId });
  assertOAuthError(none, 401, 'invalid_client');
  assert.equal(none.headers['www-authenticate'], undefined);

  const wrongPost = await h.form('/oauth/device_authorization', { client_id: client.clientId, client_secret: `${secret}x` });
  assertOAuthError(wrongPost, 401, 'invalid_client');
  assertNoStore(wrongPost);
  assert.equal(wrongPost.headers['www-authenticate'], undefined);

  const wrongBasic = await h.form('/oauth/device_authorization', {}, { authorization: basic(client.clientId, 'wrong-secret') });
  assertOAuthError(wrongBasic, 401, 'invalid_client');
  assertNoStore(wrongBasic);
  assert.match(String(wrongBasic.headers['www-authenticate']), /^Basic /);

  const unknownBasic = await h.form('/oauth/device_authorization', {}, { authorization: basic('no-such-client', 'whatever') });
  assertOAuthError(unknownBasic, 401, 'invalid_client');
  assert.match(String(unknownBasic.headers['www-authenticate']), /^Basic /);

  const malformedBasic = await h.form('/oauth/device_authorization', {}, { authorization: `Basic ${Buffer.from('no-colon').toString('base64')}` });
  assertOAuthError(malformedBasic, 401, 'invalid_client');
  assert.match(String(malformedBasic.headers['www-authenticate']), /^Basic /);
});

test('Basic and client_secret_post at once: invalid_request', async (t) => {
  const h = await build(t);
  const { client, secret } = await h.confidentialClient();
  const res = await h.form('/oauth/device_authorization', { client_id: client.clientId, client_secret: secret }, { authorization: basic(client.clientId, secret) });
  assertOAuthError(res, 400, 'invalid_request');
  assertNoStore(res);
  // A body client_id that contradicts the Basic one is refused the same way.
  const other = await h.confidentialClient();
  assertOAuthError(
    await h.form('/oauth/device_authorization', { client_id: other.client.clientId }, { authorization: basic(client.clientId, secret) }),
    400, 'invalid_request',
  );
});

test('a public client sending a secret: invalid_client', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  assertOAuthError(await h.form('/oauth/device_authorization', { client_id: client.clientId, client_secret: 'guess' }), 401, 'invalid_client');
  const viaBasic = await h.form('/oauth/device_authorization', {}, { authorization: basic(client.clientId, 'guess') });
  assertOAuthError(viaBasic, 401, 'invalid_client');
  assert.match(String(viaBasic.headers['www-authenticate']), /^Basic /);
});

test('an Authorization scheme other than Basic: invalid_request', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  assertOAuthError(await h.form('/oauth/device_authorization', { client_id: client.clientId }, { authorization: 'Bearer abc' }), 400, 'invalid_request');
});
