// Access tokens revoked before they expire (RFC 7009), remembered by jti until then.
import type { RevokedAccessTokenStore } from '../store.ts';
import type { PgDb } from './db.ts';

export class PgRevokedAccessTokens implements RevokedAccessTokenStore {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  async add(jti: string, envId: string, expiresAt: number): Promise<void> {
    await this.#db.run({
      text: 'INSERT INTO revoked_access_tokens (jti, env_id, expires_at) VALUES ($1, $2, $3) ON CONFLICT (jti) DO NOTHING',
      values: [jti, envId, expiresAt],
    });
  }

  async has(jti: string): Promise<boolean> {
    return await this.#db.get({ name: 'revoked_access_token_has', text: 'SELECT 1 FROM revoked_access_tokens WHERE jti = $1', values: [jti] })
      !== undefined;
  }
}
