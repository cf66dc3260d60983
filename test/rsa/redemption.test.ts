// Redemption of registration codes by the authenticator app (docs/vendors.md): one device per user, held by
// a UNIQUE index, and wrong codes drawing on the per-source guess budget.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { build, type TestApp } from '../helpers/build.ts';
import { adminJwt, adminKeyFile, assertRsaError, CODE_PATH, REDEEM_PATH, RSA_APP_ID, rsaRequest, sqlRows } from './_support.ts';

const INVALID = 'The device registration code is invalid, expired or already used.';

async function withCode(t: Parameters<typeof build>[0], env: Record<string, string> = {}) {
  const h = await build(t, { env });
  const jwt = await adminJwt(h, await adminKeyFile(h));
  const alice = await h.user('alice');
  const issue = async () => {
    const res = await rsaRequest(h, 'POST', CODE_PATH, jwt, { username: 'alice', appId: RSA_APP_ID });
    assert.equal(res.statusCode, 200, res.body);
    return res.json<{ deviceRegistrationCode: string }>().deviceRegistrationCode;
  };
  return { h, jwt, alice, issue };
}

function redeem(h: TestApp, code: string, o: { appId?: string; remoteAddress?: string } = {}) {
  return h.inject({
    method: 'POST', url: REDEEM_PATH, remoteAddress: o.remoteAddress ?? '203.0.113.9',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ deviceRegistrationCode: code, appId: o.appId ?? RSA_APP_ID, deviceName: "Alice's phone", platform: 'iOS' }),
  });
}

test('a code registers the user\'s device: 201 with the device, listed for the user', async (t) => {
  const { h, jwt, alice, issue } = await withCode(t);
  const res = await redeem(h, await issue());
  assert.equal(res.statusCode, 201, res.body);
  assert.equal(res.headers['cache-control'], 'no-store');
  const device = res.json<Record<string, unknown>>();
  assert.deepEqual(Object.keys(device), ['id', 'userId', 'appId', 'deviceName', 'platform', 'registrationDate']);
  assert.equal(device.userId, alice.id);
  assert.equal(device.appId, RSA_APP_ID);
  assert.equal(device.deviceName, "Alice's phone");
  assert.equal(device.registrationDate, new Date(h.clock.now()).toISOString());
  const listed = await rsaRequest(h, 'GET', `/AdminInterface/restapi/v1/users/${alice.id}/devices`, jwt);
  assert.deepEqual(listed.json(), { userId: alice.id, devices: [device] });
});

test('invalid, used, expired and other-app codes are 400; none registers anything', async (t) => {
  const { h, issue } = await withCode(t, { CODE_GUESS_BUDGET: '100' });
  const code = await issue();
  const wrongDigits = code === '000000000' ? '000000001' : '000000000';
  for (const wrong of [wrongDigits, code.slice(1), `${code}0`, 'abcdefghi', '', ` ${code}`]) {
    assertRsaError(await redeem(h, wrong), 400, INVALID, REDEEM_PATH);
  }
  assertRsaError(await redeem(h, code, { appId: '00000000-0000-4000-8000-000000000000' }), 400, INVALID);
  h.clock.advance(301);
  assertRsaError(await redeem(h, code), 400, INVALID);
  assert.deepEqual(sqlRows(h, 'SELECT * FROM registered_devices'), []);
});

test('a disabled user\'s code is refused (403) and kept; enabled again, it works', async (t) => {
  const { h, issue } = await withCode(t);
  const code = await issue();
  await h.services.admin.users.setDisabled(h.services.defaultEnv.id, 'alice', true);
  assertRsaError(await redeem(h, code), 403, 'User is disabled.');
  await h.services.admin.users.setDisabled(h.services.defaultEnv.id, 'alice', false);
  assert.equal((await redeem(h, code)).statusCode, 201);
});

test('one device per user: after it, codes are refused until the admin deletes it, then a new one works', async (t) => {
  const { h, jwt, alice, issue } = await withCode(t);
  const device = (await redeem(h, await issue())).json<{ id: string }>();
  assertRsaError(await rsaRequest(h, 'POST', CODE_PATH, jwt, { username: 'alice', appId: RSA_APP_ID }), 403, 'User already has a registered device.');
  const deleted = await rsaRequest(h, 'DELETE', `/AdminInterface/restapi/v1/users/${alice.id}/devices/${device.id}`, jwt);
  assert.equal(deleted.statusCode, 200, deleted.body);
  assert.equal(deleted.body, '');
  assert.equal((await redeem(h, await issue())).statusCode, 201);
});

