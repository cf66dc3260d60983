import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { SignJWT } from 'jose';
import type { AdminKeyFile } from '../../src/core/admin-keys.ts';
import { build, type TestApp } from '../helpers/build.ts';
import { assertFailure, cliJson, dataDir, jsonOf, runCli, type CliResult, type EnvironmentJson, type RunOptions } from './run.ts';

const RSA_APP_ID = '1f00c62b-a5c0-49d3-9ffb-92314d717187';
const CODE_PATH = '/AdminInterface/restapi/v1/users/deviceRegistrationCode';
// The CLI writes adminRestApiUrl from PUBLIC_URL; build() serves http://issuer.test.
const AT_ISSUER: RunOptions = { env: { PUBLIC_URL: 'http://issuer.test' } };
const ADMIN_API = 'http://issuer.test/AdminInterface/restapi/';
const BAD_TOKEN = 'Authentication failed: the JWT is missing, malformed, expired, or not signed by a valid admin API key.';

interface AdminKeyJson {
  access_id: string;
  environment_id: string;
  role: string;
  description: string;
  created_at: string;
  revoked_at: string | null;
  key_file?: string;
  admin_rest_api_url?: string;
}

interface EnvJson extends EnvironmentJson {
  company_id: string;
}

function readKeyFile(file: string): AdminKeyFile {
  return JSON.parse(readFileSync(file, 'utf8')) as AdminKeyFile;
}

/** Creates a key through the CLI (--json) and returns what it printed and the file it wrote. */
async function createKey(dir: string, name: string, args: readonly string[]): Promise<{ out: AdminKeyJson; file: AdminKeyFile; path: string }> {
  const file = path.join(dir, name);
  const out = await cliJson<AdminKeyJson>(dir, ['admin-key', 'create', '--out', file, ...args], AT_ISSUER);
  return { out, file: readKeyFile(file), path: file };
}

/** An admin JWT signed from the key file exactly as an RSA client signs one. */
function adminJwt(h: TestApp, file: AdminKeyFile): Promise<string> {
  const iat = Math.floor(h.clock.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .setSubject(file.accessID)
    .setAudience(file.adminRestApiUrl)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 3600)
    .sign(createPrivateKey(file.accessKey));
}

function requestCode(h: TestApp, jwt: string, email: string, appId = RSA_APP_ID) {
  return h.inject({
    method: 'POST',
    url: CODE_PATH,
    headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
    payload: JSON.stringify({ email, appId }),
  });
}

/** Every row of every table, read through a second connection as any other process would. */
function allRows(dir: string): { table: string; text: string }[] {
  const db = new Database(path.join(dir, 'device-code-server.db'), { readonly: true });
  try {
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).pluck().all() as string[];
    assert.ok(tables.includes('admin_keys'), `tables: ${tables.join(', ')}`);
    return tables.flatMap((table) => db.prepare(`SELECT * FROM "${table}"`).all().map((row) => ({ table, text: JSON.stringify(row) })));
  } finally {
    db.close();
  }
}

