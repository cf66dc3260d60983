// Refresh tokens (RFC 6749 §6, rotated as RFC 9700 §4.14 asks), stored as keyed hashes. Rotation
// is one transaction whose first statement is a conditional UPDATE: of two refreshes with one
// token, one rotates it, the other finds it rotated (and is treated as reuse by the engine).
import type { Grant, RefreshTokenRecord, RequestContext } from '../../model/records.ts';
import type { AuditOf, RefreshTokenStore } from '../store.ts';
import { appendAudit, audited } from './audit.ts';
import { contextJson, str, toRefreshTokenAndGrant } from '../rows.ts';
import type { SqliteDb } from './db.ts';

export class SqliteRefreshTokens implements RefreshTokenStore {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  /**
   * The token is read in a subquery that LIMIT keeps SQLite from flattening into the join: the
   * flattened join took ~3x as long as this for the same two rows (bench/RESULTS.md, "The refresh
   * token's lookup").
   */
  find(tokenHash: string): Promise<{ token: RefreshTokenRecord; grant: Grant } | undefined> {
    return this.#db.async(() => this.#db.one(toRefreshTokenAndGrant, `SELECT t.token_hash, t.grant_id, t.status AS token_status,
      t.created_at AS token_created_at, t.rotated_at, g.* FROM (SELECT * FROM refresh_tokens WHERE token_hash = ? LIMIT 1) t
      JOIN grants g ON g.id = t.grant_id`,
    tokenHash));
  }

  /**
   * The grant check is a correlated EXISTS, a lookup of its primary key: written `grant_id IN
   * (SELECT id FROM grants WHERE …)` SQLite built the list of every live grant on each rotation.
   */
  rotate(tokenHash: string, nextHash: string, now: number, idleExpiresAt: number, from: RequestContext | null, audit?: AuditOf<true>): Promise<boolean> {
    return this.#db.groupedAtomic(() => {
      const rotated = this.#db.get(`UPDATE refresh_tokens SET status = 'rotated', rotated_at = ?
        WHERE token_hash = ? AND status = 'active'
          AND EXISTS (SELECT 1 FROM grants WHERE grants.id = refresh_tokens.grant_id AND revoked_at IS NULL) RETURNING grant_id`, now, tokenHash);
      if (!rotated) return false;
      this.#insertActive(str(rotated.grant_id), nextHash, now, idleExpiresAt, from);
      if (audit) appendAudit(this.#db, audit(true));
      return true;
    });
  }

  reissue(grantId: string, nextHash: string, now: number, idleExpiresAt: number, from: RequestContext | null, audit?: AuditOf<true>): Promise<boolean> {
    return this.#db.groupedAtomic(() => {
      if (!this.#db.get('SELECT 1 FROM grants WHERE id = ? AND revoked_at IS NULL', grantId)) return false;
      this.#db.run(`UPDATE refresh_tokens SET status = 'superseded', rotated_at = ? WHERE grant_id = ? AND status = 'active'`, now, grantId);
      this.#insertActive(grantId, nextHash, now, idleExpiresAt, from);
      if (audit) appendAudit(this.#db, audit(true));
      return true;
    });
  }

  touch(grantId: string, now: number, idleExpiresAt: number, from: RequestContext | null, audit?: AuditOf<true>): Promise<boolean> {
    return audited(this.#db, () => (this.#db.run(
      'UPDATE grants SET last_used_at = ?, idle_expires_at = ?, last_used_context = ? WHERE id = ? AND revoked_at IS NULL',
      now, idleExpiresAt, contextJson(from), grantId) === 1 ? true : undefined), audit).then((r) => r === true);
  }

  #insertActive(grantId: string, hash: string, now: number, idleExpiresAt: number, from: RequestContext | null): void {
    this.#db.run(`INSERT INTO refresh_tokens (token_hash, grant_id, status, created_at, rotated_at) VALUES (?, ?, 'active', ?, NULL)`,
      hash, grantId, now);
    this.#db.run('UPDATE grants SET last_used_at = ?, idle_expires_at = ?, last_used_context = ? WHERE id = ?', now, idleExpiresAt, contextJson(from), grantId);
  }
}
