// RSA's deviceRegistrationCode (docs/vendors.md): every documented answer with its exact message.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateRegistrationCode } from '../../src/core/registration.ts';
import { build, type TestApp } from '../helpers/build.ts';
import { RSA_ERROR, RSA_PATH, RSA_REQUEST_EMAIL, RSA_REQUEST_USERNAME, RSA_RESPONSE, sameShape } from '../fixtures/vendor-examples.ts';
import { adminJwt, adminKeyFile, assertRsaError, CODE_PATH, databaseDigest, REDEEM_PATH, RSA_APP_ID, rsaRequest, sqlRows } from './_support.ts';

interface CodeBody {
  companyID: string;
  deviceRegistrationCode: string;
  email?: string;
  username?: string;
  expirationDate: string;
}

async function setup(t: Parameters<typeof build>[0], env: Record<string, string> = {}) {
  const h = await build(t, { env });
  const jwt = await adminJwt(h, await adminKeyFile(h));
  return { h, jwt };
}

const issue = (h: TestApp, jwt: string, body: unknown) => rsaRequest(h, 'POST', CODE_PATH, jwt, body);
const redeem = (h: TestApp, code: string) =>
  rsaRequest(h, 'POST', REDEEM_PATH, undefined, { deviceRegistrationCode: code, appId: RSA_APP_ID, deviceName: 'Pixel', platform: 'Android' });

test('RSA\'s documented requests, replayed byte for byte: 200 with its example response\'s fields, in its order', async (t) => {
  const { h, jwt } = await setup(t);
  await h.services.admin.users.create({ envId: h.services.defaultEnv.id, username: 'usersusername', email: 'user.one@mycompany.com', password: 'correct horse battery' });
  // RSA's example shows only these two headers: no Content-Type.
  const headers = { accept: 'application/json', authorization: `Bearer ${jwt}` };
  const byEmail = await h.inject({ method: 'POST', url: RSA_PATH, headers, payload: RSA_REQUEST_EMAIL });
  assert.equal(byEmail.statusCode, 200, byEmail.body);
  assert.match(String(byEmail.headers['content-type']), /^application\/json/);
  const body = byEmail.json<CodeBody & Record<string, unknown>>();
  assert.equal(sameShape(body, RSA_RESPONSE), undefined);
  assert.equal(body.companyID, h.services.defaultEnv.companyId);
  assert.match(body.deviceRegistrationCode, /^\d{9}$/);
  assert.equal(body.email, 'user.one@mycompany.com');
  assert.match(body.expirationDate, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  assert.equal(Date.parse(body.expirationDate), h.clock.now() + 5 * 60_000, 'five minutes by default');

  const byUsername = await h.inject({ method: 'POST', url: RSA_PATH, headers, payload: RSA_REQUEST_USERNAME });
  assert.equal(byUsername.statusCode, 200, byUsername.body);
  assert.deepEqual(Object.keys(byUsername.json<object>()), ['companyID', 'deviceRegistrationCode', 'username', 'expirationDate']);
  assert.equal(byUsername.json<CodeBody>().username, 'usersusername');
  // With Content-Type too, as most clients send it.
  assert.equal((await issue(h, jwt, RSA_REQUEST_EMAIL)).statusCode, 200);
});

test('400: RSA\'s two messages, for the count of properties and for each invalid property', async (t) => {
  const { h, jwt } = await setup(t);
  await h.user('alice');
  const count = 'Incorrect number of properties in the request body.';
  const cases: [unknown, string][] = [
    [{}, count],
    [{ email: 'alice@example.test' }, count],
    [{ email: 'alice@example.test', appId: RSA_APP_ID, extra: 1 }, count],
    [{ email: 'alice@example.test', username: 'alice', appId: RSA_APP_ID }, count],
    [{ emailId: 'alice@example.test', appId: RSA_APP_ID }, 'Invalid property specified: emailId.'],
    [{ email: 'alice@example.test', username: 'alice' }, 'Invalid property specified: username.'],
    [{ email: 'not an email', appId: RSA_APP_ID }, 'Invalid property specified: email.'],
    [{ email: 42, appId: RSA_APP_ID }, 'Invalid property specified: email.'],
    [{ username: '', appId: RSA_APP_ID }, 'Invalid property specified: username.'],
    [{ email: 'alice@example.test', appId: 7 }, 'Invalid property specified: appId.'],
    [{ email: 'alice@example.test', appId: '00000000-0000-4000-8000-000000000000' }, 'Invalid property specified: appId.'],
  ];
  const before = databaseDigest(h);
  for (const [body, message] of cases) assertRsaError(await issue(h, jwt, body), 400, message, CODE_PATH);
  assert.equal(databaseDigest(h), before);
});

test('403: not licensed, user not found (by email and by username), disabled, already registered', async (t) => {
  const { h, jwt } = await setup(t);
  await h.user('alice');
  await h.user('bob');
  await h.services.admin.users.setDisabled(h.services.defaultEnv.id, 'bob', true);

  assertRsaError(await issue(h, jwt, { email: 'nobody@example.test', appId: RSA_APP_ID }), 403, 'User nobody@example.test not found.', CODE_PATH);
  assertRsaError(await issue(h, jwt, { username: 'nobody', appId: RSA_APP_ID }), 403, 'User nobody not found.');
  assertRsaError(await issue(h, jwt, { email: 'bob@example.test', appId: RSA_APP_ID }), 403, 'User is disabled.');

  const code = (await issue(h, jwt, { email: 'alice@example.test', appId: RSA_APP_ID })).json<CodeBody>().deviceRegistrationCode;
  assert.equal((await redeem(h, code)).statusCode, 201);
  const registered = assertRsaError(await issue(h, jwt, { email: 'alice@example.test', appId: RSA_APP_ID }), 403, 'User already has a registered device.');
  // RSA's own error example, field for field (values aside).
  assert.equal(sameShape(registered as unknown as Record<string, unknown>, RSA_ERROR), undefined);
  assert.equal(registered.path, RSA_ERROR.path);

  const unlicensed = await h.services.admin.createEnvironment('unlicensed', { mfaLicensed: false });
  await h.user('carol', 'correct horse battery', unlicensed.id);
  const unlicensedJwt = await adminJwt(h, await adminKeyFile(h, 'super_admin', unlicensed));
  assertRsaError(await issue(h, unlicensedJwt, { username: 'carol', appId: RSA_APP_ID }), 403,
    'Your company is not licensed to use SecurID multifactor authentication methods.');
});

test('email lookup is case-insensitive and the answer echoes the email as asked', async (t) => {
  const { h, jwt } = await setup(t);
  await h.user('alice');
  const res = await issue(h, jwt, { email: 'ALICE@Example.TEST', appId: RSA_APP_ID.toUpperCase() });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json<CodeBody>().email, 'ALICE@Example.TEST');
});

