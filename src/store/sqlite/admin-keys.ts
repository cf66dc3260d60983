// RSA-style admin API keys: only the public half is stored.
import type { AdminKey } from '../../model/records.ts';
import type { AdminKeyStore } from '../store.ts';
import { type SqliteDb } from './db.ts';
import { toAdminKey } from '../rows.ts';


export class SqliteAdminKeys implements AdminKeyStore {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  create(k: AdminKey): Promise<void> {
    return this.#db.async(() => {
      this.#db.insert(`INSERT INTO admin_keys (access_id, env_id, description, role, public_key, created_at, revoked_at)
        VALUES (?, ?, ?, ?, ?, ?, ?)`, `admin key ${k.accessId} exists`,
      k.accessId, k.envId, k.description, k.role, k.publicKeyPem, k.createdAt, k.revokedAt);
    });
  }

  get(accessId: string): Promise<AdminKey | undefined> {
    return this.#db.async(() => this.#db.one(toAdminKey, 'SELECT * FROM admin_keys WHERE access_id = ?', accessId));
  }

  list(envId: string): Promise<AdminKey[]> {
    return this.#db.async(() => this.#db.all('SELECT * FROM admin_keys WHERE env_id = ? ORDER BY created_at, access_id', envId).map(toAdminKey));
  }

  revoke(envId: string, accessId: string, now: number): Promise<AdminKey | undefined> {
    return this.#db.async(() => this.#db.one(toAdminKey,
      'UPDATE admin_keys SET revoked_at = coalesce(revoked_at, ?) WHERE env_id = ? AND access_id = ? RETURNING *',
      now, envId, accessId));
  }
}
