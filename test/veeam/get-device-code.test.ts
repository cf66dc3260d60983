// Veeam's getDeviceCode (docs/vendors.md): a device authorization for the environment's account
// client, in ADAL's DeviceCodeResult shape; the device code then polls the standard token endpoint.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { DEVICE_CODE_GRANT, build, type TestApp } from '../helpers/build.ts';
import { sameShape, VEEAM_REQUEST, VEEAM_RESPONSE } from '../fixtures/vendor-examples.ts';
import { sqlRows } from '../rsa/_support.ts';
import { assertNoStore, assertOAuthError, decide, poll } from '../oauth/_support.ts';
import { apiPrefix, assertInvalidToken, assertProblem, getDeviceCode, PASSWORD, sessionToken, type DeviceCodeBody } from './_support.ts';

async function signedIn(h: TestApp): Promise<string> {
  await h.user('alice', PASSWORD);
  return sessionToken(h, 'alice');
}

test('Veeam\'s documented request, replayed: 200 with exactly its example\'s eight fields, types and headers', async (t) => {
  const h = await build(t);
  const token = await signedIn(h);
  // The request as Veeam's documentation shows it: the method, the path and the Authorization header, nothing else.
  const res = await h.inject({ method: VEEAM_REQUEST.method, url: VEEAM_REQUEST.path, headers: { [VEEAM_REQUEST.headers[0]]: `Bearer ${token}` } });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
  assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.body));
  assertNoStore(res);
  const body = res.json<DeviceCodeBody & Record<string, unknown>>();
  assert.equal(sameShape(body, VEEAM_RESPONSE), undefined);
  assert.equal(body.interval, 5);
  assert.match(body.userCode, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
  assert.match(body.deviceCode, /^dc_[A-Za-z0-9_-]{43}$/);
  assert.equal(body.verificationUrl, 'http://issuer.test/device');
  // Absolute, with microseconds and an offset, as Veeam's example: the code's own expiry.
  assert.match(body.expiresOn, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/);
  assert.equal(Date.parse(body.expiresOn), h.clock.now() + 600_000);
  assert.equal(body.message, `To sign in, use a web browser to open the page ${body.verificationUrl} and enter the code ${body.userCode} to authenticate.`);
  assert.equal(body.resource, 'http://issuer.test');
  const account = await h.services.store.clients.getByPurpose(h.services.defaultEnv.id, 'account');
  assert.equal(body.clientId, account?.clientId);
});

test('the device code polls the standard token endpoint: pending, approval, a token for `resource`', async (t) => {
  const h = await build(t);
  const token = await signedIn(h);
  const dc = (await getDeviceCode(h, `Bearer ${token}`)).json<DeviceCodeBody>();
  assertOAuthError(await poll(h, dc.deviceCode, dc.clientId), 400, 'authorization_pending');
  await decide(h, dc.userCode, await h.services.admin.users.getByUsername(h.services.defaultEnv.id, 'alice'), true);
  const res = await poll(h, dc.deviceCode, dc.clientId);
  assert.equal(res.statusCode, 200, res.body);
  const url = await h.listen();
  const jwks = createRemoteJWKSet(new URL(`${url}/oauth/jwks`));
  const { payload } = await jwtVerify(res.json<{ access_token: string }>().access_token, jwks, {
    issuer: 'http://issuer.test', audience: dc.resource, typ: 'at+jwt', currentDate: new Date(h.clock.now()),
  });
  assert.equal(payload.client_id, dc.clientId);
});

test('the account client: created on first use, once even under concurrent first calls, listed like any other', async (t) => {
  const h = await build(t);
  await h.user('alice', PASSWORD);
  assert.equal(await h.services.store.clients.getByPurpose(h.services.defaultEnv.id, 'account'), undefined);
  // Sessions are grants of the account client, so ten first sign-ins at once make it too.
  const tokens = await Promise.all(Array.from({ length: 10 }, () => sessionToken(h, 'alice')));
  const token = tokens[0] ?? '';
  const answers = await Promise.all(Array.from({ length: 10 }, () => getDeviceCode(h, `Bearer ${token}`)));
  const ids = new Set(answers.map((r) => {
    assert.equal(r.statusCode, 200, r.body);
    return r.json<DeviceCodeBody>().clientId;
  }));
  assert.equal(ids.size, 1);
  const listed = (await h.services.admin.listClients(h.services.defaultEnv.id)).filter((c) => c.purpose === 'account');
  assert.equal(listed.length, 1);
  assert.equal(listed[0]?.clientId, [...ids][0]);
  assert.equal(listed[0]?.type, 'public');
  // Every call is a fresh authorization with its own codes.
  assert.equal(new Set(answers.map((r) => r.json<DeviceCodeBody>().deviceCode)).size, 10);
});

