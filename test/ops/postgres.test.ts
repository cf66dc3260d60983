// Operating on PostgreSQL: DATABASE_URL selects it for the server and the CLI alike, its
// password never reaches a log line or an answer, `backup` points to pg_dump, a bad URL stops the
// start naming the variable, and PostgreSQL's disk_full is the same 503 as SQLite's full disk.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { assertFailure, cliJson, runCli } from '../cli/run.ts';
import { startServe } from '../cli/serve-process.ts';
import { build, tempDir } from '../helpers/build.ts';
import { postgresDatabase } from '../helpers/postgres.ts';
import { assertOAuthError } from '../oauth/_support.ts';

const PASSWORD = 'pg-s3cret-never-logged';

/** The database's URL with a password in it (the test server trusts loopback, so any password works). */
async function urlWithPassword(): Promise<{ url: string; label: string }> {
  const u = new URL(await postgresDatabase());
  u.password = PASSWORD;
  u.search = `?application_name=dcs&password=${PASSWORD}`;
  const label = new URL(u);
  label.password = '';
  label.search = '';
  return { url: u.toString(), label: label.toString() };
}

test('DATABASE_URL must be a postgres:// URL; the message names the variable and never repeats the value', () => {
  for (const value of [`mysql://u:${PASSWORD}@127.0.0.1/x`, `not a url ${PASSWORD}`]) {
    assert.throws(() => loadConfig({ DATABASE_URL: value }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /DATABASE_URL: expected a postgres:\/\/ or postgresql:\/\/ URL/);
      assert.ok(!err.message.includes(PASSWORD), err.message);
      return true;
    });
  }
  const config = loadConfig({ DATABASE_URL: `postgresql://dcs:${PASSWORD}@db.internal:5433/dcs?sslmode=require` });
  assert.equal(config.databaseLabel, 'postgresql://dcs@db.internal:5433/dcs');
  assert.equal(config.databasePoolSize, 10);
  assert.equal(loadConfig({}).databaseUrl, undefined, 'SQLite stays the default');
});

test('serve and the CLI on PostgreSQL: ready, the records shared, no password in any output; backup points to pg_dump', async (t) => {
  const dir = tempDir(t);
  const { url, label } = await urlWithPassword();
  const env = { DATABASE_URL: url, DATABASE_POOL_SIZE: '3' };
  // The CLI migrates and writes on PostgreSQL…
  const migrated = await runCli(dir, ['migrate', '--json'], { env });
  assert.deepEqual(JSON.parse(migrated.stdout), { status: 'ok', database: label });
  const client = await cliJson<{ client_id: string }>(dir, ['client', 'create', '--name', 'TV'], { env });
  // …and the server, on the same database, sees what it wrote.
  const server = await startServe(t, dir, env);
  const ready = await fetch(`${server.url}/readyz`);
  assert.equal(ready.status, 200, await ready.text());
  const started = await fetch(`${server.url}/oauth/device_authorization`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `client_id=${client.client_id}`,
  });
  assert.equal(started.status, 200, await started.text());
  const listed = await cliJson<{ clients: { client_id: string }[] }>(dir, ['client', 'list'], { env });
  assert.ok(listed.clients.some((c) => c.client_id === client.client_id));
  const swept = await runCli(dir, ['sweep', '--json'], { env });
  assert.equal(swept.code, 0, swept.stderr);
  const backup = await runCli(dir, ['backup', `${dir}/copy.db`], { env });
  assertFailure(backup, /uses PostgreSQL .*pg_dump/);
  assert.equal(await server.stop(), 0);
  const logs = `${server.output()}${migrated.stderr}${backup.stderr}${swept.stdout}`;
  assert.match(server.output(), new RegExp(`"database":"${label.replace(/[/.?]/g, '\\$&')}"`), 'the listening line names the database');
  assert.ok(!logs.includes(PASSWORD), 'the password appears nowhere');
});

test('PostgreSQL disk_full (SQLSTATE 53100) answers 503 + Retry-After like a full SQLite disk, and the write succeeds once there is room', async (t) => {
  const url = await postgresDatabase();
  const h = await build(t, { env: { DATABASE_URL: url } });
  const client = await h.publicClient();
  // The server itself raises the real error: a trigger stands in for the disk that fills up.
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  t.after(() => admin.end());
  await admin.query(`CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$`);
  await admin.query('CREATE TRIGGER disk_is_full BEFORE INSERT ON device_authorizations FOR EACH ROW EXECUTE FUNCTION disk_full()');
  const full = await h.form('/oauth/device_authorization', { client_id: client.clientId });
  assertOAuthError(full, 503, 'temporarily_unavailable');
  assert.equal(full.headers['retry-after'], '30');
  await admin.query('DROP TRIGGER disk_is_full ON device_authorizations');
  assert.equal((await h.form('/oauth/device_authorization', { client_id: client.clientId })).statusCode, 200);
});
