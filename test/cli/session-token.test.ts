import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { build, DEVICE_CODE_GRANT, TestClock, type TestApp } from '../helpers/build.ts';
import { type DeviceCodeBody } from '../veeam/_support.ts';
import { assertFailure, cliJson, dataDir, jsonOf, runCli, type EnvironmentJson, type RunOptions } from './run.ts';

// Session tokens carry the issuer and audience derived from PUBLIC_URL; build() serves http://issuer.test.
const AT_ISSUER: RunOptions = { env: { PUBLIC_URL: 'http://issuer.test' } };
const PASSWORD = { stdin: 'correct horse battery\n' };
const JWT = /^[\w-]+\.[\w-]+\.[\w-]+$/;


/** The token alone on stdout, one line, nothing else (so `$(…)` captures exactly the token). */
function tokenOf(r: { code: number | null; stdout: string; stderr: string }): string {
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.endsWith('\n'));
  const lines = r.stdout.split('\n');
  assert.equal(lines.length, 2, `one line on stdout, got: ${r.stdout}`);
  const token = lines[0] ?? '';
  assert.match(token, JWT);
  return token;
}

function getDeviceCode(h: TestApp, token: string | undefined, envId?: string) {
  return h.inject({
    method: 'GET',
    url: `${envId === undefined ? '' : `/${envId}`}/api/v1/accounts/created/getDeviceCode`,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
}

test('session-token prints one line, a session+jwt that getDeviceCode accepts; --json gives the token response', async (t) => {
  const dir = await dataDir(t);
  await cliJson(dir, ['user', 'create', '--username', 'alice', '--email', 'alice@example.test'], PASSWORD);
  const [text, json] = await Promise.all([
    runCli(dir, ['session-token', '--user', 'alice'], AT_ISSUER),
    runCli(dir, ['session-token', '--user', 'alice', '--json'], AT_ISSUER),
  ]);
  const token = tokenOf(text);
  assert.equal(text.stderr, '', 'nothing but the token is printed');

  const header = decodeProtectedHeader(token);
  assert.equal(header.typ, 'session+jwt');
  assert.ok(header.alg === 'ES256' || header.alg === 'RS256', String(header.alg));
  assert.equal(typeof header.kid, 'string');

  // The CLI runs on wall time, so the in-process server must too.
  const h = await build(t, { dir, clock: new TestClock('real') });
  const alice = await h.services.admin.users.getByUsername(h.services.defaultEnv.id, 'alice');
  const claims = decodeJwt(token);
  assert.equal(claims.sub, alice.id);
  assert.equal(claims.iss, 'http://issuer.test');
  assert.equal(claims.aud, 'http://issuer.test/api');

  const res = await getDeviceCode(h, token);
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json<DeviceCodeBody>();
  assert.deepEqual(Object.keys(body).sort(), ['clientId', 'deviceCode', 'expiresOn', 'interval', 'message', 'resource', 'userCode', 'verificationUrl']);
  assert.equal(body.verificationUrl, 'http://issuer.test/device');
  assert.ok(body.message.includes(body.userCode));
  assert.equal(body.clientId, (await h.services.admin.accountClient(h.services.defaultEnv)).clientId);
  // The device code it started is a real one: the device polls and waits for the user.
  const poll = await h.form('/oauth/token', { grant_type: DEVICE_CODE_GRANT, device_code: body.deviceCode, client_id: body.clientId });
  assert.equal(poll.json<{ error: string }>().error, 'authorization_pending', poll.body);

  // Without the token, or with a forged one, there is no device code.
  assert.equal((await getDeviceCode(h, undefined)).statusCode, 401);
  const [head, payload] = token.split('.');
  assert.equal((await getDeviceCode(h, `${head ?? ''}.${payload ?? ''}.${'A'.repeat(86)}`)).statusCode, 401);

  // --json: the token response shape, exactly.
  const out = jsonOf(json);
  assert.deepEqual(Object.keys(out).sort(), ['access_token', 'expires_in', 'token_type']);
  assert.equal(out.token_type, 'Bearer');
  assert.match(String(out.access_token), JWT);
  assert.equal(decodeProtectedHeader(String(out.access_token)).typ, 'session+jwt');
  const jsonClaims = decodeJwt(String(out.access_token));
  assert.equal(typeof out.expires_in, 'number');
  assert.ok(Number(out.expires_in) > 0);
  assert.equal(out.expires_in, (jsonClaims.exp ?? 0) - (jsonClaims.iat ?? 0), 'expires_in is the token lifetime');
  assert.equal((await getDeviceCode(h, String(out.access_token))).statusCode, 200);
});

test('session-token --env: a token of another environment works at /{envId}/api only', async (t) => {
  const dir = await dataDir(t);
  const staging = await cliJson<EnvironmentJson>(dir, ['env', 'create', '--name', 'staging']);
  await cliJson(dir, ['user', 'create', '--username', 'bob', '--email', 'bob@example.test', '--env', 'staging'], PASSWORD);
  const [byName, inDefault] = await Promise.all([
    runCli(dir, ['session-token', '--user', 'bob', '--env', 'staging'], AT_ISSUER),
    runCli(dir, ['session-token', '--user', 'bob'], AT_ISSUER),
  ]);
  const token = tokenOf(byName);
  assertFailure(inDefault, /no user bob/);

  const claims = decodeJwt(token);
  assert.equal(claims.iss, `http://issuer.test/${staging.id}/as`);
  assert.equal(claims.aud, `http://issuer.test/${staging.id}/api`);

  const h = await build(t, { dir, clock: new TestClock('real') });
  const env = await h.services.admin.resolveEnvironment('staging');
  const res = await getDeviceCode(h, token, staging.id);
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json<DeviceCodeBody>();
  assert.equal(body.verificationUrl, `http://issuer.test/${staging.id}/device`);
  assert.equal(body.clientId, (await h.services.admin.accountClient(env)).clientId);
  // Each environment takes only its own sessions.
  assert.equal((await getDeviceCode(h, token)).statusCode, 401);
});

test('session-token refuses an unknown or disabled user and a missing --user; disabling ends a minted session', async (t) => {
  const dir = await dataDir(t);
  await cliJson(dir, ['user', 'create', '--username', 'alice', '--email', 'alice@example.test'], PASSWORD);
  const [minted, unknown, missing, unknownJson] = await Promise.all([
    runCli(dir, ['session-token', '--user', 'alice'], AT_ISSUER),
    runCli(dir, ['session-token', '--user', 'mallory'], AT_ISSUER),
    runCli(dir, ['session-token'], AT_ISSUER),
    runCli(dir, ['session-token', '--user', 'mallory', '--json'], AT_ISSUER),
  ]);
  const token = tokenOf(minted);
  assertFailure(unknown, /no user mallory/);
  assertFailure(missing, /session-token: missing --user \(see `device-code-server session-token --help`\)/);
  assert.equal(unknownJson.code, 1);
  assert.equal((JSON.parse(unknownJson.stdout) as { error: string }).error, 'not_found');
  assert.ok(!unknownJson.stdout.includes('access_token'));

  const h = await build(t, { dir, clock: new TestClock('real') });
  assert.equal((await getDeviceCode(h, token)).statusCode, 200);

  await cliJson(dir, ['user', 'disable', 'alice']);
  const disabled = await runCli(dir, ['session-token', '--user', 'alice'], AT_ISSUER);
  assertFailure(disabled, /this user cannot sign in/);
  assert.ok(!JWT.test(disabled.stderr.trim()));
  // The token minted before is refused from now on.
  assert.equal((await getDeviceCode(h, token)).statusCode, 401);
});
