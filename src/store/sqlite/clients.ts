// OAuth clients, including the clients the server makes for itself (the account client).
import type { Client } from '../../model/records.ts';
import type { ClientStore } from '../store.ts';
import type { SqliteClientCache } from './client-cache.ts';
import { type SqliteDb } from './db.ts';
import { listColumn, toClient } from '../rows.ts';

/** device_networks, device_scopes, same_network. */
function policyColumns(c: Client): [string | null, string | null, number] {
  return [listColumn(c.devicePolicy.networks), listColumn(c.devicePolicy.scopes), c.devicePolicy.sameNetwork ? 1 : 0];
}

export class SqliteClients implements ClientStore {
  readonly #db: SqliteDb;
  /** A server instance's clients in memory (client-cache.ts); none for a CLI command. */
  readonly #cache: SqliteClientCache | undefined;

  constructor(db: SqliteDb, cache?: SqliteClientCache) {
    this.#db = db;
    this.#cache = cache;
  }

  create(c: Client): Promise<void> {
    return this.#db.async(() => {
      this.#db.insert(`INSERT INTO clients (env_id, client_id, name, type, secret_hash, grant_types, scopes, code_lifetime,
        poll_interval, token_lifetime, audience, purpose, refresh_always, refresh_rotation, refresh_idle_seconds,
        refresh_absolute_seconds, device_networks, device_scopes, same_network, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      c.purpose === null ? `client ${c.clientId} exists` : `the environment already has its ${c.purpose} client`,
      c.envId, c.clientId, c.name, c.type, c.secretHash, JSON.stringify(c.grantTypes), JSON.stringify(c.scopes),
      c.codeLifetime, c.pollInterval, c.tokenLifetime, c.audience, c.purpose, c.refresh.always ? 1 : 0, c.refresh.rotation ? 1 : 0,
      c.refresh.idleSeconds, c.refresh.absoluteSeconds, ...policyColumns(c), c.createdAt);
    });
  }

  get(envId: string, clientId: string): Promise<Client | undefined> {
    const read = () => this.#db.one(toClient, 'SELECT * FROM clients WHERE env_id = ? AND client_id = ?', envId, clientId);
    const cache = this.#cache;
    if (cache === undefined) return this.#db.async(read);
    // The turn's snapshot first: beginning it tells the cache whether another connection has committed.
    return this.#db.async(() => { this.#db.snapshot(); return cache.get(envId, clientId, read); });
  }

  getByPurpose(envId: string, purpose: NonNullable<Client['purpose']>): Promise<Client | undefined> {
    return this.#db.async(() => this.#db.one(toClient, 'SELECT * FROM clients WHERE env_id = ? AND purpose = ?', envId, purpose));
  }

  list(envId: string): Promise<Client[]> {
    return this.#db.async(() => this.#db.all('SELECT * FROM clients WHERE env_id = ? ORDER BY created_at, client_id', envId).map(toClient));
  }

  update(c: Client): Promise<boolean> {
    return this.#db.async(() => this.#written(c.envId, c.clientId, this.#db.run(`UPDATE clients SET name = ?, grant_types = ?, scopes = ?, code_lifetime = ?,
      poll_interval = ?, token_lifetime = ?, audience = ?, refresh_always = ?, refresh_rotation = ?, refresh_idle_seconds = ?,
      refresh_absolute_seconds = ?, device_networks = ?, device_scopes = ?, same_network = ? WHERE env_id = ? AND client_id = ?`,
    c.name, JSON.stringify(c.grantTypes), JSON.stringify(c.scopes), c.codeLifetime, c.pollInterval, c.tokenLifetime,
    c.audience, c.refresh.always ? 1 : 0, c.refresh.rotation ? 1 : 0, c.refresh.idleSeconds, c.refresh.absoluteSeconds,
    ...policyColumns(c), c.envId, c.clientId) === 1));
  }

  setSecretHash(envId: string, clientId: string, from: string, to: string): Promise<boolean> {
    return this.#db.async(() => this.#written(envId, clientId, this.#db.run(
      'UPDATE clients SET secret_hash = ? WHERE env_id = ? AND client_id = ? AND secret_hash = ?', to, envId, clientId, from,
    ) === 1));
  }

  delete(envId: string, clientId: string): Promise<boolean> {
    return this.#db.async(() => this.#written(envId, clientId, this.#db.immediate(() => {
      if (this.#db.run('DELETE FROM clients WHERE env_id = ? AND client_id = ?', envId, clientId) === 0) return false;
      // Flows pointing at these rows keep only a dangling id; they fail at their next step.
      this.#db.run('DELETE FROM device_authorizations WHERE env_id = ? AND client_id = ?', envId, clientId);
      return true;
    })));
  }

  /** After a committed write: this store reads its own change at once. */
  #written(envId: string, clientId: string, changed: boolean): boolean {
    if (changed) this.#cache?.forget(envId, clientId);
    return changed;
  }
}
