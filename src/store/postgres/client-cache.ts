// Clients kept in memory by a server instance on PostgreSQL, so a token poll is one round trip (the
// poll's statement) instead of two (the client's lookup first). Every change of a client by any
// process (another instance, the CLI) is announced with NOTIFY on CLIENT_CHANNEL in the
// transaction that makes it; each instance LISTENs on a connection of its own and forgets what
// changed as the notification arrives. While that connection is down (a restart, a lost network),
// nothing is cached and every lookup reads the database; when it is back the cache starts empty.
// A change made without NOTIFY (an edit in SQL by hand) is seen within CLIENT_CACHE_SECONDS.
import type pg from 'pg';
import type { Client } from '../../model/records.ts';

/** The channel client changes are announced on; the payload is clientChangeKey(envId, clientId), or `*` for every client. */
export const CLIENT_CHANNEL = 'dcs_clients';
/** The longest an instance answers from a client it read, if it hears of no change. */
export const CLIENT_CACHE_SECONDS = 60;
/** Entries kept at most (the oldest go first): bounded memory, whatever the number of clients. */
const MAX_ENTRIES = 10_000;
/** Wait between attempts to listen again after the listening connection is lost. */
const RELISTEN_MS = 1_000;
/**
 * How often the listening connection is asked to answer, and how long it has to: a connection to a
 * host that vanished without closing it (a failover to another address, a partition) would
 * otherwise look alive while hearing nothing, and clients would be kept for CLIENT_CACHE_SECONDS.
 */
const HEARTBEAT = { everyMs: 10_000, timeoutMs: 5_000 };

/** A client's key in the cache and in notifications. */
export const clientChangeKey = (envId: string, clientId: string): string => JSON.stringify([envId, clientId]);

interface Entry {
  client: Client;
  until: number;
}

export class ClientCache {
  readonly #connect: () => Promise<pg.Client>;
  readonly #heartbeatEvery: number;
  readonly #heartbeatTimeout: number;
  readonly #entries = new Map<string, Entry>();
  #listener: pg.Client | undefined;
  #listening = false;
  /** Bumped by every change heard and every loss of the listener: a read that began before one is not kept. */
  #generation = 0;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;

  /** `connect` opens a connection of its own (not from the pool: it stays checked out for LISTEN). */
  constructor(connect: () => Promise<pg.Client>, heartbeat: { everyMs: number; timeoutMs: number } = HEARTBEAT) {
    this.#connect = connect;
    this.#heartbeatEvery = heartbeat.everyMs;
    this.#heartbeatTimeout = heartbeat.timeoutMs;
  }

  /** Whether changes are being heard, so cached clients are used. */
  get listening(): boolean {
    return this.#listening;
  }

  /** Starts listening; failures are retried in the background (the cache is bypassed meanwhile). */
  start(): void {
    void this.#listen();
  }

  async #listen(): Promise<void> {
    this.#retry = undefined;
    if (this.#closed) return;
    let client: pg.Client | undefined;
    try {
      client = await this.#connect();
      if (this.#isClosed()) {
        await client.end().catch(() => undefined);
        return;
      }
      this.#listener = client;
      client.on('notification', (n) => { this.#changed(n.payload ?? '*'); });
      client.on('error', () => { this.#lost(client); });
      client.on('end', () => { this.#lost(client); });
      await client.query(`LISTEN ${CLIENT_CHANNEL}`);
      if (this.#isClosed() || this.#listener !== client) return;
      // Whatever changed while nobody listened: start from nothing.
      this.#changed('*');
      this.#listening = true;
      const listener = client;
      this.#heartbeat = setInterval(() => {
        const silent = setTimeout(() => { this.#lost(listener); }, this.#heartbeatTimeout).unref();
        listener.query('SELECT 1').then(() => { clearTimeout(silent); }, () => { clearTimeout(silent); this.#lost(listener); });
      }, this.#heartbeatEvery).unref();
    } catch {
      this.#lost(client);
    }
  }

  /** Read afresh after an await (close() may have run meanwhile). */
  #isClosed(): boolean {
    return this.#closed;
  }

  #lost(client: pg.Client | undefined): void {
    if (client !== undefined && this.#listener !== client) return;
    this.#listener = undefined;
    this.#listening = false;
    clearInterval(this.#heartbeat);
    this.#changed('*');
    if (client !== undefined) void client.end().catch(() => undefined);
    if (!this.#closed && this.#retry === undefined) this.#retry = setTimeout(() => { void this.#listen(); }, RELISTEN_MS);
  }

  /** This instance changed the client: forgotten at once, before the announcement comes back. */
  forget(envId: string, clientId: string): void {
    this.#changed(clientChangeKey(envId, clientId));
  }

  #changed(key: string): void {
    this.#generation++;
    if (key === '*') this.#entries.clear();
    else this.#entries.delete(key);
  }

  /** The client from memory when it is there and fresh, else `read()`'s answer, kept if nothing changed meanwhile. */
  async get(envId: string, clientId: string, read: () => Promise<Client | undefined>): Promise<Client | undefined> {
    if (!this.#listening) return read();
    const key = clientChangeKey(envId, clientId);
    const now = performance.now();
    const hit = this.#entries.get(key);
    if (hit !== undefined && hit.until > now) return hit.client;
    const generation = this.#generation;
    const client = await read();
    // Unknown clients are not kept: invented ids cannot fill the cache, and a new client needs no announcement.
    // A change heard, or the listener lost, while reading: the answer may be older than that.
    if (client === undefined || generation !== this.#generation) return client;
    if (hit === undefined && this.#entries.size >= MAX_ENTRIES) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.delete(key);
    this.#entries.set(key, { client: freeze(client), until: now + CLIENT_CACHE_SECONDS * 1000 });
    return client;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    clearInterval(this.#heartbeat);
    this.#listening = false;
    this.#entries.clear();
    const client = this.#listener;
    this.#listener = undefined;
    if (client !== undefined) await client.end().catch(() => undefined);
  }
}

/** One object answers many requests: none of them may change it. */
function freeze(client: Client): Client {
  Object.freeze(client.grantTypes);
  Object.freeze(client.scopes);
  Object.freeze(client.refresh);
  Object.freeze(client.devicePolicy);
  if (client.devicePolicy.networks !== null) Object.freeze(client.devicePolicy.networks);
  if (client.devicePolicy.scopes !== null) Object.freeze(client.devicePolicy.scopes);
  return Object.freeze(client);
}
