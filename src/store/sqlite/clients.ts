// OAuth clients, including the clients the server makes for itself (the account client).
import type { Client } from '../../model/records.ts';
import type { ClientStore } from '../store.ts';
import { num, optStr, str, type Row, type SqliteDb } from './db.ts';

const toClient = (r: Row): Client => ({
  envId: str(r.env_id),
  clientId: str(r.client_id),
  name: str(r.name),
  type: r.type === 'confidential' ? 'confidential' : 'public',
  secretHash: optStr(r.secret_hash),
  grantTypes: JSON.parse(str(r.grant_types)) as string[],
  scopes: JSON.parse(str(r.scopes)) as string[],
  codeLifetime: num(r.code_lifetime),
  pollInterval: num(r.poll_interval),
  tokenLifetime: num(r.token_lifetime),
  audience: optStr(r.audience),
  purpose: r.purpose === 'account' ? 'account' : null,
  refresh: {
    always: r.refresh_always === 1,
    rotation: r.refresh_rotation === 1,
    idleSeconds: num(r.refresh_idle_seconds),
    absoluteSeconds: num(r.refresh_absolute_seconds),
  },
  createdAt: num(r.created_at),
});

export class SqliteClients implements ClientStore {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  create(c: Client): Promise<void> {
    return this.#db.async(() => {
      this.#db.insert(`INSERT INTO clients (env_id, client_id, name, type, secret_hash, grant_types, scopes, code_lifetime,
        poll_interval, token_lifetime, audience, purpose, refresh_always, refresh_rotation, refresh_idle_seconds,
        refresh_absolute_seconds, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      c.purpose === null ? `client ${c.clientId} exists` : `the environment already has its ${c.purpose} client`,
      c.envId, c.clientId, c.name, c.type, c.secretHash, JSON.stringify(c.grantTypes), JSON.stringify(c.scopes),
      c.codeLifetime, c.pollInterval, c.tokenLifetime, c.audience, c.purpose, c.refresh.always ? 1 : 0, c.refresh.rotation ? 1 : 0,
      c.refresh.idleSeconds, c.refresh.absoluteSeconds, c.createdAt);
    });
  }

  get(envId: string, clientId: string): Promise<Client | undefined> {
    return this.#db.async(() => this.#db.one(toClient, 'SELECT * FROM clients WHERE env_id = ? AND client_id = ?', envId, clientId));
  }

  getByPurpose(envId: string, purpose: NonNullable<Client['purpose']>): Promise<Client | undefined> {
    return this.#db.async(() => this.#db.one(toClient, 'SELECT * FROM clients WHERE env_id = ? AND purpose = ?', envId, purpose));
  }

  list(envId: string): Promise<Client[]> {
    return this.#db.async(() => this.#db.all('SELECT * FROM clients WHERE env_id = ? ORDER BY created_at, client_id', envId).map(toClient));
  }

  update(c: Client): Promise<boolean> {
    return this.#db.async(() => this.#db.run(`UPDATE clients SET name = ?, grant_types = ?, scopes = ?, code_lifetime = ?,
      poll_interval = ?, token_lifetime = ?, audience = ?, refresh_always = ?, refresh_rotation = ?, refresh_idle_seconds = ?,
      refresh_absolute_seconds = ? WHERE env_id = ? AND client_id = ?`,
    c.name, JSON.stringify(c.grantTypes), JSON.stringify(c.scopes), c.codeLifetime, c.pollInterval, c.tokenLifetime,
    c.audience, c.refresh.always ? 1 : 0, c.refresh.rotation ? 1 : 0, c.refresh.idleSeconds, c.refresh.absoluteSeconds,
    c.envId, c.clientId) === 1);
  }

  delete(envId: string, clientId: string): Promise<boolean> {
    return this.#db.async(() => this.#db.immediate(() => {
      if (this.#db.run('DELETE FROM clients WHERE env_id = ? AND client_id = ?', envId, clientId) === 0) return false;
      // Flows pointing at these rows keep only a dangling id; they fail at their next step.
      this.#db.run('DELETE FROM device_authorizations WHERE env_id = ? AND client_id = ?', envId, clientId);
      return true;
    }));
  }
}
