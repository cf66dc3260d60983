// The one place a Store is chosen and opened: the server, the CLI and the tests all come here.
// SQLite is the zero-configuration default; a PostgreSQL URL selects the store several instances
// share (docs/architecture.md).
import type { Store } from './store.ts';
import { SqliteStore } from './sqlite/sqlite-store.ts';

export interface OpenStoreOptions {
  /** The SQLite file, when there is no databaseUrl. */
  databasePath: string;
  /** SQLite's synchronous setting (default normal). */
  synchronous?: 'normal' | 'full';
  /** A postgres:// URL: the PostgreSQL store instead of SQLite. */
  databaseUrl?: string | undefined;
  /** Connections of the PostgreSQL pool (default 10). */
  poolSize?: number;
  /** Now, for the migrations' bookkeeping. */
  now: number;
  /** Apply pending migrations (default true). */
  migrate?: boolean;
  /** Audit events also go to the webhook's outbox (AUDIT_WEBHOOK_URL is set). */
  auditOutbox?: boolean;
  /** Keep clients in memory, told of every change (a server instance; not for one CLI command). */
  clientCache?: boolean;
  /** SQLite: checkpoint the WAL from a thread of its own (a server instance; not for one CLI command). */
  backgroundCheckpoints?: boolean;
}

export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const migrate = opts.migrate ?? true;
  if (opts.databaseUrl !== undefined) {
    // Loaded only when asked for: a SQLite deployment never loads pg.
    const { PostgresStore } = await import('./postgres/postgres-store.ts');
    return PostgresStore.open({ url: opts.databaseUrl, poolSize: opts.poolSize ?? 10, now: opts.now, migrate, auditOutbox: opts.auditOutbox ?? false,
      clientCache: opts.clientCache ?? false,
    });
  }
  return new SqliteStore({
    file: opts.databasePath, now: opts.now, migrate, synchronous: opts.synchronous ?? 'normal', auditOutbox: opts.auditOutbox ?? false,
    backgroundCheckpoints: opts.backgroundCheckpoints ?? false, clientCache: opts.clientCache ?? false,
  });
}