function adminKeyRows(dir: string): Record<string, unknown>[] {
  const db = new Database(path.join(dir, 'device-code-server.db'), { readonly: true });
  try {
    return db.prepare('SELECT * FROM admin_keys ORDER BY created_at').all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

/** No trace of the private key: not as PEM, not its base64 body or a line of it, not its JWK `d`. */
function assertNoPrivateKey(text: string, pem: string, where: string): void {
  const lines = pem.trim().split('\n').slice(1, -1);
  const d = createPrivateKey(pem).export({ format: 'jwk' }).d ?? '';
  assert.ok(d.length > 100, 'the private exponent was exported');
  assert.ok(!text.includes('PRIVATE KEY'), `${where} holds "PRIVATE KEY"`);
  assert.ok(!text.includes(lines.join('')) && !text.includes(lines.join('\\n')), `${where} holds the key's base64 body`);
  for (const line of lines.slice(0, -1)) assert.ok(!text.includes(line), `${where} holds a line of the key: ${line}`);
  assert.ok(!text.includes(d.slice(0, 40)), `${where} holds the private exponent`);
}

/** Runs the CLI with umask 000 (spawn copies the umask at once, so it is restored right after). */
function withPermissiveUmask(run: () => Promise<CliResult>): Promise<CliResult> {
  const old = process.umask(0o000);
  try {
    // The same inheritance the CLI gets: a child spawned now sees umask 0000.
    assert.equal(spawnSync('sh', ['-c', 'umask'], { encoding: 'utf8' }).stdout.trim(), '0000');
    return run();
  } finally {
    process.umask(old);
  }
}

test('admin-key create writes a 0600 key file with exactly the five fields; the database keeps only the public key', async (t) => {
  const dir = await dataDir(t);
  const file = path.join(dir, 'ci-bot.json');
  const r = await withPermissiveUmask(() => runCli(dir, ['admin-key', 'create', '--role', 'super_admin', '--description', 'CI bot', '--out', file], AT_ISSUER));
  assert.equal(r.code, 0, r.stderr);

  assert.equal(statSync(file).mode & 0o777, 0o600, 'only the owner may read the key file, whatever the umask');
  const key = readKeyFile(file);
  assert.deepEqual(Object.keys(key).sort(), ['accessID', 'accessKey', 'adminRestApiUrl', 'customerName', 'description']);
  assert.match(key.accessID, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.equal(key.customerName, 'default');
  assert.equal(key.description, 'CI bot');
  assert.equal(key.adminRestApiUrl, ADMIN_API);

  // PKCS#1, as RSA's key files carry it: re-exporting as pkcs1 gives the same text back.
  assert.match(key.accessKey, /^-----BEGIN RSA PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END RSA PRIVATE KEY-----\n?$/);
  const privateKey = createPrivateKey(key.accessKey);
  assert.equal(privateKey.asymmetricKeyType, 'rsa');
  assert.ok((privateKey.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048);
  assert.equal(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString().trim(), key.accessKey.trim());

  // The text output names the key and the file; the private key goes only into the file.
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines[0], 'Created super_admin admin key in environment default');
  assert.match(r.stdout, new RegExp(`^accessID: +${key.accessID}$`, 'm'));
  assert.match(r.stdout, new RegExp(`^key file: +${file.replaceAll('.', '\\.')} \\(mode 0600\\)$`, 'm'));
  assert.match(r.stdout, /^adminRestApiUrl: +http:\/\/issuer\.test\/AdminInterface\/restapi\/$/m);
  assert.match(r.stderr, /warning: .*ci-bot\.json holds the only copy of the private key/);
  assertNoPrivateKey(r.stdout + r.stderr, key.accessKey, 'the output');

  // Nothing private anywhere in the database; the stored row is the SPKI public half of that very key.
  const rows = allRows(dir);
  assert.ok(rows.some((x) => x.table === 'admin_keys'));
  for (const x of rows) assertNoPrivateKey(x.text, key.accessKey, `a row of ${x.table}`);
  const [row, ...others] = adminKeyRows(dir);
  assert.deepEqual(others, []);
  assert.ok(row);
  assert.equal(row.access_id, key.accessID);
  assert.equal(row.role, 'super_admin');
  assert.equal(row.description, 'CI bot');
  assert.match(String(row.public_key), /^-----BEGIN PUBLIC KEY-----\n/);
  assert.equal(String(row.public_key).trim(), createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString().trim());
  // Nor in the database files themselves (the WAL included), where a deleted row could linger.
  for (const name of readdirSync(dir).filter((n) => n.startsWith('device-code-server.db'))) {
    assertNoPrivateKey(readFileSync(path.join(dir, name), 'latin1'), key.accessKey, name);
  }
});

test('admin-key create --json: one object describing the key and its file, no private key', async (t) => {
  const dir = await dataDir(t);
  const file = path.join(dir, 'helpdesk.json');
  const r = await runCli(dir, ['admin-key', 'create', '--role', 'helpdesk_admin', '--out', file, '--json'], AT_ISSUER);
  const out = jsonOf(r) as unknown as AdminKeyJson;
  const key = readKeyFile(file);
  assert.deepEqual(Object.keys(out).sort(),
    ['access_id', 'admin_rest_api_url', 'created_at', 'description', 'environment_id', 'key_file', 'revoked_at', 'role']);
  assert.equal(out.access_id, key.accessID);
  assert.equal(out.role, 'helpdesk_admin');
  assert.equal(out.description, '');
  assert.equal(key.description, '');
  assert.equal(out.revoked_at, null);
  assert.equal(out.key_file, file);
  assert.equal(out.admin_rest_api_url, ADMIN_API);
  assert.ok(!Number.isNaN(Date.parse(out.created_at)));
  assertNoPrivateKey(r.stdout + r.stderr, key.accessKey, 'the --json output');
});

test('a key file signs admin JWTs the RSA API accepts; list shows the keys; a revoked key is refused', async (t) => {
  const dir = await dataDir(t);
  await cliJson(dir, ['user', 'create', '--username', 'alice', '--email', 'alice@example.test'], { stdin: 'correct horse battery\n' });
  const [superKey, helpdesk] = await Promise.all([
    createKey(dir, 'super.json', ['--role', 'super_admin', '--description', 'ops']),
    createKey(dir, 'helpdesk.json', ['--role', 'helpdesk_admin', '--description', 'help desk']),
  ]);
  const h = await build(t, { dir });
  const alice = await h.services.admin.users.getByUsername(h.services.defaultEnv.id, 'alice');
  const [superJwt, helpdeskJwt] = await Promise.all([adminJwt(h, superKey.file), adminJwt(h, helpdesk.file)]);

  // Both roles issue codes.
  for (const jwt of [superJwt, helpdeskJwt]) {
    const res = await requestCode(h, jwt, 'alice@example.test');
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json<{ companyID: string; deviceRegistrationCode: string; email: string }>();
    assert.equal(body.companyID, h.services.defaultEnv.companyId);
    assert.match(body.deviceRegistrationCode, /^\d{9}$/);
    assert.equal(body.email, 'alice@example.test');
  }
  // The roles differ: only a super admin gets as far as looking for the device to delete.
  const deleteDevice = (jwt: string) => h.inject({
    method: 'DELETE', url: `/AdminInterface/restapi/v1/users/${alice.id}/devices/${randomUUID()}`, headers: { authorization: `Bearer ${jwt}` },
  });
  assert.equal((await deleteDevice(helpdeskJwt)).statusCode, 403);
  assert.equal((await deleteDevice(superJwt)).statusCode, 404);

  const [listText, listJson] = await Promise.all([runCli(dir, ['admin-key', 'list']), cliJson<{ admin_keys: AdminKeyJson[] }>(dir, ['admin-key', 'list'])]);
  assert.equal(listText.code, 0, listText.stderr);
  assert.match(listText.stdout, /^ACCESS_ID +ROLE +STATUS +CREATED +DESCRIPTION$/m);
  assert.match(listText.stdout, new RegExp(`^${superKey.file.accessID} +super_admin +active +\\d{4}-\\d\\d-\\d\\d +ops$`, 'm'));
  assert.match(listText.stdout, new RegExp(`^${helpdesk.file.accessID} +helpdesk_admin +active +\\d{4}-\\d\\d-\\d\\d +help desk$`, 'm'));
  assert.deepEqual(listJson.admin_keys.map((k) => [k.access_id, k.role, k.description, k.revoked_at, k.environment_id]).sort(), [
    [superKey.file.accessID, 'super_admin', 'ops', null, h.services.defaultEnv.id],
    [helpdesk.file.accessID, 'helpdesk_admin', 'help desk', null, h.services.defaultEnv.id],
  ].sort());
  assertNoPrivateKey(listText.stdout + JSON.stringify(listJson), superKey.file.accessKey, 'admin-key list');

  const revoked = await runCli(dir, ['admin-key', 'revoke', superKey.file.accessID]);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.equal(revoked.stdout, `Revoked admin key ${superKey.file.accessID}\n`);

  // From the next request on, the very same (unexpired) token is refused; the other key still works.
  const refused = await requestCode(h, superJwt, 'alice@example.test');
  assert.equal(refused.statusCode, 403, refused.body);
  assert.equal(refused.json<{ message: string }>().message, BAD_TOKEN);
  assert.equal((await requestCode(h, helpdeskJwt, 'alice@example.test')).statusCode, 200);

  const [afterText, afterJson] = await Promise.all([runCli(dir, ['admin-key', 'list']), cliJson<{ admin_keys: AdminKeyJson[] }>(dir, ['admin-key', 'list'])]);
  assert.match(afterText.stdout, new RegExp(`^${superKey.file.accessID} +super_admin +revoked `, 'm'));
  assert.match(afterText.stdout, new RegExp(`^${helpdesk.file.accessID} +helpdesk_admin +active `, 'm'));
  const bySuper = afterJson.admin_keys.find((k) => k.access_id === superKey.file.accessID);
  assert.ok(bySuper?.revoked_at !== null && !Number.isNaN(Date.parse(bySuper?.revoked_at ?? '')), `revoked_at: ${String(bySuper?.revoked_at)}`);
  assert.equal(afterJson.admin_keys.find((k) => k.access_id === helpdesk.file.accessID)?.revoked_at, null);

  assertFailure(await runCli(dir, ['admin-key', 'revoke', randomUUID()]), /no admin key [0-9a-f-]{36}/);
  assertFailure(await runCli(dir, ['admin-key', 'revoke']), /admin-key revoke: missing <access_id>/);
});

test('admin-key create never overwrites a file, and a failed create leaves no file and no key', async (t) => {
  const dir = await dataDir(t);
  const existing = path.join(dir, 'existing.json');
  writeFileSync(existing, 'keep me\n', { mode: 0o644 });
  const badRole = path.join(dir, 'bad-role.json');
  const badEnv = path.join(dir, 'bad-env.json');
  const [overwrite, role, env, noDir] = await Promise.all([
    runCli(dir, ['admin-key', 'create', '--role', 'super_admin', '--out', existing], AT_ISSUER),
    runCli(dir, ['admin-key', 'create', '--role', 'root', '--out', badRole], AT_ISSUER),
    runCli(dir, ['admin-key', 'create', '--role', 'super_admin', '--out', badEnv, '--env', 'nowhere'], AT_ISSUER),
    runCli(dir, ['admin-key', 'create', '--role', 'super_admin', '--out', path.join(dir, 'missing', 'k.json')], AT_ISSUER),
  ]);
  assertFailure(overwrite, /existing\.json exists; a key file is never overwritten/);
  assert.equal(readFileSync(existing, 'utf8'), 'keep me\n', 'the existing file is untouched');
  assert.equal(statSync(existing).mode & 0o777, 0o644);

  assertFailure(role, /role must be one of: super_admin, helpdesk_admin/);
  assert.equal(existsSync(badRole), false, 'the half-made key file is removed');
  assertFailure(env, /no environment nowhere/);
  assert.equal(existsSync(badEnv), false);
  assertFailure(noDir, /cannot create .*k\.json \(ENOENT\)/);

  assert.deepEqual(adminKeyRows(dir), [], 'no key was stored by any of them');
  assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.json')), ['existing.json']);
});

test('admin-key create --env: the key belongs to that environment and speaks only for its users', async (t) => {
  const dir = await dataDir(t);
  const staging = await cliJson<EnvJson>(dir, ['env', 'create', '--name', 'staging']);
  const key = await createKey(dir, 'staging.json', ['--role', 'helpdesk_admin', '--env', 'staging']);
  assert.equal(key.file.customerName, 'staging');
  assert.equal(key.out.environment_id, staging.id);
  assert.equal(key.file.adminRestApiUrl, ADMIN_API, 'one admin API for every environment');

  const h = await build(t, { dir });
  await h.user('alice'); // alice@example.test, in the default environment
  await h.user('bob', undefined, staging.id);
  const jwt = await adminJwt(h, key.file);

  const ok = await requestCode(h, jwt, 'bob@example.test');
  assert.equal(ok.statusCode, 200, ok.body);
  assert.equal(ok.json<{ companyID: string }>().companyID, staging.company_id);
  const other = await requestCode(h, jwt, 'alice@example.test');
  assert.equal(other.statusCode, 403, other.body);
  assert.equal(other.json<{ message: string }>().message, 'User alice@example.test not found.');

  const [inDefault, inStaging, revokeElsewhere] = await Promise.all([
    cliJson<{ admin_keys: AdminKeyJson[] }>(dir, ['admin-key', 'list']),
    cliJson<{ admin_keys: AdminKeyJson[] }>(dir, ['admin-key', 'list', '--env', staging.id]),
    runCli(dir, ['admin-key', 'revoke', key.file.accessID]),
  ]);
  assert.deepEqual(inDefault.admin_keys, []);
  assert.deepEqual(inStaging.admin_keys.map((k) => [k.access_id, k.role]), [[key.file.accessID, 'helpdesk_admin']]);
  // A key is revoked only in its own environment.
  assertFailure(revokeElsewhere, /no admin key/);
  assert.equal((await requestCode(h, jwt, 'bob@example.test')).statusCode, 200);
});
