// Clients kept in memory by a server instance on SQLite, so a token poll does not read its client's
// row each time (~8 % of a poll's CPU, bench/RESULTS.md). Other processes write the same file (the
// CLI's `client update`, `client delete`, a secret rewritten; anything in SQL), and SQLite says
// whether one has: `PRAGMA data_version` changes when another connection has committed since this
// one last asked. The store's connection reads it at the start of every transaction it begins (the
// turn's read transaction, a group commit, an IMMEDIATE one: SqliteDb.onVersion), and a lookup
// begins the turn's read transaction first; any change by another connection, whatever it touched,
// forgets every client. The store's own writes of a client forget that client at once. So a lookup
// is never older than the snapshot the turn reads: a change by another process is seen from the
// next event-loop turn after its commit.
import type { Client } from '../../model/records.ts';

/** Entries kept at most (the oldest go first): bounded memory, whatever the number of clients. */
const MAX_ENTRIES = 10_000;

const keyOf = (envId: string, clientId: string): string => `${envId}\n${clientId}`;

export class SqliteClientCache {
  readonly #entries = new Map<string, Client>();
  #version: number | undefined;

  /** The connection's data_version at a transaction's start: when another connection has committed since the last one, nothing kept holds. */
  observe(version: number): void {
    if (version === this.#version) return;
    this.#entries.clear();
    this.#version = version;
  }

  /** The client, from memory when nothing may have changed it; `read` otherwise (an unknown client is never kept). */
  get(envId: string, clientId: string, read: () => Client | undefined): Client | undefined {
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
