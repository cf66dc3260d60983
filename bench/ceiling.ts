// A ceiling: the least a framework route can do for the same request, run as its own process so
// the load generator does not share its event loop. `node bench/ceiling.ts <kind> <dir>`:
//   constant       bare Fastify (+ @fastify/formbody) answering a constant JSON to a form POST
//   select-update  the same + one PK SELECT and one UPDATE of a random row among 100k (file database, WAL)
//   insert         the same + one INSERT per request (file database, WAL)
// Announces {"port": n} on stdout once listening on 127.0.0.1; SIGTERM closes it.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import formbody from '@fastify/formbody';
import Database from 'better-sqlite3';
import Fastify from 'fastify';

export const CEILING_KINDS = ['constant', 'select-update', 'insert'] as const;
export type CeilingKind = (typeof CEILING_KINDS)[number];
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
      return { error: 'authorization_pending', error_description: 'the user has not yet approved the request' };
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
  }

  app.post('/', (request, reply) => { void reply.send(handle((request.body ?? {}) as Record<string, string>)); });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address !== null ? address.port : 0 })}\n`);
  process.once('SIGTERM', () => {
    void app.close().then(() => { process.exit(0); });
  });
}

const [kind, dir] = process.argv.slice(2);
if (import.meta.main) {
  if (!CEILING_KINDS.includes(kind as CeilingKind) || dir === undefined) {
    process.stderr.write(`usage: node bench/ceiling.ts <${CEILING_KINDS.join('|')}> <dir>\n`);
    process.exit(2);
  }
  await main(kind as CeilingKind, dir);
}
