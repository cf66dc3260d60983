import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { SecretKeys } from '../../src/crypto/secret.ts';
import { openServices } from '../../src/services.ts';
import { build, tempDir, testConfig, TestClock } from '../helpers/build.ts';
import { assertFailure, cliJson, jsonOf, runCli, type ClientJson } from './run.ts';
import { startServe } from './serve-process.ts';
import { decide, poll, type DeviceAuthorizationBody, type TokenBody } from '../oauth/_support.ts';

const DB = 'device-code-server.db';
const RSA_APP_ID = '1f00c62b-a5c0-49d3-9ffb-92314d717187';
const PASSWORD = 'correct horse battery staple';

interface SweepJson {
  device_authorizations: number;
  flows: number;
  registration_codes: number;
  code_guesses: number;
  signing_keys: number;
  grants: number;
  revoked_access_tokens: number;
  audit_events: number;
}

interface BackupJson {
  file: string;
  database: string;
  bytes: number;
  server_secret: string | null;
}

function tables(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).pluck().all() as string[];
  } finally {
    db.close();
  }
}

test('sweep removes exactly the expired rows of every kind, once, and prints what it removed', async (t) => {
  const dir = tempDir(t);
  // The CLI sweeps at wall time; these rows are made three hours earlier, so all of them are past their retention.
  const now = Date.now();
  const h = await build(t, { dir, clock: new TestClock(now - 3 * 3600_000) });
  const env = h.services.defaultEnv;
  const client = await h.publicClient();
  await h.user('alice');
  await h.services.deviceFlow.start(env, client, undefined);
  await h.services.deviceFlow.start(env, client, undefined);
  assert.equal((await h.inject({ method: 'GET', url: '/device' })).statusCode, 302); // a verification flow
  await h.services.registration.issue(env, { username: 'alice' }, RSA_APP_ID);
  await h.services.store.guesses.take('192.0.2.1', h.clock.now() - 24 * 3600_000, 0, 10);
  await h.services.keys.rotate(env.id, 'ES256', 60); // the first key, retired for a minute only
  // And rows that must stay: a device authorization made now, and a wrong guess of an hour ago.
  h.clock.t = now;
  const live = await h.services.deviceFlow.start(env, client, undefined);
  await h.services.store.guesses.take('192.0.2.2', now - 3600_000, 0, 10);

  const first = await cliJson<SweepJson>(dir, ['sweep']);
  assert.deepEqual(first, { device_authorizations: 2, flows: 1, registration_codes: 1, code_guesses: 1, signing_keys: 1, grants: 0, revoked_access_tokens: 0, audit_events: 0 });
  const again = await runCli(dir, ['sweep']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout, 'Swept 0 device authorizations, 0 flows, 0 registration codes, 0 code guesses, 0 signing keys, 0 ended grants, 0 revoked access tokens, 0 audit events past their retention.\n');

  // What stayed works: the live code is pending, the guess still counts, one key signs.
  const res = await poll(h, live.deviceCode, client.clientId);
  assert.equal(res.json<{ error: string }>().error, 'authorization_pending', res.body);
  assert.equal((await h.services.store.guesses.count('192.0.2.2', now - 2 * 3600_000)).count, 1);
  assert.deepEqual((await h.services.store.signingKeys.list(env.id)).map((k) => k.status), ['active']);
});

