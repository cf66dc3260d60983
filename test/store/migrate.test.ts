// Migrations when several processes open a new database at once (the CLI next to a starting
// server): each migration is applied exactly once and nobody fails.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { listMigrations } from '../../src/store/sqlite/migrate.ts';
import { runCli } from '../cli/run.ts';
import { tempDir } from '../helpers/build.ts';

test('four processes migrating one new database together: all succeed, every migration applied once', async (t) => {
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
  }
});

test('two migration files with one number are refused', () => {
  assert.throws(() => listMigrations(path.join(import.meta.dirname, '..', 'fixtures', 'duplicate-migrations')), /two migrations are numbered 1/);
});
