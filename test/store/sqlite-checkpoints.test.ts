// Background checkpoints on SQLite (src/store/sqlite/checkpointer.ts): a server's store copies the
// WAL's committed pages into the database file from a thread of its own, so no request waits for a
// checkpoint. What the file itself holds is read from a copy of it taken without its -wal.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { openServices, type Services } from '../../src/services.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { tempDir, testConfig } from '../helpers/build.ts';
import { basics, device, NOW } from './contract/fixtures.ts';

const CODES = 40;

/** A store on a new file with CODES pending codes written: fewer pages than the server's own checkpoint threshold. */
async function withCodes(t: TestContext, backgroundCheckpoints: boolean): Promise<{ store: SqliteStore; file: string; dir: string }> {
  const dir = tempDir(t);
  const file = path.join(dir, 'store.db');
  const store = new SqliteStore({ file, now: NOW, backgroundCheckpoints });
  t.after(() => store.close());
  const { env, client } = await basics(store);
  for (let i = 0; i < CODES; i++) assert.equal(await store.deviceAuthorizations.insert(device(env.id, client.clientId)), 'ok');
  return { store, file, dir };
}

/** The codes the database file holds by itself, as a crash that lost the -wal would leave it (null: not even the table). */
function codesInFile(file: string, dir: string): number | null {
  const copy = path.join(dir, `copy-${Date.now()}-${Math.random()}.db`);
  copyFileSync(file, copy);
  const db = new Database(copy, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM device_authorizations').get() as { n: number }).n;
  } catch (err) {
    if (err instanceof Error && err.message.includes('no such table')) return null;
    throw err;
  } finally {
    db.close();
  }
}

test('SQLite background checkpoints: committed pages reach the database file with no checkpoint by the server\'s connection', async (t) => {
  const { store, file, dir } = await withCodes(t, true);
  // The thread checkpoints every 100 ms; a loaded machine may take far longer, hence a bound of a minute.
  // A copy taken while a checkpoint writes may be torn: that is "not yet", and the next one is read.
  // The thread's report reaches this thread as a message, after the file has the pages: waited for too.
  const reported = () => (store.checkpointer?.checkpoints ?? 0) > 0;
  const deadline = Date.now() + 60_000;
  let held: number | null | string = null;
  while (held !== CODES || !reported()) {
    assert.ok(Date.now() < deadline, `the file holds ${String(held)} codes a minute on, reported: ${String(reported())} (thread: ${String(store.checkpointer?.error)})`);
    await sleep(50);
    try {
      held = codesInFile(file, dir);
    } catch (err) {
      held = String(err);
    }
  }
  assert.equal(store.checkpointer?.error, undefined);
});

test('SQLite without background checkpoints (a CLI command): the same writes stay in the WAL until a checkpoint', async (t) => {
  const { store, file, dir } = await withCodes(t, false);
  assert.equal(store.checkpointer, undefined);
  await sleep(300);
  assert.equal(codesInFile(file, dir), null, 'the migrations and the codes are all still in the -wal');
});

test('SQLite background checkpoints: closing the store stops the thread and its connection, so the server\'s, closing last, removes the WAL', async (t) => {
  const { store, file, dir } = await withCodes(t, true);
  assert.ok(existsSync(`${file}-wal`));
  await store.close();
  assert.equal(existsSync(`${file}-wal`), false, 'no other connection was left open on the file');
  assert.equal(codesInFile(file, dir), CODES);
});

const gauge = async (services: Services): Promise<string | undefined> =>
  (await services.metrics.registry.metrics()).split('\n').find((l) => l.startsWith('dcs_sqlite_checkpoints_up '));

test('a server instance checkpoints in the background, reported by dcs_sqlite_checkpoints_up; a CLI command\'s services do not start the thread', async (t) => {
  const config = testConfig(tempDir(t));
  const server = await openServices(config);
  t.after(() => server.close());
  assert.ok(server.store instanceof SqliteStore);
  const checkpointer = server.store.checkpointer;
  assert.ok(checkpointer);
  assert.equal(await gauge(server), 'dcs_sqlite_checkpoints_up 1');
  await checkpointer.stop();
  assert.equal(await gauge(server), 'dcs_sqlite_checkpoints_up 0', 'a thread that is gone reads 0');
  const cli = await openServices(config, { instance: false });
  t.after(() => cli.close());
  assert.ok(cli.store instanceof SqliteStore);
  assert.equal(cli.store.checkpointer, undefined);
  assert.equal(await gauge(cli), undefined);
});
