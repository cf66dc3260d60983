// The store contract on PostgreSQL: a throwaway server for this file (test/helpers/postgres.ts),
// a database of its own per test, and for the races several stores (each its own pool) opened at
// once on it, so their migrations race too and their connections really run concurrently.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { listMigrations } from '../../src/store/migrations.ts';
import { PgDb } from '../../src/store/postgres/db.ts';
import { migrate, MIGRATIONS_DIR } from '../../src/store/postgres/migrate.ts';
import { PostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { postgresDatabase } from '../helpers/postgres.ts';
import { storeContract } from './contract/index.ts';
import { NOW } from './contract/fixtures.ts';

const POOL = 8;

storeContract(async (t: TestContext, count = 1) => {
  const url = await postgresDatabase();
  const stores: PostgresStore[] = [];
  t.after(async () => { for (const s of stores) await s.close(); });
  stores.push(...await Promise.all(Array.from({ length: count }, () => PostgresStore.open({ url, poolSize: POOL, now: NOW }))));
  // Open every pool's connections before a race, so the calls race each other and not connection setup.
  if (count > 1) await Promise.all(stores.flatMap((s) => Array.from({ length: POOL }, () => s.ping())));
  return stores;
});

test('instances starting together on a new database migrate it once, under the advisory lock', async (t) => {
  const url = await postgresDatabase();
  const bare = await PostgresStore.open({ url, poolSize: 1, now: NOW, migrate: false });
  t.after(() => bare.close());
  assert.equal(await bare.isMigrated(), false, 'nothing applied yet');
  const applied = await Promise.all(Array.from({ length: 4 }, async () => {
    const db = new PgDb({ url, poolSize: 1 });
    try {
      return await migrate(db, NOW);
    } finally {
      await db.close();
    }
  }));
  const versions = listMigrations(MIGRATIONS_DIR).map((m) => m.version);
  assert.deepEqual(applied.flat().sort((a, b) => a - b), versions, 'each migration applied by exactly one of them');
  assert.deepEqual((await bare.db.rows({ text: 'SELECT version FROM schema_migrations ORDER BY version' })).map((r) => r.version), versions);
  assert.equal(await bare.isMigrated(), true);
});
