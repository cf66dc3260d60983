// Refresh tokens (RFC 6749 §6), stored as keyed hashes. Rotation is one transaction whose first
// statement is a conditional UPDATE: of two refreshes with one token, one rotates it, the other
// finds it rotated (and is treated as reuse by the engine).
import type { Grant, RefreshTokenRecord } from '../../model/records.ts';
import type { RefreshTokenStore } from '../store.ts';
import { num, optNum, str, type Row, type SqliteDb } from './db.ts';
import { toGrant } from '../rows.ts';

const toToken = (r: Row): RefreshTokenRecord => ({
  tokenHash: str(r.token_hash),
  grantId: str(r.grant_id),
  status: r.status === 'rotated' || r.status === 'superseded' ? r.status : 'active',
  createdAt: num(r.created_at),
  rotatedAt: optNum(r.rotated_at),
});

export class SqliteRefreshTokens implements RefreshTokenStore {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  find(tokenHash: string): Promise<{ token: RefreshTokenRecord; grant: Grant } | undefined> {
    return this.#db.async(() => {
      const token = this.#db.one(toToken, 'SELECT * FROM refresh_tokens WHERE token_hash = ?', tokenHash);
      const grant = token && this.#db.one(toGrant, 'SELECT * FROM grants WHERE id = ?', token.grantId);
      return token && grant ? { token, grant } : undefined;
    });
  }

  /**
   * The grant check is a correlated EXISTS, a lookup of its primary key: written `grant_id IN
   * (SELECT id FROM grants WHERE …)` SQLite built the list of every live grant on each rotation.
   */
  rotate(tokenHash: string, nextHash: string, now: number, idleExpiresAt: number): Promise<boolean> {
    return this.#db.async(() => this.#db.immediate(() => {
      const rotated = this.#db.one(toToken, `UPDATE refresh_tokens SET status = 'rotated', rotated_at = ?
        WHERE token_hash = ? AND status = 'active'
          AND EXISTS (SELECT 1 FROM grants WHERE grants.id = refresh_tokens.grant_id AND revoked_at IS NULL) RETURNING *`, now, tokenHash);
      if (!rotated) return false;
      this.#insertActive(rotated.grantId, nextHash, now, idleExpiresAt);
      return true;
    }));
  }

  reissue(grantId: string, nextHash: string, now: number, idleExpiresAt: number): Promise<boolean> {
    return this.#db.async(() => this.#db.immediate(() => {
      if (!this.#db.get('SELECT 1 FROM grants WHERE id = ? AND revoked_at IS NULL', grantId)) return false;
      this.#db.run(`UPDATE refresh_tokens SET status = 'superseded', rotated_at = ? WHERE grant_id = ? AND status = 'active'`, now, grantId);
      this.#insertActive(grantId, nextHash, now, idleExpiresAt);
      return true;
    }));
  }

  touch(grantId: string, now: number, idleExpiresAt: number): Promise<boolean> {
    return this.#db.async(() => this.#db.run(
      'UPDATE grants SET last_used_at = ?, idle_expires_at = ? WHERE id = ? AND revoked_at IS NULL', now, idleExpiresAt, grantId) === 1);
  }

  #insertActive(grantId: string, hash: string, now: number, idleExpiresAt: number): void {
    this.#db.run(`INSERT INTO refresh_tokens (token_hash, grant_id, status, created_at, rotated_at) VALUES (?, ?, 'active', ?, NULL)`,
      hash, grantId, now);
    this.#db.run('UPDATE grants SET last_used_at = ?, idle_expires_at = ? WHERE id = ?', now, idleExpiresAt, grantId);
  }
}
