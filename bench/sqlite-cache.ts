// Preloaded into a server (`node --import ./bench/sqlite-cache.ts …`) only with `--sqlite-cache-mb N`:
// an experiment, not the server's configuration. Every better-sqlite3 connection that switches to
// WAL also gets `PRAGMA cache_size = -N*1024` (SQLite's default page cache is 2 MB), to see how much
// of the store's time is page-cache misses.
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

const mb = Number(process.env.BENCH_SQLITE_CACHE_MB ?? '0');
if (Number.isFinite(mb) && mb > 0) {
  const require = createRequire(import.meta.url);
  const Database = require('better-sqlite3') as typeof BetterSqlite3;
  const proto = Database.prototype;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(this) below
  const pragma = proto.pragma;
  proto.pragma = function patched(this: BetterSqlite3.Database, source: string, options?: BetterSqlite3.PragmaOptions): unknown {
    const result = pragma.call(this, source, options);
    if (/^\s*journal_mode\s*=/i.test(source)) pragma.call(this, `cache_size = -${Math.round(mb * 1024)}`);
    return result;
  };
}
