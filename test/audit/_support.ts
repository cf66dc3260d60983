// A receiver of the audit webhook for tests: a node:http server on 127.0.0.1 that keeps every POST
// it is sent (raw body, signature, what it answered) and answers as the test says: a status, a
// dropped connection, or no answer at all. It checks signatures the way a real receiver must
// (src/audit/webhook.ts): HMAC-SHA-256 over "<t>.<raw body>" with the shared secret, compared in
// constant time, and `t` recent, so an old request cannot be replayed.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { TestContext } from 'node:test';

export const SECRET = 'receiver-shared-secret-0123456789';

/** The wire shape of one event (core/audit.ts auditEventJson). */
export interface EventJson {
  id: string;
  time: string;
  environment_id: string;
  type: string;
  actor: string | null;
  subject: string | null;
  outcome: string;
  source: Record<string, unknown> | null;
  details: Record<string, unknown>;
}

/** How the receiver answers one POST: a status, a connection closed without an answer, or none ever. */
export type Answer = number | 'drop' | 'hang';

export interface Arrival {
  path: string;
  raw: string;
  signature: string | undefined;
  contentType: string | undefined;
  events: EventJson[];
  /** What it was answered. */
  answer: Answer;
}

export interface Receiver {
  url: string;
  port: number;
  arrivals: Arrival[];
  /** Decides each answer (default 204); may wait, e.g. to hold two deliveries in flight together. */
  respond: (arrival: Arrival) => Answer | Promise<Answer>;
  /** Called with each arrival as it comes, before it is answered. */
  onArrival: ((arrival: Arrival) => void) | undefined;
  /** Events of the POSTs answered 2xx, in the order they arrived: what counts as delivered. */
  delivered(): EventJson[];
  /** Closes the server and every connection, including held ones. */
  close(): Promise<void>;
}

export const isOk = (a: Answer): boolean => typeof a === 'number' && a >= 200 && a < 300;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => { resolve(Buffer.concat(chunks).toString('utf8')); });
    req.on('error', reject);
  });
}

/** Listens on 127.0.0.1 (`port`, or an ephemeral one); closed when the test ends. */
export async function startReceiver(t: TestContext, port = 0): Promise<Receiver> {
  const arrivals: Arrival[] = [];
  let server: Server | undefined;
  const receiver: Receiver = {
    url: '',
    port: 0,
    arrivals,
    respond: () => 204,
    onArrival: undefined,
    delivered: () => arrivals.filter((a) => isOk(a.answer)).flatMap((a) => a.events),
    close: async () => {
      const s = server;
      server = undefined;
      if (s === undefined) return;
      const closed = new Promise<void>((resolve) => s.close(() => { resolve(); }));
      s.closeAllConnections();
      await closed;
    },
  };
  server = createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      const header = req.headers['dcs-signature'];
      const arrival: Arrival = {
        path: req.url ?? '',
        raw,
        signature: Array.isArray(header) ? header.join(',') : header,
        contentType: req.headers['content-type'],
        events: (JSON.parse(raw) as { events: EventJson[] }).events,
        answer: 'hang',
      };
      arrivals.push(arrival);
      receiver.onArrival?.(arrival);
      const answer = await receiver.respond(arrival);
      arrival.answer = answer;
      if (answer === 'hang') return;
      if (answer === 'drop') {
        req.socket.destroy();
        return;
      }
      // A 3xx points elsewhere on this receiver, so a followed redirect would show as an arrival there.
      const location = answer >= 300 && answer < 400 ? { location: '/elsewhere' } : {};
      res.writeHead(answer, { 'content-type': 'text/plain', ...location }).end(isOk(answer) ? '' : 'not now');
    })().catch((err: unknown) => {
      res.writeHead(500).end(String(err));
    });
  });
  const s = server;
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => { resolve(); });
  });
  const address = s.address();
  if (address === null || typeof address !== 'object') throw new Error('no address');
  receiver.port = address.port;
  receiver.url = `http://127.0.0.1:${address.port}/audit-hook`;
  t.after(() => receiver.close());
  return receiver;
}

/**
 * What a receiver does with `Dcs-Signature: t=<unix seconds>,v1=<hex>`: recompute the HMAC over
 * "<t>.<raw body>" with its secret, compare in constant time, and refuse a `t` more than
 * `toleranceSeconds` from its own clock (a replayed old request).
 */
export function verifySignature(secret: string, header: string | undefined, raw: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  if (header === undefined) return false;
  const parts = new Map(header.split(',').map((p) => {
    const i = p.indexOf('=');
    return [p.slice(0, i).trim(), p.slice(i + 1).trim()] as const;
  }));
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1') ?? '';
  if (!Number.isInteger(t) || !/^[0-9a-f]{64}$/.test(v1)) return false;
  if (Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${raw}`).digest();
  return timingSafeEqual(expected, Buffer.from(v1, 'hex'));
}

/** Each environment's events in the order given. */
export function byEnvironment<T extends { environment_id: string } | { envId: string }>(events: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const e of events) {
    const env = 'environment_id' in e ? e.environment_id : e.envId;
    const list = out.get(env) ?? [];
    list.push(e);
    out.set(env, list);
  }
  return out;
}

/** The first arrival of each id, in arrival order (delivery is at least once). */
export function firstArrivals(events: readonly EventJson[]): EventJson[] {
  const seen = new Set<string>();
  return events.filter((e) => (seen.has(e.id) ? false : (seen.add(e.id), true)));
}
