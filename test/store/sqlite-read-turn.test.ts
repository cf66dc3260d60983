// Reads on a SQLite connection share one read transaction per event-loop turn (SqliteDb.#ready):
// what that changes and what it must not. Two SqliteDb connections on one file stand for the server
// and a CLI command; a plain better-sqlite3 connection, whose every statement reads afresh, looks on.
import assert from 'node:assert/strict';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteDb } from '../../src/store/sqlite/db.ts';
import { tempDir } from '../helpers/build.ts';

function pair(t: TestContext): { server: SqliteDb; cli: SqliteDb; looking: () => unknown } {
  const file = path.join(tempDir(t), 'store.db');
  const server = new SqliteDb(file);
  const cli = new SqliteDb(file);
  server.db.exec('CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT NOT NULL)');
  server.db.exec(`INSERT INTO things (id, name) VALUES (1, 'one')`);
  const onlooker = new Database(file, { readonly: true });
  const read = onlooker.prepare('SELECT name FROM things WHERE id = 1');
  t.after(() => { server.close(); cli.close(); onlooker.close(); });
  return { server, cli, looking: () => (read.get() as { name: string } | undefined)?.name };
}

const nameOf = (db: SqliteDb): unknown => db.get('SELECT name FROM things WHERE id = 1')?.name;

test('SQLite reads: one turn reads one snapshot; another connection\'s commit is seen from the next turn, and the transaction ends with the turn', async (t) => {
  const { server, cli } = pair(t);
  assert.equal(nameOf(server), 'one');
  assert.equal(server.db.inTransaction, true, 'the first read of the turn opened the read transaction');
  assert.equal(cli.run(`UPDATE things SET name = 'two' WHERE id = 1`), 1);
  assert.equal(nameOf(server), 'one', 'the same turn still reads its snapshot');
  await nextTurn();
  assert.equal(server.db.inTransaction, false, 'the read transaction ended at setImmediate');
  assert.equal(nameOf(server), 'two');
});

test('SQLite reads: a write after a read in the same turn commits at once, outside the read transaction', (t) => {
  const { server, looking } = pair(t);
  assert.equal(nameOf(server), 'one');
  assert.equal(server.run(`UPDATE things SET name = 'two' WHERE id = 1`), 1);
  assert.equal(server.db.inTransaction, false, 'the write ended the read transaction and autocommitted');
  assert.equal(looking(), 'two', 'another connection sees the write before the turn ends');
  assert.equal(nameOf(server), 'two', 'and so does this one');
  // An UPDATE … RETURNING read through get() is a write too.
  assert.equal(server.get(`UPDATE things SET name = 'three' WHERE id = 1 RETURNING name`)?.name, 'three');
  assert.equal(server.db.inTransaction, false);
  assert.equal(looking(), 'three');
});

test('SQLite reads: an IMMEDIATE transaction and a group commit after a read in the same turn both run, and see this connection\'s writes', async (t) => {
  const { server, looking } = pair(t);
  assert.equal(nameOf(server), 'one');
  server.immediate(() => server.run(`UPDATE things SET name = 'two' WHERE id = 1`));
  assert.equal(looking(), 'two');
  assert.equal(nameOf(server), 'two');
  // Within one turn: a read opens the transaction, the grouped write commits after it has ended.
  const written = server.grouped(() => server.run(`UPDATE things SET name = 'three' WHERE id = 1`));
  assert.equal(nameOf(server), 'two', 'the grouped write has not run yet');
  assert.equal(await written, 1);
  assert.equal(nameOf(server), 'three', 'its own write is seen as soon as its commit is done');
  assert.equal(looking(), 'three');
});

test('SQLite reads: closing the connection in the middle of a turn ends its read transaction first', (t) => {
  const { server, cli } = pair(t);
  assert.equal(nameOf(server), 'one');
  server.close();
  assert.equal(server.db.open, false);
  // The file is not left locked: another connection writes at once.
  assert.equal(cli.run(`UPDATE things SET name = 'two' WHERE id = 1`), 1);
});
