// Access tokens revoked before they expire (RFC 7009), remembered by jti until then.
import type { RevokedAccessTokenStore } from '../store.ts';
import type { SqliteDb } from './db.ts';

export class SqliteRevokedAccessTokens implements RevokedAccessTokenStore {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  add(jti: string, envId: string, expiresAt: number): Promise<void> {
    return this.#db.async(() => {
      this.#db.run('INSERT INTO revoked_access_tokens (jti, env_id, expires_at) VALUES (?, ?, ?) ON CONFLICT (jti) DO NOTHING', jti, envId, expiresAt);
    });
  }

  has(jti: string): Promise<boolean> {
    return this.#db.async(() => this.#db.get('SELECT 1 FROM revoked_access_tokens WHERE jti = ?', jti) !== undefined);
  }
}
