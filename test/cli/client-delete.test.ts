import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { SignJWT } from 'jose';
import type { AdminKeyFile } from '../../src/core/admin-keys.ts';
import { build, DEVICE_CODE_GRANT, TestClock, type TestApp } from '../helpers/build.ts';
import { assertFailure, cliJson, dataDir, runCli, type ClientJson, type EnvironmentJson } from './run.ts';

const RSA_APP_ID = '1f00c62b-a5c0-49d3-9ffb-92314d717187';
const CODE_PATH = '/AdminInterface/restapi/v1/users/deviceRegistrationCode';

interface Started {
  deviceCode: string;
  userCode: string;
}

/** Rows of device_authorizations per client id, read through a second connection on the real file. */
function authorizationsByClient(h: TestApp): Map<string, number> {
  const db = new Database(h.config.databasePath, { readonly: true });
  try {
    const rows = db.prepare('SELECT client_id, count(*) AS n FROM device_authorizations GROUP BY client_id').all() as { client_id: string; n: number }[];
    return new Map(rows.map((r) => [r.client_id, r.n]));
  } finally {
    db.close();
  }
}

function count(table: string, h: TestApp): number {
  const db = new Database(h.config.databasePath, { readonly: true });
  try {
    return db.prepare(`SELECT count(*) FROM "${table}"`).pluck().get() as number;
  } finally {
    db.close();
  }
}

async function start(h: TestApp, clientId: string): Promise<Started> {
  const res = await h.form('/oauth/device_authorization', { client_id: clientId });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json<{ device_code: string; user_code: string }>();
  return { deviceCode: body.device_code, userCode: body.user_code };
}

function poll(h: TestApp, clientId: string, s: Started) {
  return h.form('/oauth/token', { grant_type: DEVICE_CODE_GRANT, device_code: s.deviceCode, client_id: clientId });
}

test('client delete ends that client\'s device authorizations, pending and approved; other clients\' are untouched', async (t) => {
  const dir = await dataDir(t);
  const doomed = await cliJson<ClientJson>(dir, ['client', 'create', '--name', 'Old TV']);
  const [kept] = await Promise.all([
    cliJson<ClientJson>(dir, ['client', 'create', '--name', 'New TV']),
    cliJson(dir, ['user', 'create', '--username', 'alice', '--email', 'alice@example.test'], { stdin: 'correct horse battery\n' }),
  ]);
  // The CLI runs on wall time, so the in-process server must too.
  const h = await build(t, { dir, clock: new TestClock('real') });
  const pending = await start(h, doomed.client_id);
  const approved = await start(h, doomed.client_id);
  const other = await start(h, kept.client_id);
  const before = authorizationsByClient(h);
  assert.equal(before.get(doomed.client_id), 2);
  assert.equal(before.get(kept.client_id), 1);

  // Approved but not yet collected: the device would get a token on its next poll.
  assert.equal((await runCli(dir, ['approve', approved.userCode, '--user', 'alice'])).code, 0);

  assert.deepEqual(await cliJson(dir, ['client', 'delete', doomed.client_id]), { deleted: true, client_id: doomed.client_id });
  const after = authorizationsByClient(h);
  assert.equal(after.get(doomed.client_id), undefined, 'the deleted client\'s rows are gone');
  assert.equal(after.get(kept.client_id), 1);

  const [approveGone, approveOther] = await Promise.all([
    runCli(dir, ['approve', pending.userCode, '--user', 'alice']),
    runCli(dir, ['approve', other.userCode, '--user', 'alice']),
  ]);
  assertFailure(approveGone, new RegExp(`no device code ${pending.userCode}`));
  assert.equal(approveOther.code, 0, approveOther.stderr);

  // Neither of the deleted client's devices gets anything, not even the approved one.
  for (const s of [pending, approved]) {
    const res = await poll(h, doomed.client_id, s);
    assert.equal(res.statusCode, 401, res.body);
    assert.equal(res.json<{ error: string }>().error, 'invalid_client');
  }
  const token = await poll(h, kept.client_id, other);
  assert.equal(token.statusCode, 200, token.body);
  assert.equal(token.json<{ token_type: string }>().token_type, 'Bearer');
});

test('env create --unlicensed: mfa_licensed false, and its admin keys get no registration codes', async (t) => {
  const dir = await dataDir(t);
  const closed = await cliJson<EnvironmentJson & { mfa_licensed: boolean }>(dir, ['env', 'create', '--name', 'closed', '--unlicensed']);
  assert.equal(closed.mfa_licensed, false);
  const closedFile = path.join(dir, 'closed.json');
  const openFile = path.join(dir, 'open.json');
  const issuer = { env: { PUBLIC_URL: 'http://issuer.test' } };
  const [open] = await Promise.all([
    cliJson<EnvironmentJson & { mfa_licensed: boolean }>(dir, ['env', 'create', '--name', 'open']),
    cliJson(dir, ['admin-key', 'create', '--role', 'super_admin', '--env', 'closed', '--out', closedFile], issuer),
  ]);
  assert.equal(open.mfa_licensed, true, 'licensed unless --unlicensed');
  const [list] = await Promise.all([
    cliJson<{ environments: (EnvironmentJson & { mfa_licensed: boolean })[] }>(dir, ['env', 'list']),
    cliJson(dir, ['admin-key', 'create', '--role', 'super_admin', '--env', 'open', '--out', openFile], issuer),
  ]);
  assert.deepEqual(list.environments.map((e) => [e.name, e.mfa_licensed]).sort(), [['closed', false], ['default', true], ['open', true]]);

  const h = await build(t, { dir });
  await h.user('carol', undefined, closed.id);
  await h.user('dave', undefined, open.id);
  const ask = async (file: string, email: string) => {
    const key = JSON.parse(readFileSync(file, 'utf8')) as AdminKeyFile;
    const iat = Math.floor(h.clock.now() / 1000);
    const jwt = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', typ: 'JWT' }).setSubject(key.accessID)
      .setAudience(key.adminRestApiUrl).setIssuedAt(iat).setExpirationTime(iat + 3600).sign(createPrivateKey(key.accessKey));
    return h.inject({
      method: 'POST', url: CODE_PATH, headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ email, appId: RSA_APP_ID }),
    });
  };

  const refused = await ask(closedFile, 'carol@example.test');
  assert.equal(refused.statusCode, 403, refused.body);
  assert.equal(refused.json<{ message: string }>().message, 'Your company is not licensed to use SecurID multifactor authentication methods.');
  assert.equal(count('registration_codes', h), 0, 'no code was issued');

  // The same request in a licensed environment is answered with a code.
  const issued = await ask(openFile, 'dave@example.test');
  assert.equal(issued.statusCode, 200, issued.body);
  assert.equal(count('registration_codes', h), 1);
});
