// The tests' throwaway PostgreSQL 15 (scripts/postgres.ts starts it: Debian's binaries, a temp dir,
// a free loopback port, the `postgres` user when the tests run as root), durability off for speed.
// One server per test file (per process), started on first use; every test gets its own database,
// so tests stay independent. Stopped and deleted after the file's tests, or at process exit.
import { after } from 'node:test';
import { startPostgres, type PostgresServer } from '../../scripts/postgres.ts';

export { POSTGRES_BIN, type PostgresServer } from '../../scripts/postgres.ts';

let shared: Promise<PostgresServer> | undefined;

// Registered when a test file imports this helper (at its top level): after the file's last test
// the server, if one was started, is stopped and deleted.
after(async () => {
  const server = shared;
  shared = undefined;
  if (server !== undefined) await (await server).stop();
});

/** The test file's server, started on first call. Missing binaries fail loudly: ensure-debian-packages installs them. */
export function postgres(): Promise<PostgresServer> {
  shared ??= startPostgres({ durable: false });
  return shared;
}

/** A new database on the file's server, for one test. */
export async function postgresDatabase(): Promise<string> {
  return (await postgres()).database();
}
