// RSA's neighbouring admin endpoints (docs/vendors.md): users/lookup, a user's devices, deleting a device;
// the roles (both issue codes and look up; only super admins delete) and environment isolation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { build, type TestApp } from '../helpers/build.ts';
import { adminJwt, adminKeyFile, assertRsaError, CODE_PATH, LOOKUP_PATH, REDEEM_PATH, RSA_APP_ID, rsaRequest } from './_support.ts';

const devicesPath = (userId: string) => `/AdminInterface/restapi/v1/users/${userId}/devices`;

async function registerDevice(h: TestApp, jwt: string, username: string): Promise<string> {
  const code = (await rsaRequest(h, 'POST', CODE_PATH, jwt, { username, appId: RSA_APP_ID })).json<{ deviceRegistrationCode: string }>().deviceRegistrationCode;
  const res = await rsaRequest(h, 'POST', REDEEM_PATH, undefined, { deviceRegistrationCode: code, appId: RSA_APP_ID, deviceName: 'phone', platform: 'iOS' });
  assert.equal(res.statusCode, 201, res.body);
  return res.json<{ id: string }>().id;
}

test('users/lookup by email (any case) or username: the user\'s details; unknown is 404 "User not found."', async (t) => {
  const h = await build(t);
  const jwt = await adminJwt(h, await adminKeyFile(h, 'helpdesk_admin'));
  const alice = await h.user('alice');
  const expected = {
    id: alice.id, emailAddress: 'alice@example.test', username: 'alice', creationDate: new Date(alice.createdAt).toISOString(),
    identitySource: 'device-code-server', userStatus: 'Enabled', markDeleted: false, highRiskUser: false,
  };
  for (const body of [{ email: 'alice@example.test' }, { email: 'Alice@Example.Test' }, { username: 'alice' }, { username: 'alice', searchUnsynched: true }]) {
    const res = await rsaRequest(h, 'POST', LOOKUP_PATH, jwt, body);
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), expected);
  }
  await h.services.admin.users.setDisabled(h.services.defaultEnv.id, 'alice', true);
  assert.equal((await rsaRequest(h, 'POST', LOOKUP_PATH, jwt, { username: 'alice' })).json<{ userStatus: string }>().userStatus, 'Disabled');
  assertRsaError(await rsaRequest(h, 'POST', LOOKUP_PATH, jwt, { email: 'nobody@example.test' }), 404, 'User not found.', LOOKUP_PATH);
  assertRsaError(await rsaRequest(h, 'POST', LOOKUP_PATH, jwt, {}), 400, 'Incorrect number of properties in the request body.');
  assertRsaError(await rsaRequest(h, 'POST', LOOKUP_PATH, jwt, { email: 'a@b.c', username: 'alice' }), 400, 'Invalid property specified: username.');
  assertRsaError(await rsaRequest(h, 'POST', LOOKUP_PATH, jwt, { username: 'alice', searchUnsynched: 'yes' }), 400, 'Invalid property specified: searchUnsynched.');
});

test('a user\'s devices: empty, then the registered one; an unknown user is 404', async (t) => {
  const h = await build(t);
  const jwt = await adminJwt(h, await adminKeyFile(h, 'helpdesk_admin'));
  const alice = await h.user('alice');
  assert.deepEqual((await rsaRequest(h, 'GET', devicesPath(alice.id), jwt)).json(), { userId: alice.id, devices: [] });
  const deviceId = await registerDevice(h, jwt, 'alice');
  const listed = (await rsaRequest(h, 'GET', devicesPath(alice.id), jwt)).json<{ devices: { id: string }[] }>();
  assert.deepEqual(listed.devices.map((d) => d.id), [deviceId]);
  assertRsaError(await rsaRequest(h, 'GET', devicesPath('00000000-0000-4000-8000-000000000000'), jwt), 404, 'User not found.');
});

test('deleting a device: a help-desk admin may not (403), a super admin may (200, empty); twice is 404', async (t) => {
  const h = await build(t);
  const helpdesk = await adminJwt(h, await adminKeyFile(h, 'helpdesk_admin'));
  const superAdmin = await adminJwt(h, await adminKeyFile(h, 'super_admin'));
  const alice = await h.user('alice');
  const deviceId = await registerDevice(h, helpdesk, 'alice');
  const path = `${devicesPath(alice.id)}/${deviceId}`;
  assertRsaError(await rsaRequest(h, 'DELETE', path, helpdesk), 403, 'Not authorized to perform the request.', path);
  const res = await rsaRequest(h, 'DELETE', path, superAdmin);
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.body, '');
  assertRsaError(await rsaRequest(h, 'DELETE', path, superAdmin), 404, 'User and/or device is not found.');
  assertRsaError(await rsaRequest(h, 'DELETE', `${devicesPath('00000000-0000-4000-8000-000000000000')}/${deviceId}`, superAdmin), 404, 'User and/or device is not found.');
});

test('an admin key acts in its own environment only', async (t) => {
  const h = await build(t);
  const other = await h.services.admin.createEnvironment('tenant-b');
  const jwtA = await adminJwt(h, await adminKeyFile(h, 'super_admin'));
  const jwtB = await adminJwt(h, await adminKeyFile(h, 'super_admin', other));
  const alice = await h.user('alice');
  const deviceId = await registerDevice(h, jwtA, 'alice');
  assertRsaError(await rsaRequest(h, 'POST', CODE_PATH, jwtB, { username: 'alice', appId: RSA_APP_ID }), 403, 'User alice not found.');
  assertRsaError(await rsaRequest(h, 'POST', LOOKUP_PATH, jwtB, { username: 'alice' }), 404, 'User not found.');
  assertRsaError(await rsaRequest(h, 'GET', devicesPath(alice.id), jwtB), 404, 'User not found.');
  assertRsaError(await rsaRequest(h, 'DELETE', `${devicesPath(alice.id)}/${deviceId}`, jwtB), 404, 'User and/or device is not found.');
  // The companyID is the key's environment's.
  await h.user('carol', 'correct horse battery', other.id);
  const res = await rsaRequest(h, 'POST', CODE_PATH, jwtB, { username: 'carol', appId: RSA_APP_ID });
  assert.equal(res.json<{ companyID: string }>().companyID, other.companyId);
});

test('unknown admin paths and the adminRestApiUrl joined with a second slash', async (t) => {
  const h = await build(t);
  const file = await adminKeyFile(h);
  const jwt = await adminJwt(h, file);
  await h.user('alice');
  assertRsaError(await rsaRequest(h, 'GET', '/AdminInterface/restapi/v1/nothing', jwt), 404, 'No such endpoint.', '/AdminInterface/restapi/v1/nothing');
  // Other methods on a known path: 405 with Allow, as Spring answers.
  for (const [method, path, allow] of [['GET', LOOKUP_PATH, 'POST'], ['PUT', devicesPath('x'), 'GET, HEAD'], ['POST', `${devicesPath('x')}/y`, 'DELETE']] as const) {
    const res = await rsaRequest(h, method, path, jwt);
    assertRsaError(res, 405, 'Request method not supported.', path);
    assert.equal(res.headers.allow, allow);
  }
  // Key files end adminRestApiUrl with '/'; a client joining with another '/' still lands.
  const url = new URL(`${file.adminRestApiUrl}/v1/users/deviceRegistrationCode`).pathname;
  assert.match(url, /restapi\/\/v1/);
  assert.equal((await rsaRequest(h, 'POST', url, jwt, { username: 'alice', appId: RSA_APP_ID })).statusCode, 200);
});
