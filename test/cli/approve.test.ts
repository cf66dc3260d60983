import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { build, DEVICE_CODE_GRANT, TestClock, type TestApp } from '../helpers/build.ts';
import { assertFailure, cliJson, dataDir, runCli, type ClientJson } from './run.ts';

interface Started {
  h: TestApp;
  dir: string;
  client: ClientJson;
  deviceCode: string;
  userCode: string;
  poll(): ReturnType<TestApp['form']>;
}

/** A client and user made with the CLI, and a device authorization started over HTTP, on one directory. */
async function startFlow(t: TestContext, scope = 'openid profile'): Promise<Started> {
  const dir = await dataDir(t);
  const client = await cliJson<ClientJson>(dir, ['client', 'create', '--name', 'Living room TV', '--scope', 'openid profile email']);
  await cliJson(dir, ['user', 'create', '--username', 'alice', '--email', 'alice@example.test'], { stdin: 'alice password 1\n' });
  // The CLI runs on wall time, so the in-process server must too.
  const h = await build(t, { dir, clock: new TestClock('real') });
  const res = await h.form('/oauth/device_authorization', { client_id: client.client_id, scope });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json<{ device_code: string; user_code: string }>();
  const poll = () => h.form('/oauth/token', { grant_type: DEVICE_CODE_GRANT, device_code: body.device_code, client_id: client.client_id });
  return { h, dir, client, deviceCode: body.device_code, userCode: body.user_code, poll };
}

/** `WDJB-MJHT` as a person might type it: `wdjb mjht`. */
const typed = (code: string): string => code.toLowerCase().replace('-', ' ');

test('approve: the code typed in lowercase with a space; the device then gets a token', async (t) => {
  const f = await startFlow(t);
  assert.equal((await f.poll()).json<{ error: string }>().error, 'authorization_pending');

  const r = await runCli(f.dir, ['approve', typed(f.userCode), '--user', 'alice']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`Approved code ${f.userCode} for alice: "Living room TV" \\(${f.client.client_id}\\)`));
  assert.match(r.stdout, /scope "openid profile"/);

  const token = await f.poll();
  assert.equal(token.statusCode, 200, token.body);
  const body = token.json<{ access_token: string; token_type: string; scope: string }>();
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.scope, 'openid profile');
  assert.ok(body.access_token.length > 20);
});

test('approve --json reports the decision; a second decision on the same code fails', async (t) => {
  const f = await startFlow(t, 'openid');
  // Unquoted words are joined: `approve wdjb mjht`.
  const out = await cliJson(f.dir, ['approve', ...typed(f.userCode).split(' '), '--user', 'alice']);
  const user = await f.h.services.admin.users.getByUsername(f.h.services.defaultEnv.id, 'alice');
  assert.deepEqual(out, {
    decision: 'approved',
    user_code: f.userCode,
    environment_id: f.h.services.defaultEnv.id,
    username: 'alice',
    user_id: user.id,
    client_id: f.client.client_id,
    client_name: 'Living room TV',
    scope: 'openid',
  });
  assertFailure(await runCli(f.dir, ['deny', f.userCode, '--user', 'alice']), new RegExp(`device code ${f.userCode} has already been approved or denied`));
  assert.equal((await f.poll()).statusCode, 200);
});

test('deny: the device poll gets access_denied', async (t) => {
  const f = await startFlow(t);
  const r = await runCli(f.dir, ['deny', typed(f.userCode), '--user', 'alice']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`Denied code ${f.userCode} for alice`));
  const res = await f.poll();
  assert.equal(res.statusCode, 400);
  assert.equal(res.json<{ error: string }>().error, 'access_denied');
});

test('approve with an unknown code, an unknown user, a disabled user or another environment: exit 1', async (t) => {
  const f = await startFlow(t);
  const other = f.userCode === 'BCDF-GHJK' ? 'BCDF-GHJL' : 'BCDF-GHJK';
  assertFailure(await runCli(f.dir, ['approve', other, '--user', 'alice']), /no device code BCDF-GHJ. in environment default/);
  assertFailure(await runCli(f.dir, ['approve', 'not-a-code!', '--user', 'alice']), /no device code not-a-code! in environment default/);
  assertFailure(await runCli(f.dir, ['approve', f.userCode, '--user', 'mallory']), /no user mallory/);
  assertFailure(await runCli(f.dir, ['approve', f.userCode]), /approve: missing --user/);

  await cliJson(f.dir, ['env', 'create', '--name', 'staging']);
  assertFailure(await runCli(f.dir, ['approve', f.userCode, '--user', 'alice', '--env', 'staging']), /no device code .* in environment staging/);

  await cliJson(f.dir, ['user', 'disable', 'alice']);
  assertFailure(await runCli(f.dir, ['approve', f.userCode, '--user', 'alice']), /this user is disabled/);

  // None of that decided anything.
  assert.equal((await f.poll()).json<{ error: string }>().error, 'authorization_pending');
});

test('approve an expired code: exit 1, user_code_expired in --json', async (t) => {
  const dir = await dataDir(t);
  const client = await cliJson<ClientJson>(dir, ['client', 'create', '--name', 'Quick TV', '--code-lifetime', '1']);
  await cliJson(dir, ['user', 'create', '--username', 'alice', '--email', 'alice@example.test'], { stdin: 'alice password 1\n' });
  const h = await build(t, { dir, clock: new TestClock('real') });
  const res = await h.form('/oauth/device_authorization', { client_id: client.client_id });
  const code = res.json<{ user_code: string }>().user_code;
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const r = await runCli(dir, ['approve', code, '--user', 'alice', '--json']);
  assert.equal(r.code, 1);
  assert.deepEqual(JSON.parse(r.stdout), { error: 'user_code_expired', message: `device code ${code} has expired` });
  assert.match(r.stderr, /has expired/);
});
