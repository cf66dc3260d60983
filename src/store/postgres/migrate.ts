// The PostgreSQL migrations (migrations/postgres/NNN_name.sql, numbered as SQLite's), applied under
// a session-level advisory lock: instances starting together wait for each other, and the first
// applies what is pending while the others then find it applied. Each migration is applied in its
// own transaction with its bookkeeping row, so a failed one leaves nothing half done.
import type pg from 'pg';
import { listMigrations, migrationsDir } from '../migrations.ts';
import { num } from '../rows.ts';
import type { PgDb } from './db.ts';

export const MIGRATIONS_DIR = migrationsDir('postgres');

/** The advisory lock's key: one bigint, the same in every instance ("dcs-migr" in ASCII). */
export const MIGRATION_LOCK = 0x6463_732d_6d69_6772n;

const CREATE_BOOKKEEPING = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`;

/** Applies pending migrations; returns the versions applied now (by this call, not by another instance). */
export async function migrate(db: PgDb, now: number, dir = MIGRATIONS_DIR): Promise<number[]> {
  const migrations = listMigrations(dir);
  // Its own connection, with no statement timeout: a migration may take long, and so may waiting
  // for another instance's.
  const client = await db.unboundedClient();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK.toString()]);
    try {
      await client.query(CREATE_BOOKKEEPING);
      const done: number[] = [];
      for (const m of migrations) {
        if (await applyOne(client, m.version, m.name, m.sql, now)) done.push(m.version);
      }
      return done;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK.toString()]);
    }
  } finally {
    // Closed, never reused: the lock (if a failure left it held) ends with the session.
    await client.end().catch(() => undefined);
  }
}

async function applyOne(client: pg.ClientBase, version: number, name: string, sql: string, now: number): Promise<boolean> {
  await client.query('BEGIN');
  try {
    const applied = await client.query('SELECT 1 FROM schema_migrations WHERE version = $1', [version]);
    if (applied.rowCount !== 0) {
      await client.query('ROLLBACK');
      return false;
    }
    // No parameters: the simple protocol, which runs a file of several statements.
    await client.query(sql);
    await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [version, name, now]);
    await client.query('COMMIT');
    return true;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** True when every migration on disk has been applied (readiness). */
export async function isMigrated(db: PgDb, dir = MIGRATIONS_DIR): Promise<boolean> {
  const exists = await db.get({ text: `SELECT to_regclass('schema_migrations') IS NOT NULL AS present` });
  if (exists?.present !== true) return false;
  const rows = await db.rows({ text: 'SELECT version FROM schema_migrations' });
  const applied = new Set(rows.map((r) => num(r.version)));
  return listMigrations(dir).every((m) => applied.has(m.version));
}
