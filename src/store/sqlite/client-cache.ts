// Clients kept in memory by a server instance on SQLite, so a token poll does not read its client's
// row each time (~8 % of a poll's CPU, bench/RESULTS.md). Other processes write the same file (the
// CLI's `client update`, `client delete`, a secret rewritten; anything in SQL), and SQLite says
// whether one has: `PRAGMA data_version` changes when another connection has committed since this
// one last asked. The cache asks it at the start of every group commit, where it costs nothing
// inside the transaction the commit opens anyway, and otherwise before a lookup once the last
// answer is older than RECHECK_MS; any change by another connection, whatever it touched, forgets
// every client. The store's own writes of a client forget that client at once. So a lookup sees a
// change by another process at most RECHECK_MS after its commit; under load, by the next group
// commit.
import type { Client } from '../../model/records.ts';

/** The longest a lookup trusts the last answer of `PRAGMA data_version`. */
export const RECHECK_MS = 10;
/** Entries kept at most (the oldest go first): bounded memory, whatever the number of clients. */
const MAX_ENTRIES = 10_000;

const keyOf = (envId: string, clientId: string): string => `${envId}\n${clientId}`;

export class SqliteClientCache {
  readonly #entries = new Map<string, Client>();
  /** Reads `PRAGMA data_version` on the store's connection (outside a transaction: a read of its own). */
  readonly #readVersion: () => number;
  #version: number | undefined;
  #checkedAt = Number.NEGATIVE_INFINITY;

  constructor(readVersion: () => number) {
    this.#readVersion = readVersion;
  }

  /** The connection's data_version, just read: when another connection has committed since the last one, nothing kept holds. */
  observe(version: number): void {
    if (version !== this.#version) {
      this.#entries.clear();
      this.#version = version;
    }
    this.#checkedAt = performance.now();
  }

  /** The client, from memory when nothing may have changed it; `read` otherwise (an unknown client is never kept). */
  get(envId: string, clientId: string, read: () => Client | undefined): Client | undefined {
    if (performance.now() - this.#checkedAt > RECHECK_MS) this.observe(this.#readVersion());
    const key = keyOf(envId, clientId);
    const kept = this.#entries.get(key);
    if (kept !== undefined) return kept;
    const client = read();
    if (client !== undefined) {
      if (this.#entries.size >= MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value ?? '');
      this.#entries.set(key, client);
    }
    return client;
  }

  /** After the store's own write of a client. */
  forget(envId: string, clientId: string): void {
    this.#entries.delete(keyOf(envId, clientId));
  }

  get size(): number {
    return this.#entries.size;
  }
}
