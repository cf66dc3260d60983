// A ceiling: the least a framework route can do for the same request, run as its own process so
// the load generator does not share its event loop. `node bench/ceiling.ts <kind> <dir>`:
//   constant       bare Fastify (+ @fastify/formbody) answering a constant JSON to a form POST
//   select-update  the same + one PK SELECT and one UPDATE of a random row among 100k (file database, WAL)
//   insert         the same + one INSERT per request (file database, WAL)
//   pg-update      bare Fastify + one PostgreSQL statement per request: UPDATE … RETURNING of a random
//                  row among 100k, on DATABASE_URL through a pool of DATABASE_POOL_SIZE, committed
//                  without waiting for the flush (as our poll's bookkeeping is): the least a poll on
//                  PostgreSQL can cost, since ours is that statement plus the client's lookup
// Announces {"port": n} on stdout once listening on 127.0.0.1; SIGTERM closes it.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import formbody from '@fastify/formbody';
import Database from 'better-sqlite3';
import Fastify from 'fastify';
import pg from 'pg';

/** The SQLite-side ceilings, run by the ceilings phase. */
export const CEILING_KINDS = ['constant', 'select-update', 'insert'] as const;
/** Every kind this file runs; `pg-update` is run by the postgres phase, on its server. */
export const ALL_CEILING_KINDS = [...CEILING_KINDS, 'pg-update'] as const;
export type CeilingKind = (typeof ALL_CEILING_KINDS)[number];
export const CEILING_ROWS = 100_000;

// Sizes like ours: a device authorization answer is ~330 bytes, a poll error ~110.
const ANSWER = {
  device_code: `dc_${'x'.repeat(43)}`,
  user_code: 'WDJB-MJHT',
  verification_uri: 'http://127.0.0.1:3000/device',
  verification_uri_complete: 'http://127.0.0.1:3000/device?user_code=WDJB-MJHT',
  expires_in: 600,
  interval: 5,
};

function openDb(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  return db;
}

const PENDING = { error: 'authorization_pending', error_description: 'the user has not yet approved the request' };

/** The pg-update ceiling's handler: one named statement per request on a pool, the table seeded first. */
async function postgresUpdate(url: string, poolSize: number): Promise<{ handle: () => Promise<unknown>; close: () => Promise<void> }> {
  // Per session, as our poll sets it per transaction: the UPDATE's commit does not wait for the flush.
  const pool = new pg.Pool({ connectionString: url, max: poolSize, options: '-c synchronous_commit=off' });
  await pool.query(`CREATE TABLE IF NOT EXISTS codes (id TEXT PRIMARY KEY, client_id TEXT NOT NULL, status TEXT NOT NULL,
    expires_at BIGINT NOT NULL, "interval" INTEGER NOT NULL, last_polled_at BIGINT)`);
  await pool.query('TRUNCATE codes');
  await pool.query(`INSERT INTO codes SELECT encode(sha256(i::text::bytea), 'hex'), 'client', 'pending', $1::bigint, 5, NULL
    FROM generate_series(0, $2::integer - 1) AS i`, [Date.now() + 3_600_000, CEILING_ROWS]);
  await pool.query('VACUUM ANALYZE codes');
  const ids = (await pool.query<{ id: string }>('SELECT id FROM codes')).rows.map((r) => r.id);
  return {
    handle: async () => {
      const id = ids[Math.floor(Math.random() * ids.length)] ?? '';
      await pool.query({ name: 'poll', text: 'UPDATE codes SET last_polled_at = $1 WHERE id = $2 RETURNING "interval", status', values: [Date.now(), id] });
      return PENDING;
    },
    close: () => pool.end(),
  };
}

async function main(kind: CeilingKind, dir: string): Promise<void> {
  const app = Fastify({ logger: false });
  await app.register(formbody);
  let handle: (body: Record<string, string>) => unknown = () => ANSWER;

  if (kind === 'select-update') {
    const db = openDb(path.join(dir, 'ceiling-select-update.db'));
    // Shaped like device_authorizations: a 64-hex TEXT key, the columns a poll reads and writes.
    db.exec(`CREATE TABLE IF NOT EXISTS codes (id TEXT PRIMARY KEY, client_id TEXT NOT NULL, status TEXT NOT NULL,
      expires_at INTEGER NOT NULL, interval INTEGER NOT NULL, last_polled_at INTEGER) STRICT`);
    const ids: string[] = [];
    const ins = db.prepare('INSERT INTO codes (id, client_id, status, expires_at, interval, last_polled_at) VALUES (?, ?, ?, ?, ?, NULL)');
    db.transaction(() => {
      for (let i = 0; i < CEILING_ROWS; i++) {
        const id = createHash('sha256').update(String(i)).digest('hex');
        ids.push(id);
        ins.run(id, 'client', 'pending', Date.now() + 3_600_000, 5);
      }
    })();
    const select = db.prepare('SELECT * FROM codes WHERE id = ?');
    const update = db.prepare('UPDATE codes SET last_polled_at = ?, interval = ? WHERE id = ?');
    handle = () => {
      const id = ids[Math.floor(Math.random() * ids.length)] ?? '';
      const row = select.get(id) as { interval: number } | undefined;
      update.run(Date.now(), row?.interval ?? 5, id);
      return PENDING;
    };
  } else if (kind === 'insert') {
    const db = openDb(path.join(dir, 'ceiling-insert.db'));
    db.exec(`CREATE TABLE IF NOT EXISTS items (id TEXT PRIMARY KEY, client_id TEXT NOT NULL, code_hash TEXT NOT NULL,
      created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL) STRICT`);
    const ins = db.prepare('INSERT INTO items (id, client_id, code_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)');
    handle = (body) => {
      const now = Date.now();
      ins.run(randomUUID(), body.client_id ?? '', randomBytes(32).toString('hex'), now, now + 600_000);
      return ANSWER;
    };
  } else if (kind === 'pg-update') {
    const url = process.env.DATABASE_URL;
    if (url === undefined) throw new Error('pg-update: DATABASE_URL is not set');
    const db = await postgresUpdate(url, Number(process.env.DATABASE_POOL_SIZE ?? '10'));
    app.addHook('onClose', db.close);
    app.post('/', async () => db.handle());
  }

  if (kind !== 'pg-update') app.post('/', (request, reply) => { void reply.send(handle((request.body ?? {}) as Record<string, string>)); });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address !== null ? address.port : 0 })}\n`);
  process.once('SIGTERM', () => {
    void app.close().then(() => { process.exit(0); });
  });
}

const [kind, dir] = process.argv.slice(2);
if (import.meta.main) {
  if (!(ALL_CEILING_KINDS as readonly string[]).includes(kind ?? '') || dir === undefined) {
    process.stderr.write(`usage: node bench/ceiling.ts <${ALL_CEILING_KINDS.join('|')}> <dir>\n`);
    process.exit(2);
  }
  await main(kind as CeilingKind, dir);
}
