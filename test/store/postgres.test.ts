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
import { build } from '../helpers/build.ts';
import { DatabaseUnavailableError } from '../../src/store/store.ts';
import { migrationsAfter, migrationsUpTo, upgradedFrom012 } from '../helpers/migrations.ts';
import { postgresDatabase } from '../helpers/postgres.ts';
import { assertOAuthError, poll, startAuthorization } from '../oauth/_support.ts';
import { eventually } from '../reliability/_logins.ts';
import { storeContract } from './contract/index.ts';
import { basics, device, grant, NOW } from './contract/fixtures.ts';

const POOL = 8;

storeContract(async (t: TestContext, count = 1, opts = {}) => {
  const url = await postgresDatabase();
  const stores: PostgresStore[] = [];
  t.after(async () => { for (const s of stores) await s.close(); });
  stores.push(...await Promise.all(Array.from({ length: count }, () => PostgresStore.open({ url, poolSize: POOL, now: NOW, auditOutbox: opts.auditOutbox ?? false, clientCache: true }))));
  // Each store keeps clients as a server instance does, from its first lookup on: the contract holds through that memory.
  for (const s of stores) await eventually('the store listens for client changes', () => s.clients.cached, 20_000);
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

test("a poll's bookkeeping commits without waiting for its WAL flush; decisions and redemptions keep the server's setting, and the poll's setting does not outlive its transaction", async (t) => {
  // The test server runs with synchronous_commit off; these sessions start with it on, as a durable server's do.
  const url = new URL(await postgresDatabase());
  url.searchParams.set('options', '-c synchronous_commit=on');
  // One connection: what one statement sets is there for the next one to find, if it outlived its transaction.
  const store = await PostgresStore.open({ url: url.toString(), poolSize: 1, now: NOW });
  t.after(() => store.close());
  const db = store.db;
  // A trigger notes the setting in force inside every transaction that writes a device authorization or a grant.
  await db.run({ text: 'CREATE TABLE commit_settings (n serial PRIMARY KEY, write text NOT NULL, synchronous_commit text NOT NULL)' });
  await db.run({
    text: `CREATE FUNCTION note_commit_setting() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO commit_settings (write, synchronous_commit) VALUES (TG_TABLE_NAME || ' ' || TG_OP, current_setting('synchronous_commit'));
        RETURN NULL;
      END $$`,
  });
  for (const table of ['device_authorizations', 'grants']) {
    await db.run({ text: `CREATE TRIGGER note_commit_setting AFTER INSERT OR UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION note_commit_setting()` });
  }
  const noted = async (): Promise<string[]> => {
    const rows = await db.rows({ text: 'DELETE FROM commit_settings RETURNING n, write, synchronous_commit' });
    return rows.sort((a, b) => Number(a.n) - Number(b.n)).map((r) => `${String(r.write)}: ${String(r.synchronous_commit)}`);
  };
  const setting = async () => (await db.get({ text: 'SHOW synchronous_commit' }))?.synchronous_commit;

  const { env, client, user } = await basics(store);
  const d = device(env.id, client.clientId);
  assert.equal(await store.deviceAuthorizations.insert(d), 'ok');
  assert.deepEqual(await noted(), ['device_authorizations INSERT: on'], 'a new code waits for its flush');

  const as = { envId: env.id, clientId: client.clientId, slowDownStep: 5 };
  assert.equal((await store.deviceAuthorizations.poll(d.deviceCodeHash, { ...as, now: NOW + 1000 }))?.recorded, true);
  assert.deepEqual(await noted(), ['device_authorizations UPDATE: off'], 'the poll');
  assert.equal(await setting(), 'on', 'the next statement on the same connection has the session setting back');
  assert.equal(await store.deviceAuthorizations.recordPoll(d.id, NOW + 1000, NOW + 2000, 10), true);
  assert.deepEqual(await noted(), ['device_authorizations UPDATE: off'], 'recordPoll, the same bookkeeping');
  assert.equal(await setting(), 'on');

  assert.ok(await store.deviceAuthorizations.decide(d.id, 'approved', user.id, null, NOW + 3000));
  assert.deepEqual(await noted(), ['device_authorizations UPDATE: on'], 'the approval');
  assert.equal((await store.deviceAuthorizations.poll(d.deviceCodeHash, { ...as, now: NOW + 4000 }))?.recorded, false, 'an approved code: no bookkeeping');
  assert.deepEqual(await noted(), []);
  const g = grant(env.id, user.id, client.clientId);
  assert.ok(await store.deviceAuthorizations.redeem(d.id, NOW + 4000, g, null));
  assert.deepEqual(await noted(), ['device_authorizations UPDATE: on', 'grants INSERT: on'], 'the redemption and its grant, in one transaction');
});

test('a pending poll of the token endpoint is one round trip on PostgreSQL: one statement that reads the code and records the poll, the client from memory', async (t) => {
  const h = await build(t, { env: { DATABASE_URL: await postgresDatabase() } });
  assert.ok(h.services.store instanceof PostgresStore);
  const clients = h.services.store.clients;
  await eventually('the instance listens for client changes', () => clients.cached, 20_000);
  const pool = h.services.store.db.pool;
  const statements: string[] = [];
  const query = pool.query.bind(pool);
  // Every statement outside a transaction goes through pool.query (a poll opens none).
  pool.query = ((config: { name?: string; text: string }, ...rest: unknown[]) => {
    statements.push(config.name ?? config.text);
    return (query as (...args: unknown[]) => unknown)(config, ...rest);
  }) as typeof pool.query;
  const client = await h.publicClient();
  const started = await startAuthorization(h, client);
  assert.deepEqual(statements.filter((x) => x === 'client_get'), ['client_get'], 'the client read once, by the device authorization');
  for (const [expected, seconds] of [['authorization_pending', 0], ['slow_down', 1], ['authorization_pending', 10]] as const) {
    h.clock.advance(seconds);
    statements.length = 0;
    assertOAuthError(await poll(h, started.device_code, client.clientId), 400, expected);
    assert.deepEqual(statements, ['device_poll'], expected);
  }
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
