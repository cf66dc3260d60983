// The store contract on SQLite: a real file in a temp directory per test, and for the races
// several connections (one SqliteStore each) on that one file. Then the query plan of every
// statement the contract ran: none may read the whole of a table that grows with traffic.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { tempDir } from '../helpers/build.ts';
import { storeContract } from './contract/index.ts';
import { basics, device, NOW } from './contract/fixtures.ts';

const ran = new Set<string>();

storeContract((t: TestContext, count = 1, opts = {}) => {
  const file = path.join(tempDir(t), 'store.db');
  const stores = Array.from({ length: count }, () => new SqliteStore({ file, now: NOW, auditOutbox: opts.auditOutbox ?? false }));
  t.after(async () => {
    for (const s of stores) {
      for (const sql of s.preparedSql()) ran.add(sql);
      await s.close();
    }
  });
  return Promise.resolve(stores);
});

/**
 * Tables whose size is set by configuration rather than traffic (a handful of environments, keys,
 * app ids): reading all of one is cheap. Every other table grows with devices, users or tokens.
 */
const SMALL = new Set(['environments', 'signing_keys', 'app_ids', 'admin_keys', 'schema_migrations']);

/**
 * Statements allowed to scan, each with why. Deleting a client (an admin's rare act) reads every
 * device authorization to find the client's: an index by client would cost every device
 * authorization, the hot INSERT, one more B-tree write. The audit webhook's pending gauge counts
 * the outbox at a metrics scrape: a count reads every row whatever the index, and the outbox holds
 * only what the receiver has not confirmed.
 */
const MAY_SCAN = new Set(['DELETE FROM device_authorizations WHERE env_id = ? AND client_id = ?', 'SELECT count(*) AS n FROM audit_outbox']);

test('query plans: no statement of the store scans a table that grows with traffic (each lookup, update and sweep uses an index)', async (t) => {
  assert.ok(ran.size > 50, `the contract ran the store's statements (${ran.size})`);
  for (const sql of MAY_SCAN) assert.ok(ran.has(sql), `an exemption for a statement the store still runs: ${sql}`);
  const file = path.join(tempDir(t), 'plans.db');
  await new SqliteStore({ file, now: NOW }).close();
  const db = new Database(file);
  t.after(() => db.close());
  const scans: string[] = [];
  for (const sql of ran) {
    if (/^\s*(BEGIN|COMMIT|ROLLBACK|PRAGMA|SELECT 1\s*$)/i.test(sql) || MAY_SCAN.has(sql)) continue;
    // Our SQL has no '?' but its placeholders; NULL for each lets SQLite plan it.
    const params = Array.from({ length: sql.split('?').length - 1 }, () => null);
    const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[];
    // A subquery in FROM that SQLite runs on its own (CO-ROUTINE t, MATERIALIZE t): scanning it reads
    // the rows it produced, whose own plan is checked as its lines.
    const subqueries = new Set(plan.map(({ detail }) => /^(?:CO-ROUTINE|MATERIALIZE) (\w+)$/.exec(detail)?.[1]));
    for (const { detail } of plan) {
      // The whole name (an index walked end to end reads every row's entry, so it scans too).
      const scanned = /^SCAN (\w+)(?!\w)/.exec(detail)?.[1];
      if (scanned !== undefined && !SMALL.has(scanned) && !subqueries.has(scanned)) scans.push(`${detail}\n    in: ${sql.replace(/\s+/g, ' ').trim()}`);
    }
  }
  assert.deepEqual(scans, []);
});

test('a device authorization is keyed by its hash: its rowid is the hash\'s first 52 bits, and an unkeyed row (a negative rowid) is still found', async (t) => {
  const file = path.join(tempDir(t), 'keyed.db');
  const store = new SqliteStore({ file, now: NOW });
  t.after(() => store.close());
  const b = await basics(store);
  const [keyed, older] = [device(b.env.id, b.client.clientId), device(b.env.id, b.client.clientId)];
  for (const d of [keyed, older]) assert.equal(await store.deviceAuthorizations.insert(d), 'ok');
  const db = new Database(file);
  t.after(() => db.close());
  const rowid = (id: string) => (db.prepare('SELECT rowid AS r FROM device_authorizations WHERE id = ?').get(id) as { r: number }).r;
  assert.equal(rowid(keyed.id), Number.parseInt(keyed.deviceCodeHash.slice(0, 13), 16));
  // A row from before rowids were keys, as the migration left it.
  db.prepare('UPDATE device_authorizations SET rowid = -7 WHERE id = ?').run(older.id);
  const as = { envId: b.env.id, clientId: b.client.clientId, slowDownStep: 5, now: NOW + 1000 };
  for (const d of [keyed, older]) {
    assert.deepEqual(await store.deviceAuthorizations.getByDeviceCodeHash(d.deviceCodeHash), d);
    assert.deepEqual(await store.deviceAuthorizations.poll(d.deviceCodeHash, as), { device: d, recorded: true });
  }
  assert.equal((await store.deviceAuthorizations.get(b.env.id, older.id))?.lastPolledAt, NOW + 1000, 'recorded by the rowid it has');
});