test('429: "Too many requests." per admin key, with Retry-After', async (t) => {
  const { h, jwt } = await setup(t, { RATE_LIMIT_ADMIN_API: '2' });
  await h.user('alice');
  const other = await adminJwt(h, await adminKeyFile(h));
  for (let i = 0; i < 2; i++) assert.equal((await issue(h, jwt, { username: 'alice', appId: RSA_APP_ID })).statusCode, 200);
  const res = await issue(h, jwt, { username: 'alice', appId: RSA_APP_ID });
  assertRsaError(res, 429, 'Too many requests.', CODE_PATH);
  assert.match(String(res.headers['retry-after']), /^\d+$/);
  assert.equal((await issue(h, other, { username: 'alice', appId: RSA_APP_ID })).statusCode, 200, 'another key has its own budget');
});

test('500: RSA\'s internal-error message when the store fails, and nothing else leaks', async (t) => {
  const { h, jwt } = await setup(t);
  await h.user('alice');
  await h.services.store.close();
  assertRsaError(await issue(h, jwt, { username: 'alice', appId: RSA_APP_ID }), 500,
    'Cloud Access Service has an internal error and cannot generate the device registration code.', CODE_PATH);
});

test('a new code replaces the unused one; codes are one-time and stored only as keyed hashes', async (t) => {
  const { h, jwt } = await setup(t);
  await h.user('alice');
  const first = (await issue(h, jwt, { username: 'alice', appId: RSA_APP_ID })).json<CodeBody>().deviceRegistrationCode;
  const second = (await issue(h, jwt, { username: 'alice', appId: RSA_APP_ID })).json<CodeBody>().deviceRegistrationCode;
  assert.notEqual(first, second);
  const stored = JSON.stringify(sqlRows(h, 'SELECT * FROM registration_codes'));
  assert.ok(!stored.includes(first) && !stored.includes(second), 'no raw code in the database');
  const invalid = 'The device registration code is invalid, expired or already used.';
  assertRsaError(await redeem(h, first), 400, invalid, REDEEM_PATH);
  assert.equal((await redeem(h, second)).statusCode, 201);
  assertRsaError(await redeem(h, second), 400, invalid);
});

test('REGISTRATION_CODE_LIFETIME_SECONDS sets expirationDate; an expired code is refused', async (t) => {
  const { h, jwt } = await setup(t, { REGISTRATION_CODE_LIFETIME_SECONDS: '120' });
  await h.user('alice');
  const body = (await issue(h, jwt, { username: 'alice', appId: RSA_APP_ID })).json<CodeBody>();
  assert.equal(Date.parse(body.expirationDate), h.clock.now() + 120_000);
  h.clock.advance(120);
  assertRsaError(await redeem(h, body.deviceRegistrationCode), 400, 'The device registration code is invalid, expired or already used.');
});

test('codes are nine uniformly drawn digits, leading zeros kept', () => {
  const firstDigits = new Array<number>(10).fill(0);
  for (let i = 0; i < 20_000; i++) {
    const code = generateRegistrationCode();
    assert.match(code, /^\d{9}$/);
    firstDigits[Number(code[0])] = (firstDigits[Number(code[0])] ?? 0) + 1;
  }
  // 2,000 expected per digit; a modulo-biased or unpadded generator falls far outside this band.
  for (const n of firstDigits) assert.ok(n > 1700 && n < 2300, `first digits ${firstDigits.join(',')}`);
});

test('20 concurrent code requests for one user leave exactly one live code', async (t) => {
  // Trying the stale codes spends wrong guesses; a large budget keeps it from masking the live one.
  const { h, jwt } = await setup(t, { CODE_GUESS_BUDGET: '100' });
  const alice = await h.user('alice');
  const answers = await Promise.all(Array.from({ length: 20 }, () => issue(h, jwt, { username: 'alice', appId: RSA_APP_ID })));
  const codes = answers.map((r) => {
    assert.equal(r.statusCode, 200, r.body);
    return r.json<CodeBody>().deviceRegistrationCode;
  });
  const rows = sqlRows(h, 'SELECT user_id FROM registration_codes');
  assert.deepEqual(rows, [{ user_id: alice.id }]);
  const redeemed = [];
  for (const code of new Set(codes)) if ((await redeem(h, code)).statusCode === 201) redeemed.push(code);
  assert.equal(redeemed.length, 1, 'exactly one of the twenty codes is live');
});
