// A new, empty database on a running PostgreSQL server, for one test: no server is started here
// (test/helpers/postgres.ts starts the throwaway one), so build() can use any server it is given.
import pg from 'pg';

let n = 0;

/** Creates `dcs_<pid>_<n>` through `adminUrl` (a superuser's URL on the server) and returns the new database's URL. */
export async function createDatabase(adminUrl: string): Promise<string> {
  const name = `dcs_${process.pid}_${++n}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
