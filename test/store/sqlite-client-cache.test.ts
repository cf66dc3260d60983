// Clients in a SQLite server's memory (src/store/sqlite/client-cache.ts): a change by another
// connection on the same file (the CLI) is seen once `PRAGMA data_version` says so, when the store
// next begins a transaction (the next turn's reads, a group commit); the store's own writes at once.
import assert from 'node:assert/strict';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import { openServices } from '../../src/services.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { tempDir, testConfig } from '../helpers/build.ts';
import { basics, client as clientOf, NOW } from './contract/fixtures.ts';

/** A caching store (a server's) and a plain one (a CLI command's) on one file, with a client. */
async function pair(t: TestContext) {
  const file = path.join(tempDir(t), 'store.db');
  const server = new SqliteStore({ file, now: NOW, clientCache: true });
  const cli = new SqliteStore({ file, now: NOW });
  t.after(async () => { await server.close(); await cli.close(); });
  const { env, client } = await basics(cli);
  const cache = server.clientCache;
  assert.ok(cache);
  return { server, cli, env, client, cache };
}

test('SQLite client cache: a lookup is answered from memory; an unknown client is not kept', async (t) => {
  const { server, cli, env, client, cache } = await pair(t);
  const first = await server.clients.get(env.id, client.clientId);
  assert.deepEqual(first, client);
  assert.equal(await server.clients.get(env.id, client.clientId), first, 'the same object: no read of the row');
  assert.notEqual(await cli.clients.get(env.id, client.clientId), await cli.clients.get(env.id, client.clientId), 'a store without the cache reads each time');
  assert.equal(await server.clients.get(env.id, 'no-such-client'), undefined);
  assert.equal(cache.size, 1);
});

test('SQLite client cache: another connection\'s update and delete are seen from the next event-loop turn', async (t) => {
  const { server, cli, env, client } = await pair(t);
  await server.clients.get(env.id, client.clientId);
  assert.equal(await cli.clients.update({ ...client, name: 'Renamed TV' }), true);
  await nextTurn();
  assert.equal((await server.clients.get(env.id, client.clientId))?.name, 'Renamed TV');
  assert.equal(await cli.clients.delete(env.id, client.clientId), true);
  await nextTurn();
  assert.equal(await server.clients.get(env.id, client.clientId), undefined);
});

test('SQLite client cache: a group commit reads data_version and forgets every client when another connection has committed', async (t) => {
  const { server, cli, env, client, cache } = await pair(t);
  await server.clients.get(env.id, client.clientId);
  assert.equal(cache.size, 1);
  // A grouped write of the server's with nothing changed elsewhere keeps what it holds...
  assert.equal(await server.deviceAuthorizations.recordPoll('no-such-code', null, NOW, 5), false);
  assert.equal(cache.size, 1);
  // ...and after the other connection's commit, the next group commit forgets it, before any lookup.
  assert.equal(await cli.clients.update({ ...client, name: 'Renamed TV' }), true);
  assert.equal(await server.deviceAuthorizations.recordPoll('no-such-code', null, NOW, 5), false);
  assert.equal(cache.size, 0);
  assert.equal((await server.clients.get(env.id, client.clientId))?.name, 'Renamed TV');
});

test('SQLite client cache: the store\'s own update, secret change and delete are seen at once', async (t) => {
  const { server, env } = await pair(t);
  const backend = clientOf(env.id, { type: 'confidential', secretHash: 'old-hash' });
  await server.clients.create(backend);
  await server.clients.get(env.id, backend.clientId);
  assert.equal(await server.clients.update({ ...backend, name: 'Renamed backend' }), true);
  assert.equal((await server.clients.get(env.id, backend.clientId))?.name, 'Renamed backend');
  assert.equal(await server.clients.setSecretHash(env.id, backend.clientId, 'old-hash', 'new-hash'), true);
  assert.equal((await server.clients.get(env.id, backend.clientId))?.secretHash, 'new-hash');
  assert.equal(await server.clients.delete(env.id, backend.clientId), true);
  assert.equal(await server.clients.get(env.id, backend.clientId), undefined);
});

test('a server instance on SQLite keeps clients in memory; a CLI command\'s services do not', async (t) => {
  const config = testConfig(tempDir(t));
  const server = await openServices(config);
  t.after(() => server.close());
  assert.ok(server.store instanceof SqliteStore);
  assert.ok(server.store.clientCache);
  const cli = await openServices(config, { instance: false });
  t.after(() => cli.close());
  assert.ok(cli.store instanceof SqliteStore);
  assert.equal(cli.store.clientCache, undefined);
});
