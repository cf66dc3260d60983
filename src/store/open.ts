// The one place a Store is chosen and opened: the server, the CLI and the tests all come here, so a
// second implementation (PostgreSQL, SPEC S10) slots in beside SQLite without touching callers.
import type { Store } from './store.ts';
import { SqliteStore } from './sqlite/sqlite-store.ts';

export interface OpenStoreOptions {
  /** The SQLite file. */
  databasePath: string;
  /** SQLite's synchronous setting (default normal). */
  synchronous?: 'normal' | 'full';
  /** Now, for the migrations' bookkeeping. */
  now: number;
  /** Apply pending migrations (default true). */
  migrate?: boolean;
}

export function openStore(opts: OpenStoreOptions): Promise<Store> {
  try {
    return Promise.resolve(new SqliteStore({ file: opts.databasePath, now: opts.now, migrate: opts.migrate ?? true, synchronous: opts.synchronous ?? 'normal' }));
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}
