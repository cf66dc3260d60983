// OAuth clients, including the clients the server makes for itself (the account client).
import type { Client } from '../../model/records.ts';
import type { ClientStore } from '../store.ts';
import { CLIENT_CHANNEL, clientChangeKey, type ClientCache } from './client-cache.ts';
import { type PgDb } from './db.ts';
import { listColumn, toClient } from '../rows.ts';

// Named columns, never `*`, in prepared statements: a column a later migration adds (by another
// instance, while this one runs) would otherwise change the result type of a cached plan.
const COLUMNS = `env_id, client_id, name, type, secret_hash, grant_types, scopes, code_lifetime, poll_interval, token_lifetime,
  audience, purpose, refresh_always, refresh_rotation, refresh_idle_seconds, refresh_absolute_seconds, device_networks, device_scopes,
  same_network, created_at`;

/** device_networks, device_scopes, same_network. */
const policyColumns = (c: Client): [string | null, string | null, boolean] =>
  [listColumn(c.devicePolicy.networks), listColumn(c.devicePolicy.scopes), c.devicePolicy.sameNetwork];


/** A statement that announces the change `write` makes to the client `key` (in its transaction), returning a row per row written. */
const announced = (write: string, keyParam: string): string =>
  `WITH written AS (${write} RETURNING 1) SELECT pg_notify('${CLIENT_CHANNEL}', ${keyParam}) FROM written`;

export class PgClients implements ClientStore {
  readonly #db: PgDb;
  /** Set on a server instance (not for one CLI command): lookups answered from memory (client-cache.ts). */
  readonly #cache: ClientCache | undefined;

  constructor(db: PgDb, cache?: ClientCache) {
    this.#db = db;
    this.#cache = cache;
  }

  create(c: Client): Promise<void> {
    return this.#db.insert({
      text: `INSERT INTO clients (${COLUMNS})
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`,
      values: [c.envId, c.clientId, c.name, c.type, c.secretHash, JSON.stringify(c.grantTypes), JSON.stringify(c.scopes),
        c.codeLifetime, c.pollInterval, c.tokenLifetime, c.audience, c.purpose, c.refresh.always, c.refresh.rotation,
        c.refresh.idleSeconds, c.refresh.absoluteSeconds, ...policyColumns(c), c.createdAt],
    }, c.purpose === null ? `client ${c.clientId} exists` : `the environment already has its ${c.purpose} client`);
  }

  /** Whether lookups are answered from memory now (a cache is set and hears of changes). */
  get cached(): boolean {
    return this.#cache?.listening ?? false;
  }

  get(envId: string, clientId: string): Promise<Client | undefined> {
    const read = () => this.#db.one(toClient, {
      name: 'client_get', text: `SELECT ${COLUMNS} FROM clients WHERE env_id = $1 AND client_id = $2`, values: [envId, clientId],
    });
    return this.#cache === undefined ? read() : this.#cache.get(envId, clientId, read);
  }

  getByPurpose(envId: string, purpose: NonNullable<Client['purpose']>): Promise<Client | undefined> {
    return this.#db.one(toClient, { text: `SELECT ${COLUMNS} FROM clients WHERE env_id = $1 AND purpose = $2`, values: [envId, purpose] });
  }

  list(envId: string): Promise<Client[]> {
    return this.#db.all(toClient, { text: `SELECT ${COLUMNS} FROM clients WHERE env_id = $1 ORDER BY created_at, client_id COLLATE "C"`, values: [envId] });
  }

  async update(c: Client): Promise<boolean> {
    return this.#written(c.envId, c.clientId, await this.#db.run({
      text: announced(`UPDATE clients SET name = $1, grant_types = $2, scopes = $3, code_lifetime = $4, poll_interval = $5, token_lifetime = $6,
        audience = $7, refresh_always = $8, refresh_rotation = $9, refresh_idle_seconds = $10, refresh_absolute_seconds = $11,
        device_networks = $12, device_scopes = $13, same_network = $14 WHERE env_id = $15 AND client_id = $16`, '$17'),
      values: [c.name, JSON.stringify(c.grantTypes), JSON.stringify(c.scopes), c.codeLifetime, c.pollInterval, c.tokenLifetime,
        c.audience, c.refresh.always, c.refresh.rotation, c.refresh.idleSeconds, c.refresh.absoluteSeconds, ...policyColumns(c),
        c.envId, c.clientId, clientChangeKey(c.envId, c.clientId)],
    }) === 1);
  }

  async setSecretHash(envId: string, clientId: string, from: string, to: string): Promise<boolean> {
    return this.#written(envId, clientId, await this.#db.run({
      text: announced('UPDATE clients SET secret_hash = $1 WHERE env_id = $2 AND client_id = $3 AND secret_hash = $4', '$5'),
      values: [to, envId, clientId, from, clientChangeKey(envId, clientId)],
    }) === 1);
  }

  async delete(envId: string, clientId: string): Promise<boolean> {
    return this.#written(envId, clientId, await this.#db.transaction(async (tx) => {
      const deleted = await tx.run({
        text: announced('DELETE FROM clients WHERE env_id = $1 AND client_id = $2', '$3'), values: [envId, clientId, clientChangeKey(envId, clientId)],
      });
      if (deleted === 0) return false;
      // Flows pointing at these rows keep only a dangling id; they fail at their next step.
      await tx.run({ text: 'DELETE FROM device_authorizations WHERE env_id = $1 AND client_id = $2', values: [envId, clientId] });
      return true;
    }));
  }

  /** After a committed write: this instance reads its own change at once (the others when they hear it). */
  #written(envId: string, clientId: string, changed: boolean): boolean {
    if (changed) this.#cache?.forget(envId, clientId);
    return changed;
  }
}