test('backup while a server process writes: a consistent 0600 copy with every earlier row; restored, it serves the same logins', async (t) => {
  // Umask 000 for everything here: the backup must still come out 0600.
  const umask = process.umask(0o000);
  t.after(() => process.umask(umask));
  const dir = path.join(tempDir(t), 'data');
  // The first command makes the data directory and its database (--init: there is none yet).
  const client = await cliJson<ClientJson>(dir, ['client', 'create', '--name', 'Living-room TV', '--init']);
  await cliJson(dir, ['user', 'create', '--username', 'alice', '--email', 'alice@example.test'], { stdin: `${PASSWORD}\n` });
  // Some bulk, so the copy spans many pages (a page-by-page copy would keep restarting under writes).
  const filler = await openServices(testConfig(dir));
  try {
    const fillClient = await filler.admin.accountClient(filler.defaultEnv);
    for (let i = 0; i < 3000; i++) await filler.deviceFlow.start(filler.defaultEnv, fillClient, undefined);
  } finally {
    await filler.close();
  }

  const server = await startServe(t, dir, { RATE_LIMIT_DEVICE_AUTHORIZATION: '1000000' });
  // A reader holding a snapshot from before the writes keeps them all in the WAL (no checkpoint can
  // move them into the database file), so a plain copy of the file would miss every one of them.
  const pin = new Database(path.join(dir, DB));
  t.after(() => pin.close());
  pin.exec('BEGIN');
  pin.prepare('SELECT count(*) FROM device_authorizations').get();
  const written: { body: DeviceAuthorizationBody; at: number }[] = [];
  const failures: string[] = [];
  let stop = false;
  const writer = (async () => {
    while (!stop) {
      const res = await fetch(`${server.url}/oauth/device_authorization`, { method: 'POST', body: new URLSearchParams({ client_id: client.client_id }) });
      if (res.status === 200) written.push({ body: (await res.json()) as DeviceAuthorizationBody, at: Date.now() });
      else failures.push(`${res.status} ${await res.text()}`);
    }
  })();
  while (written.length < 20 && failures.length === 0) await delay(10);

  const file = path.join(tempDir(t), 'backup.db');
  const startedAt = Date.now();
  const earlier = written.slice();
  const r = await runCli(dir, ['backup', file, '--json']);
  const endedAt = Date.now();
  // Keep writing a moment longer, then stop.
  const total = written.length;
  while (written.length < total + 5 && failures.length === 0) await delay(10);
  stop = true;
  await writer;
  pin.exec('COMMIT');
  assert.deepEqual(failures, [], 'every write of the server succeeded during the backup');
  const out = jsonOf(r) as unknown as BackupJson;
  assert.deepEqual(out, { file, database: path.join(dir, DB), bytes: statSync(file).size, server_secret: path.join(dir, 'server-secret') });
  assert.ok(written.some((w) => w.at > startedAt && w.at < endedAt), 'the server went on writing while the backup ran');

  assert.equal(statSync(file).mode & 0o777, 0o600, 'the backup is 0600 whatever the umask');
  assert.deepEqual(readdirSync(path.dirname(file)), ['backup.db'], 'no journal or WAL left beside it');
  const backup = new Database(file, { readonly: true });
  const secrets = new SecretKeys(readFileSync(path.join(dir, 'server-secret'), 'utf8').trim());
  try {
    assert.equal(backup.pragma('integrity_check', { simple: true }), 'ok');
    assert.deepEqual(backup.pragma('foreign_key_check'), []);
    const hashes = new Set(backup.prepare('SELECT device_code_hash FROM device_authorizations').pluck().all() as string[]);
    for (const w of earlier) assert.ok(hashes.has(secrets.hashCode('device', w.body.device_code)), 'a device authorization made before the backup is in it');
    assert.ok(hashes.size >= 3000 + earlier.length && hashes.size <= 3000 + written.length, `rows: ${hashes.size}`);
  } finally {
    backup.close();
  }
  assert.equal(await server.stop(), 0);
  assert.deepEqual(tables(file), tables(path.join(dir, DB)), 'every table is there');

  // Restore: the backup as the database of a new data directory, with the same server secret.
  const restored = path.join(tempDir(t), 'restored');
  mkdirSync(restored, { mode: 0o700 });
  copyFileSync(file, path.join(restored, DB));
  copyFileSync(path.join(dir, 'server-secret'), path.join(restored, 'server-secret'));
  for (const f of [DB, 'server-secret']) chmodSync(path.join(restored, f), 0o600);
  const h = await build(t, { dir: restored, clock: new TestClock('real') });
  const env = h.services.defaultEnv;
  const alice = await h.services.admin.users.getByUsername(env.id, 'alice');

  // A device login the server started before the backup completes after the restore: its codes
  // resolve (same secret), the client and the user are there, and the restored key signs.
  const pending = earlier[0]?.body;
  assert.ok(pending);
  await decide(h, pending.user_code, alice, true);
  const res = await poll(h, pending.device_code, client.client_id);
  assert.equal(res.statusCode, 200, res.body);
  const jwks = (await h.inject({ method: 'GET', url: '/oauth/jwks' })).json<JSONWebKeySet>();
  const { payload } = await jwtVerify(res.json<TokenBody>().access_token, createLocalJWKSet(jwks), { issuer: 'http://issuer.test', typ: 'at+jwt' });
  assert.equal(payload.sub, alice.id);
  assert.equal(payload.client_id, client.client_id);
  // Alice's password works as before (the Veeam password grant).
  const session = await h.form('/api/oauth2/token', { grant_type: 'password', username: 'alice', password: PASSWORD });
  assert.equal(session.statusCode, 200, session.body);
  // And a brand-new login with the old client works too.
  const fresh = await h.form('/oauth/device_authorization', { client_id: client.client_id });
  assert.equal(fresh.statusCode, 200, fresh.body);
});

test('backup never overwrites a file, and refuses a missing directory or a missing database', async (t) => {
  const dir = tempDir(t);
  await cliJson(dir, ['migrate']);
  const existing = path.join(dir, 'existing.db');
  writeFileSync(existing, 'keep me\n', { mode: 0o644 });
  const empty = tempDir(t);
  const [overwrite, noDir, noDatabase, noFile] = await Promise.all([
    runCli(dir, ['backup', existing]),
    runCli(dir, ['backup', path.join(dir, 'missing', 'b.db')]),
    runCli(empty, ['backup', path.join(dir, 'other.db')]),
    runCli(dir, ['backup']),
  ]);
  assertFailure(overwrite, /existing\.db exists; a backup never overwrites a file/);
  assert.equal(readFileSync(existing, 'utf8'), 'keep me\n');
  assert.equal(statSync(existing).mode & 0o777, 0o644);
  assertFailure(noDir, /cannot create .*missing\/b\.db \(ENOENT\)/);
  assertFailure(noDatabase, /no database at .*device-code-server\.db \(check DATA_DIR or DATABASE_PATH\)/);
  assert.deepEqual(readdirSync(empty), [], 'no database or secret was created for it');
  assert.equal(existsSync(path.join(dir, 'other.db')), false);
  assertFailure(noFile, /backup: missing <file>/);

  const text = await runCli(dir, ['backup', path.join(dir, 'b.db')]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^Backed up .*device-code-server\.db to .*b\.db \(\d+ bytes, mode 0600\)\.$/m);
  assert.match(text.stdout, /^Keep the server secret with it \(.*server-secret\): without it/m);
});
