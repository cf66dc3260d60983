// The SQLite migrations (migrations/sqlite/NNN_name.sql), each applied once in its own transaction.
import type Database from 'better-sqlite3';
import { listMigrations as listDialect, migrationsDir, type Migration } from '../migrations.ts';

export const MIGRATIONS_DIR = migrationsDir('sqlite');

export function listMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return listDialect(dir);
}

/**
 * Applies pending migrations; returns the versions applied now. Each one is checked and applied in
 * one IMMEDIATE transaction, so processes opening a new database together (the CLI and the server)
 * apply it once: the loser of the write lock finds it applied.
 */
export function migrate(db: Database.Database, now: number, dir = MIGRATIONS_DIR): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`);
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?');
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const done: number[] = [];
  for (const m of listMigrations(dir)) {
    const applied = db.transaction(() => {
      if (isApplied.get(m.version) !== undefined) return false;
      db.exec(m.sql);
      record.run(m.version, m.name, now);
      return true;
    }).immediate();
    if (applied) done.push(m.version);
  }
  return done;
}

/** True when every migration on disk has been applied (readiness). */
export function isMigrated(db: Database.Database, dir = MIGRATIONS_DIR): boolean {
  const row = db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).get() as { n: number };
  if (row.n === 0) return false;
  const applied = new Set(db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
  return listMigrations(dir).every((m) => applied.has(m.version));
}
