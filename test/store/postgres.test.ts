// The store contract on PostgreSQL: a throwaway server for this file (test/helpers/postgres.ts),
// a database of its own per test, and for the races several stores (each its own pool) opened at
// once on it, so their migrations race too and their connections really run concurrently; and a
// connection lost or refused is DatabaseUnavailableError (the 503 of every surface).
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import pg from 'pg';
import { freePort } from '../../scripts/net.ts';
import { listMigrations } from '../../src/store/migrations.ts';
import { isConnectionLoss, PgDb } from '../../src/store/postgres/db.ts';
import { migrate, MIGRATIONS_DIR } from '../../src/store/postgres/migrate.ts';
import { PostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { DatabaseUnavailableError } from '../../src/store/store.ts';
import { migrationsAfter, migrationsUpTo, upgradedFrom012 } from '../helpers/migrations.ts';
import { postgresDatabase } from '../helpers/postgres.ts';
import { storeContract } from './contract/index.ts';
import { NOW } from './contract/fixtures.ts';

const POOL = 8;

storeContract(async (t: TestContext, count = 1, opts = {}) => {
  const url = await postgresDatabase();
  const stores: PostgresStore[] = [];
  t.after(async () => { for (const s of stores) await s.close(); });
  stores.push(...await Promise.all(Array.from({ length: count }, () => PostgresStore.open({ url, poolSize: POOL, now: NOW, auditOutbox: opts.auditOutbox ?? false }))));
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

test('a PostgreSQL database at 006 upgraded through 007 keeps its users, with no names and an unverified email', async (t) => {
  const url = await postgresDatabase();
  const envId = '0b9f5a5e-6a43-4cf5-9a34-0f5d7f3c1a01';
  const userId = '5c2d1d9e-2f59-4a4f-8f0e-7b1c6f0f2b02';
  const db = new PgDb({ url, poolSize: 1 });
  try {
    assert.deepEqual(await migrate(db, NOW, migrationsUpTo(t, 'postgres', 6)), [1, 2, 3, 4, 5, 6]);
    await db.run({ text: 'INSERT INTO environments (id, name, company_id, created_at) VALUES ($1, $2, $3, $4)', values: [envId, 'default', envId, NOW] });
    await db.run({
      text: `INSERT INTO users (id, env_id, username, email, password_hash, disabled, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      values: [userId, envId, 'alice', 'Alice@Example.test', 'scrypt$x', true, NOW, NOW + 1],
    });
    const upgraded = await migrate(db, NOW + 2);
    assert.ok(upgraded.includes(7));
    assert.deepEqual(upgraded, migrationsAfter('postgres', 6));
  } finally {
    await db.close();
  }
  const store = await PostgresStore.open({ url, poolSize: 1, now: NOW + 3 });
  t.after(() => store.close());
  const alice = {
    id: userId, envId, username: 'alice', email: 'Alice@Example.test', passwordHash: 'scrypt$x', disabled: true,
    name: null, givenName: null, familyName: null, emailVerified: false, createdAt: NOW, updatedAt: NOW + 1, idpIssuer: null, idpSubject: null,
  };
  assert.deepEqual(await store.users.get(envId, userId), alice);
  assert.deepEqual(await store.users.updateProfile(envId, userId, { name: 'Alice Liddell', emailVerified: true }, NOW + 4),
    { ...alice, name: 'Alice Liddell', emailVerified: true, updatedAt: NOW + 4 });
});

test('a PostgreSQL database at 012 upgraded through 013 keeps its users as password users and its environments with password sign-in on', async (t) => {
  const url = await postgresDatabase();
  const envId = '0b9f5a5e-6a43-4cf5-9a34-0f5d7f3c1a01';
  const userId = '5c2d1d9e-2f59-4a4f-8f0e-7b1c6f0f2b02';
  const db = new PgDb({ url, poolSize: 1 });
  try {
    assert.deepEqual(await migrate(db, NOW, migrationsUpTo(t, 'postgres', 12)), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    await db.run({ text: 'INSERT INTO environments (id, name, company_id, created_at) VALUES ($1, $2, $3, $4)', values: [envId, 'default', envId, NOW] });
    await db.run({
      text: `INSERT INTO users (id, env_id, username, email, password_hash, disabled, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      values: [userId, envId, 'alice', 'Alice@Example.test', 'scrypt$x', false, NOW, NOW + 1],
    });
    const upgraded = await migrate(db, NOW + 2);
    assert.ok(upgraded.includes(13));
    assert.deepEqual(upgraded, migrationsAfter('postgres', 12));
  } finally {
    await db.close();
  }
  const store = await PostgresStore.open({ url, poolSize: 1, now: NOW + 3 });
  t.after(() => store.close());
  await upgradedFrom012(store, envId, userId, NOW);
});

test('a connection the server ends mid-transaction is DatabaseUnavailableError, the process lives on, and the pool serves again', async (t) => {
  const url = await postgresDatabase();
  const db = new PgDb({ url, poolSize: 2 });
  t.after(() => db.close());
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  t.after(() => admin.end());
  await assert.rejects(db.transaction(async (tx) => {
    const pid = (await tx.get({ text: 'SELECT pg_backend_pid() AS pid' }))?.pid;
    // As a restart does to every session: the server ends this one (and waits until it has gone).
    await admin.query('SELECT pg_terminate_backend($1, 30000)', [pid]);
    return tx.get({ text: 'SELECT 1' });
  }), (err: unknown) => err instanceof DatabaseUnavailableError);
  // The dropped connection was not given back: the next statements get a working one.
  assert.deepEqual(await db.get({ text: 'SELECT 1 AS one' }), { one: 1 });
  assert.equal(await db.transaction((tx) => tx.run({ text: 'SELECT 1' })), 1);
});

test('a server that refuses connections is DatabaseUnavailableError, to a statement and to a transaction', async (t) => {
  const db = new PgDb({ url: `postgres://postgres@127.0.0.1:${await freePort()}/none`, poolSize: 1 });
  t.after(() => db.close());
  const unavailable = (err: unknown) => err instanceof DatabaseUnavailableError && isConnectionLoss(err.cause);
  await assert.rejects(db.get({ text: 'SELECT 1' }), unavailable);
  await assert.rejects(db.transaction((tx) => tx.get({ text: 'SELECT 1' })), unavailable);
});