test('a non-default environment under /{envID}/api: its own URLs, client and token endpoint', async (t) => {
  const h = await build(t);
  const env = await h.services.admin.createEnvironment('tenant-b');
  const carol = await h.user('carol', PASSWORD, env.id);
  const token = await sessionToken(h, 'carol', { env });
  const res = await getDeviceCode(h, `Bearer ${token}`, { env });
  assert.equal(res.statusCode, 200, res.body);
  const dc = res.json<DeviceCodeBody>();
  assert.equal(dc.verificationUrl, `http://issuer.test/${env.id}/device`);
  assert.equal(dc.resource, `http://issuer.test/${env.id}/as`);
  assert.notEqual(dc.clientId, (await h.services.admin.accountClient(h.services.defaultEnv)).clientId);
  await decide(h, dc.userCode, carol, true, env);
  const tokenRes = await poll(h, dc.deviceCode, dc.clientId, { env });
  assert.equal(tokenRes.statusCode, 200, tokenRes.body);
  assert.equal(decodeJwt(tokenRes.json<{ access_token: string }>().access_token).aud, dc.resource);
  // The default environment's token endpoint does not know that client.
  assertOAuthError(await h.form('/oauth/token', { grant_type: DEVICE_CODE_GRANT, device_code: dc.deviceCode, client_id: dc.clientId }), 401, 'invalid_client');
});

test('no or a malformed Authorization header: 401 invalid_token with a Bearer challenge', async (t) => {
  const h = await build(t);
  const token = await signedIn(h);
  for (const authorization of [undefined, '', 'Bearer', `Basic ${Buffer.from('alice:x').toString('base64')}`, `Token ${token}`, `Bearer ${token} extra`, 'Bearer not-a-jwt']) {
    assertInvalidToken(await getDeviceCode(h, authorization));
  }
});

test('other methods are 405 with Allow: GET, before any body is read; HEAD starts nothing', async (t) => {
  const h = await build(t);
  const token = await signedIn(h);
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const) {
    const res = await h.inject({
      method, url: '/api/v1/accounts/created/getDeviceCode',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/xml' }, payload: '<x/>',
    });
    assertProblem(res, 405, 'method_not_allowed');
    assert.equal(res.headers.allow, 'GET');
  }
  const head = await h.inject({ method: 'HEAD', url: '/api/v1/accounts/created/getDeviceCode', headers: { authorization: `Bearer ${token}` } });
  assert.equal(head.statusCode, 405);
  assert.equal(head.body, '');
  assert.deepEqual(sqlRows(h, 'SELECT id FROM device_authorizations'), [], 'no authorization was started');
});

test('unknown paths and environments under /api answer in problem+json', async (t) => {
  const h = await build(t);
  assertProblem(await h.inject({ method: 'GET', url: '/api/v1/accounts/created/nothing' }), 404, 'not_found');
  assertProblem(await h.inject({ method: 'GET', url: '/api' }), 404, 'not_found');
  const token = await signedIn(h);
  assertProblem(await getDeviceCode(h, `Bearer ${token}`, { url: `/00000000-0000-4000-8000-000000000000${apiPrefix()}/v1/accounts/created/getDeviceCode` }), 404, 'not_found');
});

test('getDeviceCode is rate limited per session subject: one user\'s 429 leaves another user alone', async (t) => {
  const h = await build(t, { env: { RATE_LIMIT_SESSION: '2' } });
  await h.user('alice', PASSWORD);
  await h.user('bob', PASSWORD);
  // Sign in from another address: the token endpoint's own budget is per source address.
  const tokenFor = async (username: string, remoteAddress: string) => {
    const res = await h.inject({
      method: 'POST', url: '/api/oauth2/token', remoteAddress,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ grant_type: 'Password', Username: username, Password: PASSWORD }).toString(),
    });
    return res.json<{ access_token: string }>().access_token;
  };
  const alice = await tokenFor('alice', '192.0.2.1');
  const bob = await tokenFor('bob', '192.0.2.2');
  for (let i = 0; i < 2; i++) assert.equal((await getDeviceCode(h, `Bearer ${alice}`)).statusCode, 200);
  const limited = await getDeviceCode(h, `Bearer ${alice}`);
  assertProblem(limited, 429, 'too_many_requests');
  assert.match(String(limited.headers['retry-after']), /^\d+$/);
  assert.equal((await getDeviceCode(h, `Bearer ${bob}`)).statusCode, 200, 'another subject has its own budget');
});
