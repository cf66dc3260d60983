// Preloaded into a server (`node --import ./bench/time-warp.ts …`) by the database-size run only:
// Date.now runs BENCH_TIME_WARP times faster than the wall clock from the moment of loading, so the
// hour for which expired device codes are kept (EXPIRED_RETENTION_MS) passes in a minute or less and
// the sweeper's steady state can be watched. Nothing else in the benchmark uses it.
const factor = Number(process.env.BENCH_TIME_WARP ?? '1');
if (Number.isFinite(factor) && factor > 1) {
  const realNow = Date.now.bind(Date);
  const t0 = realNow();
  Date.now = () => Math.floor(t0 + (realNow() - t0) * factor);
}
