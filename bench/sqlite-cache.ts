// Preloaded into a server (`node --import ./bench/sqlite-cache.ts …`) only with `--sqlite-cache-mb N`
// or `--sqlite-mmap-mb N`: experiments, not the server's configuration. Every better-sqlite3
// connection that switches to WAL also gets `PRAGMA cache_size = -N*1024` (SQLite's default page
// cache is 2 MB) or `PRAGMA mmap_size = N MB` (reads straight from the mapped file, no pread per
// page), to see how much of the store's time is page-cache misses.
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

const megabytes = (v: string | undefined): number => {
  const n = Number(v ?? '0');
  return Number.isFinite(n) && n > 0 ? n : 0;
};
const cacheMb = megabytes(process.env.BENCH_SQLITE_CACHE_MB);
const mmapMb = megabytes(process.env.BENCH_SQLITE_MMAP_MB);
if (cacheMb > 0 || mmapMb > 0) {
  const require = createRequire(import.meta.url);
  const Database = require('better-sqlite3') as typeof BetterSqlite3;
  const proto = Database.prototype;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(this) below
  const pragma = proto.pragma;
  proto.pragma = function patched(this: BetterSqlite3.Database, source: string, options?: BetterSqlite3.PragmaOptions): unknown {
    const result = pragma.call(this, source, options);
    if (/^\s*journal_mode\s*=/i.test(source)) {
      if (cacheMb > 0) pragma.call(this, `cache_size = -${Math.round(cacheMb * 1024)}`);
      if (mmapMb > 0) pragma.call(this, `mmap_size = ${Math.round(mmapMb * 1024 * 1024)}`);
    }
    return result;
  };
}
