// Several processes opening a new data directory at once (the CLI next to a starting server):
// each migration is applied exactly once, all agree on one server secret, and nobody fails.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { loadConfig } from '../../src/config.ts';
import { openServices } from '../../src/services.ts';
import { listMigrations as listDialect, migrationsDir } from '../../src/store/migrations.ts';
import { listMigrations, migrate } from '../../src/store/sqlite/migrate.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { runCli } from '../cli/run.ts';
import { tempDir } from '../helpers/build.ts';
import { migrationsAfter, migrationsUpTo, upgradedFrom012 } from '../helpers/migrations.ts';

test('four processes opening one new data directory together: every migration applied once, one secret', async (t) => {
  for (let round = 0; round < 3; round++) {
    const dir = tempDir(t);
    const results = await Promise.all(Array.from({ length: 4 }, () => runCli(dir, ['migrate', '--json'])));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const db = new Database(path.join(dir, 'device-code-server.db'), { readonly: true });
    try {
      const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all();
      assert.deepEqual(versions, listMigrations().map((m) => m.version));
    } finally {
      db.close();
    }
    assert.match(readFileSync(path.join(dir, 'server-secret'), 'utf8'), /^[\w-]{43}\n$/);
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.server-secret')), [], 'no temporary file is left');
    // The signing key one of them made decrypts with the secret on disk: they all used that one.
    const services = await openServices(loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent' }));
    try {
      assert.ok((await services.keys.activeKey(services.defaultEnv.id)).kid);
    } finally {
      await services.close();
    }
  }
});

test('the SQLite and PostgreSQL migrations are numbered alike and named alike, so a version is one schema in both', () => {
  const names = (dialect: 'sqlite' | 'postgres') => listDialect(migrationsDir(dialect)).map((m) => `${m.version} ${m.name}`);
  assert.deepEqual(names('postgres'), names('sqlite'));
});

test('two migration files with one number are refused', () => {
  assert.throws(() => listMigrations(path.join(import.meta.dirname, '..', 'fixtures', 'duplicate-migrations')), /two migrations are numbered 1/);
});


test('a SQLite database at 006 upgraded through 007 keeps its users, with no names and an unverified email', async (t) => {
  const NOW = Date.UTC(2026, 0, 1);
  const file = path.join(tempDir(t), 'at-006.db');
  const envId = '0b9f5a5e-6a43-4cf5-9a34-0f5d7f3c1a01';
  const userId = '5c2d1d9e-2f59-4a4f-8f0e-7b1c6f0f2b02';
  const db = new Database(file);
  try {
    assert.deepEqual(migrate(db, NOW, migrationsUpTo(t, 'sqlite', 6)), [1, 2, 3, 4, 5, 6]);
    db.prepare('INSERT INTO environments (id, name, company_id, created_at) VALUES (?, ?, ?, ?)').run(envId, 'default', envId, NOW);
    db.prepare(`INSERT INTO users (id, env_id, username, email, password_hash, disabled, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(userId, envId, 'alice', 'Alice@Example.test', 'scrypt$x', 1, NOW, NOW + 1);
    const upgraded = migrate(db, NOW + 2);
    assert.ok(upgraded.includes(7));
    assert.deepEqual(upgraded, migrationsAfter('sqlite', 6));
  } finally {
    db.close();
  }
  const store = new SqliteStore({ file, now: NOW + 3 });
  t.after(() => store.close());
  const alice = {
    id: userId, envId, username: 'alice', email: 'Alice@Example.test', passwordHash: 'scrypt$x', disabled: true,
    name: null, givenName: null, familyName: null, emailVerified: false, createdAt: NOW, updatedAt: NOW + 1, idpIssuer: null, idpSubject: null,
  };
  assert.deepEqual(await store.users.get(envId, userId), alice);
  assert.deepEqual(await store.users.updateProfile(envId, userId, { name: 'Alice Liddell', emailVerified: true }, NOW + 4),
    { ...alice, name: 'Alice Liddell', emailVerified: true, updatedAt: NOW + 4 });
});

test('a SQLite database at 008 upgraded through 009 keeps its device authorizations: no context known, no mismatch, no report', async (t) => {
  const NOW = Date.UTC(2026, 0, 1);
  const file = path.join(tempDir(t), 'at-008.db');
  const envId = '0b9f5a5e-6a43-4cf5-9a34-0f5d7f3c1a01';
  const deviceId = '01940000-0000-7000-8000-000000000009';
  const db = new Database(file);
  try {
    assert.deepEqual(migrate(db, NOW, migrationsUpTo(t, 'sqlite', 8)), [1, 2, 3, 4, 5, 6, 7, 8]);
    db.prepare('INSERT INTO environments (id, name, company_id, created_at) VALUES (?, ?, ?, ?)').run(envId, 'default', envId, NOW);
    db.prepare(`INSERT INTO device_authorizations (id, env_id, client_id, device_code_hash, user_code_hash, scope, status, expires_at,
      interval, last_polled_at, user_id, created_at, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(deviceId, envId, 'tv', 'a'.repeat(64), 'b'.repeat(64), 'openid', 'pending', NOW + 600_000, 5, null, null, NOW, null);
    assert.deepEqual(migrate(db, NOW + 1), migrationsAfter('sqlite', 8));
  } finally {
    db.close();
  }
  const store = new SqliteStore({ file, now: NOW + 2 });
  t.after(() => store.close());
  const device = await store.deviceAuthorizations.get(envId, deviceId);
  assert.deepEqual([device?.status, device?.requestContext, device?.approverContext, device?.locationMismatch, device?.reportedAt],
    ['pending', null, null, false, null]);
  // Decided after the upgrade, it records the decision's context like a new one.
  const approver = { address: '192.0.2.1', userAgent: null, country: 'FR', asn: 64_500, network: 'Example' };
  const decided = await store.deviceAuthorizations.decide(deviceId, 'denied', 'u1', null, NOW + 3, { approver, locationMismatch: false, reported: true });
  assert.deepEqual([decided?.approverContext, decided?.reportedAt], [approver, NOW + 3]);
});

test('a SQLite database at 015 upgraded through 016 keeps its device authorizations, unkeyed, and finds and polls them by their hashes', async (t) => {
  const NOW = Date.UTC(2026, 0, 1);
  const file = path.join(tempDir(t), 'at-015.db');
  const envId = '0b9f5a5e-6a43-4cf5-9a34-0f5d7f3c1a16';
  const ids = ['01940000-0000-7000-8000-000000000161', '01940000-0000-7000-8000-000000000162'];
  const hashes = ['c'.repeat(64), 'd'.repeat(64)];
  const db = new Database(file);
  try {
    assert.deepEqual(migrate(db, NOW, migrationsUpTo(t, 'sqlite', 15)), Array.from({ length: 15 }, (_, i) => i + 1));
    db.prepare('INSERT INTO environments (id, name, company_id, created_at) VALUES (?, ?, ?, ?)').run(envId, 'default', envId, NOW);
    for (const [i, id] of ids.entries()) {
      db.prepare(`INSERT INTO device_authorizations (id, env_id, client_id, device_code_hash, user_code_hash, scope, status, expires_at,
        interval, last_polled_at, user_id, created_at, decided_at, request_user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(id, envId, 'tv', hashes[i], `${i}`.repeat(64), 'openid', 'pending', NOW + 600_000, 5, null, null, NOW, null, 'TV/1.0');
    }
    assert.deepEqual(migrate(db, NOW + 1), migrationsAfter('sqlite', 15));
    // Each row kept its rowid, negated: no key is negative.
    assert.deepEqual(db.prepare('SELECT rowid AS r FROM device_authorizations ORDER BY id').pluck().all(), [-1, -2]);
  } finally {
    db.close();
  }
  const store = new SqliteStore({ file, now: NOW + 2 });
  t.after(() => store.close());
  const as = { envId, clientId: 'tv', slowDownStep: 5, now: NOW + 1000 };
  for (const [i, hash] of hashes.entries()) {
    const device = await store.deviceAuthorizations.getByDeviceCodeHash(hash);
    assert.deepEqual([device?.id, device?.status, device?.requestContext?.userAgent], [ids[i], 'pending', 'TV/1.0']);
    assert.equal((await store.deviceAuthorizations.poll(hash, as))?.recorded, true);
    assert.equal((await store.deviceAuthorizations.get(envId, ids[i] ?? ''))?.lastPolledAt, NOW + 1000);
  }
});

test('a SQLite database at 012 upgraded through 013 keeps its users as password users and its environments with password sign-in on', async (t) => {
  const NOW = Date.UTC(2026, 0, 1);
  const file = path.join(tempDir(t), 'at-012.db');
  const envId = '0b9f5a5e-6a43-4cf5-9a34-0f5d7f3c1a01';
  const userId = '5c2d1d9e-2f59-4a4f-8f0e-7b1c6f0f2b02';
  const db = new Database(file);
  try {
    assert.deepEqual(migrate(db, NOW, migrationsUpTo(t, 'sqlite', 12)), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    db.prepare('INSERT INTO environments (id, name, company_id, created_at) VALUES (?, ?, ?, ?)').run(envId, 'default', envId, NOW);
    db.prepare(`INSERT INTO users (id, env_id, username, email, password_hash, disabled, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(userId, envId, 'alice', 'Alice@Example.test', 'scrypt$x', 0, NOW, NOW + 1);
    const upgraded = migrate(db, NOW + 2);
    assert.ok(upgraded.includes(13));
    assert.deepEqual(upgraded, migrationsAfter('sqlite', 12));
  } finally {
    db.close();
  }
  const store = new SqliteStore({ file, now: NOW + 3 });
  t.after(() => store.close());
  await upgradedFrom012(store, envId, userId, NOW);
});