test('50 concurrent redemptions over real sockets: exactly one device, the rest 400 or 409', async (t) => {
  const { h, issue } = await withCode(t, { CODE_GUESS_BUDGET: '1000', RATE_LIMIT_DEVICE_REGISTRATION: '1000' });
  const code = await issue();
  const url = await h.listen();
  const answers = await Promise.all(Array.from({ length: 50 }, async () => {
    const res = await fetch(`${url}${REDEEM_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ deviceRegistrationCode: code, appId: RSA_APP_ID, deviceName: 'phone', platform: 'Android' }),
    });
    return { status: res.status, body: (await res.json()) as { message?: string } };
  }));
  assert.equal(answers.filter((a) => a.status === 201).length, 1);
  for (const a of answers.filter((x) => x.status !== 201)) {
    assert.ok(a.status === 400 || a.status === 409, `status ${a.status}`);
    assert.ok(a.body.message === INVALID || a.body.message === 'User already has a registered device.', a.body.message);
  }
  assert.equal(sqlRows(h, 'SELECT * FROM registered_devices').length, 1);
});

test('the UNIQUE index, not a check, holds the one-device rule: a stray live code gets 409 and is spent', async (t) => {
  const { h, alice, issue } = await withCode(t);
  assert.equal((await redeem(h, await issue())).statusCode, 201);
  // The API never issues a code to a user with a device; plant one as another writer could.
  assert.equal(await h.services.store.registrationCodes.issue({
    userId: alice.id, envId: alice.envId, codeHash: 'placeholder', appId: RSA_APP_ID, expiresAt: 0, createdAt: 0,
  }), 'device_registered');
  const db = new Database(h.config.databasePath);
  db.prepare('INSERT INTO registration_codes (user_id, env_id, code_hash, app_id, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)')
    .run(alice.id, alice.envId, h.services.secrets.hashCode('registration', '424242424'), RSA_APP_ID, h.clock.now() + 60_000, h.clock.now());
  db.close();
  assertRsaError(await redeem(h, '424242424'), 409, 'User already has a registered device.', REDEEM_PATH);
  assert.equal(sqlRows(h, 'SELECT count(*) AS n FROM registered_devices WHERE user_id = ?', alice.id)[0]?.n, 1);
  assert.deepEqual(sqlRows(h, 'SELECT * FROM registration_codes'), [], 'the stray code is spent');
});

test('wrong codes draw on the per-source guess budget: then 429 even for the right code, per address', async (t) => {
  const { h, issue } = await withCode(t, { CODE_GUESS_BUDGET: '3' });
  const code = await issue();
  for (let i = 0; i < 3; i++) assertRsaError(await redeem(h, String(100000000 + i)), 400, INVALID);
  const limited = await redeem(h, code);
  assertRsaError(limited, 429, 'Too many requests.');
  assert.match(String(limited.headers['retry-after']), /^\d+$/);
  assert.equal((await redeem(h, code, { remoteAddress: '198.51.100.7' })).statusCode, 201, 'another address has its own budget');
});

test('wrong codes sent all at once spend exactly the budget: no burst slips past one look at the count', async (t) => {
  const { h, issue } = await withCode(t, { CODE_GUESS_BUDGET: '3', RATE_LIMIT_DEVICE_REGISTRATION: '1000' });
  const code = await issue();
  const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => redeem(h, String(200000000 + i))));
  assert.equal(answers.filter((r) => r.statusCode === 400).length, 3, 'three wrong codes are checked');
  assert.equal(answers.filter((r) => r.statusCode === 429).length, 9, 'the rest are refused unchecked');
  assertRsaError(await redeem(h, code), 429, 'Too many requests.');
});

test('a right code gives its guess back: a budget of one still allows a wrong code after it', async (t) => {
  const { h, issue } = await withCode(t, { CODE_GUESS_BUDGET: '1' });
  assert.equal((await redeem(h, await issue())).statusCode, 201);
  assertRsaError(await redeem(h, '300000000'), 400, INVALID);
  assertRsaError(await redeem(h, '300000001'), 429, 'Too many requests.');
});

test('redemption is rate limited per source address', async (t) => {
  const { h } = await withCode(t, { RATE_LIMIT_DEVICE_REGISTRATION: '2', CODE_GUESS_BUDGET: '100' });
  for (let i = 0; i < 2; i++) assertRsaError(await redeem(h, '123123123'), 400, INVALID);
  const res = await redeem(h, '123123123');
  assertRsaError(res, 429, 'Too many requests.');
  assert.ok(res.headers['retry-after']);
});
