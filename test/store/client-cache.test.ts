// Server instances on one PostgreSQL keep clients in memory (src/store/postgres/client-cache.ts), so
// a poll is one round trip: every change a process makes is announced (NOTIFY) and each instance
// forgets that client as it hears it; while an instance cannot listen it reads the database every
// time. A CLI command keeps nothing.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import pg from 'pg';
import { PgClients } from '../../src/store/postgres/clients.ts';
import { build, type TestApp } from '../helpers/build.ts';
import { postgresDatabase } from '../helpers/postgres.ts';
import { eventually } from '../reliability/_logins.ts';

async function sql(t: TestContext, url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  t.after(() => c.end());
  return c;
}

/** Two instances on one database, both listening, and a public client. */
async function twoInstances(t: TestContext) {
  const url = await postgresDatabase();
  const a = await build(t, { env: { DATABASE_URL: url } });
  const b = await build(t, { env: { DATABASE_URL: url } });
  for (const h of [a, b]) await eventually('the instance listens for client changes', () => clients(h).cached, 20_000);
  const client = await a.publicClient({ pollInterval: 5 });
  return { url, a, b, client };
}

function clients(h: TestApp): PgClients {
  const c = h.services.store.clients;
  assert.ok(c instanceof PgClients, 'the PostgreSQL store');
  return c;
}

/** The interval a device authorization at `h` answers with, or its error. */
async function interval(h: TestApp, clientId: string): Promise<number | string> {
  const r = await h.form('/oauth/device_authorization', { client_id: clientId });
  const body = r.json<{ interval?: number; error?: string }>();
  return r.statusCode === 200 ? (body.interval ?? NaN) : `${r.statusCode} ${body.error ?? ''}`;
}

test('a client changed or deleted through one instance (or the CLI) is seen by the other without waiting for the cache to expire', async (t) => {
  const { a, b, client } = await twoInstances(t);
  assert.equal(await interval(a, client.clientId), 5);
  await b.services.admin.updateClient(client.envId, client.clientId, { pollInterval: 9 });
  await eventually('instance a sees the new interval', async () => (await interval(a, client.clientId)) === 9, 20_000);
  await b.services.admin.deleteClient(client.envId, client.clientId);
  await eventually('instance a sees the client gone', async () => (await interval(a, client.clientId)) === '401 invalid_client', 20_000);
});

test('an instance answers from memory: a change made in SQL without NOTIFY is not seen until it is announced', async (t) => {
  const { url, a, b, client } = await twoInstances(t);
  assert.equal(await interval(a, client.clientId), 5, 'a reads the client and keeps it');
  const db = await sql(t, url);
  await db.query('UPDATE clients SET poll_interval = 7 WHERE client_id = $1', [client.clientId]);
  assert.equal(await interval(a, client.clientId), 5, 'a answers from memory');
  assert.equal(await interval(b, client.clientId), 7, 'b had not read it: it reads the database');
  await db.query(`NOTIFY dcs_clients, '*'`);
  await eventually('a hears the announcement', async () => (await interval(a, client.clientId)) === 7, 20_000);
});

test('while an instance cannot listen it keeps nothing, and it listens again by itself', async (t) => {
  const { url, a, client } = await twoInstances(t);
  assert.equal(await interval(a, client.clientId), 5);
  const db = await sql(t, url);
  const listeners = async () => (await db.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN dcs_clients'`)).rows;
  assert.equal((await listeners()).length, 2, 'each instance listens on a connection of its own');
  // The listening connections end (a restart, a failover would end them too).
  const old = (await listeners()).map((r) => r.pid);
  await db.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [old]);
  // A new listening connection is opened only after the loss of the old one was noticed.
  await eventually('both instances listen again, on new connections', async () => {
    const now = (await listeners()).map((r) => r.pid);
    return now.length === 2 && now.every((pid) => !old.includes(pid));
  }, 20_000);
  // What a kept before the loss is forgotten: the change below reaches it without any NOTIFY.
  await db.query('UPDATE clients SET poll_interval = 8 WHERE client_id = $1', [client.clientId]);
  assert.equal(await interval(a, client.clientId), 8);
  await eventually('a listens again', () => clients(a).cached, 20_000);
  assert.equal(await interval(a, client.clientId), 8, 'and keeps what it reads again');
  await db.query('UPDATE clients SET poll_interval = 6 WHERE client_id = $1', [client.clientId]);
  assert.equal(await interval(a, client.clientId), 8, 'from memory once more');
});

test('a CLI command keeps no clients, and its changes are announced to the servers', async (t) => {
  const { a, client } = await twoInstances(t);
  assert.equal(await interval(a, client.clientId), 5);
  const { openServices } = await import('../../src/services.ts');
  const cli = await openServices(a.config, { instance: false });
  t.after(() => cli.close());
  assert.equal(clients({ ...a, services: cli }).cached, false);
  await cli.admin.updateClient(client.envId, client.clientId, { pollInterval: 11 });
  await eventually('instance a sees the CLI\'s change', async () => (await interval(a, client.clientId)) === 11, 20_000);
});
