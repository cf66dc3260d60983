// `copy-store` (docs/architecture.md): every row of every table of a SQLite database into a new, empty
// PostgreSQL one, in one PostgreSQL transaction, so a deployment moves from one machine to several
// without losing clients, users, keys or live grants. Rows are copied as they are stored: codes
// stay keyed hashes and private keys stay encrypted (the server secret is not needed here, but
// every instance on the copy needs the same one). Both schemas must be at the same migration.
import Database from 'better-sqlite3';
import pg from 'pg';
import { listMigrations, migrationsDir } from '../migrations.ts';
import type { PgDb, Queries } from './db.ts';

/** Every table, parents before the tables whose foreign keys name them. */
export const TABLES = [
  'environments', 'clients', 'users', 'device_authorizations', 'signing_keys', 'flows', 'code_guess_failures', 'admin_keys',
  'app_ids', 'registration_codes', 'registered_devices', 'grants', 'refresh_tokens', 'revoked_access_tokens',
  // The upstream identity providers, their client secrets still encrypted with the server secret.
  'identity_providers',
  // The audit trail moves with the deployment, and so do the events its webhook has not delivered yet.
  'audit_events', 'audit_outbox',
] as const;

/** The source or the target is not fit for a copy (the user's to fix; nothing was written). */
export class CopyRefusedError extends Error {
  override name = 'CopyRefusedError';
}

/** Serialises copies into one database: the second one finds the first one's rows and refuses. */
const COPY_LOCK = 0x6463_732d_636f_7079n; // "dcs-copy"

/** PostgreSQL takes at most 65535 parameters per statement; rows go in batches well below it. */
const MAX_PARAMETERS = 30_000;

const sameSet = <T>(a: readonly T[], b: readonly T[]): boolean => a.length === b.length && a.every((x) => b.includes(x));

function openSource(file: string): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new CopyRefusedError(`cannot open the SQLite database ${file} (${(err as Error).message})`, { cause: err });
  }
  try {
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (err) {
    db.close();
    throw new CopyRefusedError(`${file} is not a SQLite database (${(err as Error).message})`, { cause: err });
  }
  return db;
}

/** The source must carry exactly the migrations this program knows (the target gets the same ones). */
function checkSourceSchema(db: Database.Database, file: string): void {
  const known = listMigrations(migrationsDir('sqlite')).map((m) => m.version);
  if (!sameSet(known, listMigrations(migrationsDir('postgres')).map((m) => m.version))) {
    throw new Error('the SQLite and PostgreSQL migrations are numbered differently');
  }
  const hasBookkeeping = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).get() !== undefined;
  const applied = hasBookkeeping ? (db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all() as number[]) : [];
  if (applied.some((v) => !known.includes(v))) {
    throw new CopyRefusedError(`${file} has migrations this version does not know (${applied.join(', ')}); copy it with the version that wrote it`);
  }
  if (!sameSet(applied, known)) {
    throw new CopyRefusedError(`${file} is not at the current schema; bring it up to date first: DATABASE_PATH=${file} device-code-server migrate`);
  }
  const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'`)
    .pluck().all() as string[];
  if (!sameSet(tables, TABLES)) throw new Error(`copy-store knows the tables ${TABLES.join(', ')}; the SQLite database has ${tables.join(', ')}`);
}

/** Each table's columns and their PostgreSQL types, checked against the source's columns. */
async function targetColumns(tx: Queries, source: Database.Database): Promise<Map<string, { name: string; type: string }[]>> {
  const rows = await tx.rows({
    text: `SELECT table_name, column_name, data_type FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name <> 'schema_migrations' ORDER BY table_name, ordinal_position`,
  });
  const columns = new Map<string, { name: string; type: string }[]>();
  for (const r of rows) {
    const table = String(r.table_name);
    columns.set(table, [...(columns.get(table) ?? []), { name: String(r.column_name), type: String(r.data_type) }]);
  }
  if (!sameSet([...columns.keys()], TABLES)) throw new Error(`the PostgreSQL database has the tables ${[...columns.keys()].join(', ')}`);
  for (const table of TABLES) {
    const inSource = (source.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name);
    const inTarget = (columns.get(table) ?? []).map((c) => c.name);
    if (!sameSet(inSource, inTarget)) throw new Error(`${table}: SQLite has columns ${inSource.join(', ')}, PostgreSQL ${inTarget.join(', ')}`);
  }
  return columns;
}

async function refuseNonEmpty(tx: Queries, label: string): Promise<void> {
  for (const table of TABLES) {
    if (await tx.get({ text: `SELECT 1 FROM ${pg.escapeIdentifier(table)} LIMIT 1` })) {
      throw new CopyRefusedError(`${label} is not empty (${table} has rows); copy-store only fills a new, empty database`);
    }
  }
}

async function copyTable(tx: Queries, source: Database.Database, table: string, columns: { name: string; type: string }[]): Promise<number> {
  const names = columns.map((c) => c.name);
  // SQLite keeps booleans as 0/1; everything else (text, integers) is the same value in both.
  const convert = columns.map((c) => (c.type === 'boolean' ? (v: unknown) => (v === null ? null : v === 1) : (v: unknown) => v));
  const rows = source.prepare(`SELECT ${names.map((n) => `"${n}"`).join(', ')} FROM "${table}"`).raw(true).all() as unknown[][];
  const perBatch = Math.max(1, Math.floor(MAX_PARAMETERS / names.length));
  const into = `INSERT INTO ${pg.escapeIdentifier(table)} (${names.map((n) => pg.escapeIdentifier(n)).join(', ')}) VALUES `;
  let copied = 0;
  for (let start = 0; start < rows.length; start += perBatch) {
    const batch = rows.slice(start, start + perBatch);
    const values = batch.flatMap((row) => row.map((v, i) => convert[i]?.(v) ?? v));
    const tuples = batch.map((_, r) => `(${names.map((_n, c) => `$${r * names.length + c + 1}`).join(', ')})`);
    copied += await tx.run({ text: into + tuples.join(', '), values });
  }
  if (copied !== rows.length) throw new Error(`${table}: ${rows.length} rows read, ${copied} written`);
  return copied;
}

/**
 * Copies the SQLite database `sourceFile` into `target` (migrated, empty) in one transaction; the
 * source is read in one snapshot (safe while a server writes to it). Returns the rows per table.
 */
export async function copySqliteToPostgres(sourceFile: string, target: PgDb, targetLabel: string): Promise<Record<string, number>> {
  const source = openSource(sourceFile);
  try {
    checkSourceSchema(source, sourceFile);
    // A read transaction: every table comes from the same moment of the source.
    source.exec('BEGIN');
    try {
      return await target.transaction(async (tx) => {
        await tx.run({ text: 'SELECT pg_advisory_xact_lock($1)', values: [COPY_LOCK.toString()] });
        const columns = await targetColumns(tx, source);
        await refuseNonEmpty(tx, targetLabel);
        const counts: Record<string, number> = {};
        for (const table of TABLES) counts[table] = await copyTable(tx, source, table, columns.get(table) ?? []);
        // The outbox's order numbers were copied as they were: new ones continue after them.
        await tx.run({ text: `SELECT setval(pg_get_serial_sequence('audit_outbox', 'seq'), greatest((SELECT max(seq) FROM audit_outbox), 1))` });
        return counts;
      });
    } finally {
      source.exec('COMMIT');
    }
  } finally {
    source.close();
  }
}
