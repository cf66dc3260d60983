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
import { listMigrations } from '../../src/store/sqlite/migrate.ts';
import { runCli } from '../cli/run.ts';
import { tempDir } from '../helpers/build.ts';

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

