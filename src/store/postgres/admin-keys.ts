// RSA-style admin API keys: only the public half is stored.
import type { AdminKey } from '../../model/records.ts';
import type { AdminKeyStore } from '../store.ts';
import { type PgDb } from './db.ts';
import { toAdminKey } from '../rows.ts';

const COLUMNS = 'access_id, env_id, description, role, public_key, created_at, revoked_at';


export class PgAdminKeys implements AdminKeyStore {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  create(k: AdminKey): Promise<void> {
    return this.#db.insert({
      text: `INSERT INTO admin_keys (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      values: [k.accessId, k.envId, k.description, k.role, k.publicKeyPem, k.createdAt, k.revokedAt],
    }, `admin key ${k.accessId} exists`);
  }

  get(accessId: string): Promise<AdminKey | undefined> {
    return this.#db.one(toAdminKey, { name: 'admin_key_get', text: `SELECT ${COLUMNS} FROM admin_keys WHERE access_id = $1`, values: [accessId] });
  }

  list(envId: string): Promise<AdminKey[]> {
    return this.#db.all(toAdminKey, {
      text: `SELECT ${COLUMNS} FROM admin_keys WHERE env_id = $1 ORDER BY created_at, access_id COLLATE "C"`, values: [envId],
    });
  }

  revoke(envId: string, accessId: string, now: number): Promise<AdminKey | undefined> {
    return this.#db.one(toAdminKey, {
      text: `UPDATE admin_keys SET revoked_at = coalesce(revoked_at, $1) WHERE env_id = $2 AND access_id = $3 RETURNING ${COLUMNS}`,
      values: [now, envId, accessId],
    });
  }
}
