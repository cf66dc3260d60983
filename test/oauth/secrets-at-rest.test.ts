// A copy of the database yields no usable code or credential: device codes and user codes
// are stored only as keyed hashes, passwords only as scrypt hashes, client secrets as keyed hashes. Checked on
// the raw bytes of the database and its WAL, and on every row of every table.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { build, DEVICE_CODE_GRANT } from '../helpers/build.ts';
import { decide, poll, startAuthorization, type DeviceAuthorizationBody } from './_support.ts';

function needlesOf(started: DeviceAuthorizationBody): string[] {
  const canonical = started.user_code.replace('-', '');
  return [started.device_code, started.device_code.slice(3), started.user_code, canonical, canonical.toLowerCase(), started.user_code.toLowerCase()];
}

function rawFiles(dbPath: string): { name: string; bytes: Buffer }[] {
  return [dbPath, `${dbPath}-wal`, `${dbPath}-shm`, `${dbPath}-journal`]
    .filter((f) => existsSync(f))
    .map((f) => ({ name: f, bytes: readFileSync(f) }));
}

function allRows(dbPath: string): string {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
    assert.ok(tables.some((t) => t.name === 'device_authorizations'));
    return tables
      .map((t) => JSON.stringify(db.prepare(`SELECT * FROM "${t.name.replace(/"/g, '""')}"`).all(), (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('latin1') : v)))
      .join('\n');
  } finally {
    db.close();
  }
}

test('no device code, user code, password or client secret is stored in a usable form', async (t) => {
  const h = await build(t);
  const password = 'Tr0ub4dor&3-secret-at-rest';
  const user = await h.user('alice-at-rest', password);
  const client = await h.publicClient();
  const { client: conf, secret } = await h.confidentialClient();

  const pending = await startAuthorization(h, client);
  const approved = await startAuthorization(h, client);
  const redeemed = await startAuthorization(h, conf, { secret });
  const denied = await startAuthorization(h, client);
  assert.equal((await poll(h, pending.device_code, client.clientId)).statusCode, 400);
  await decide(h, approved.user_code, user, true);
  await decide(h, denied.user_code, user, false);
  await decide(h, redeemed.user_code, user, true);
  const token = await h.form('/oauth/token', { grant_type: DEVICE_CODE_GRANT, device_code: redeemed.device_code, client_id: conf.clientId, client_secret: secret });
  assert.equal(token.statusCode, 200);

  const needles = [...[pending, approved, redeemed, denied].flatMap(needlesOf), password, secret];
  const dbPath = h.config.databasePath;

  const check = (where: string, haystack: Buffer | string) => {
    const text = Buffer.isBuffer(haystack) ? haystack.toString('latin1') : haystack;
    // Positive controls: the search does see what is stored in the clear.
    assert.ok(text.includes('alice-at-rest'), `${where}: the username is visible, so the search works`);
    assert.ok(text.includes(conf.clientId), `${where}: the client id is visible, so the search works`);
    for (const needle of needles) assert.equal(text.includes(needle), false, `${where} contains ${needle}`);
  };

  // While the server runs: the main file and the write-ahead log, which holds the recent writes.
  const files = rawFiles(dbPath);
  const wal = files.find((f) => f.name.endsWith('-wal'));
  assert.ok(wal && wal.bytes.length > 0, 'the WAL exists and holds the recent writes');
  const everything = Buffer.concat(files.map((f) => f.bytes));
  check('database + WAL', everything);
  check('every row of every table', allRows(dbPath));

  // After a clean close the WAL is checkpointed into the main file: still nothing.
  await h.app.close();
  await h.services.close();
  check('database after close', Buffer.concat(rawFiles(dbPath).map((f) => f.bytes)));
  check('every row after close', allRows(dbPath));
});
