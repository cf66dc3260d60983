// Refresh tokens (RFC 6749 §6, rotated as RFC 9700 §4.14 asks), stored as keyed hashes. Rotation
// and reissue are one transaction each that first locks the grant's row: every change to one
// grant's token family is serialised, so of concurrent rotations of one token exactly one
// succeeds (the others, once they hold the lock, find it rotated), and a grant never ends up with
// two active tokens. SQLite's single writer gives the same order for free.
import type { Grant, RefreshTokenRecord, RequestContext } from '../../model/records.ts';
import type { AuditOf, RefreshTokenStore } from '../store.ts';
import { appendAudit, audited } from './audit.ts';
import { contextJson, str, toRefreshTokenAndGrant } from '../rows.ts';
import type { PgDb, Queries } from './db.ts';
import { GRANT_COLUMNS, insertRefreshToken } from './grants.ts';

const GRANT_OF = GRANT_COLUMNS.split(',').map((c) => `g.${c.trim()}`).join(', ');

export class PgRefreshTokens implements RefreshTokenStore {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  find(tokenHash: string): Promise<{ token: RefreshTokenRecord; grant: Grant } | undefined> {
    return this.#db.one(toRefreshTokenAndGrant, {
      name: 'refresh_token_find',
      text: `SELECT t.token_hash, t.grant_id, t.status AS token_status, t.created_at AS token_created_at, t.rotated_at, ${GRANT_OF}
        FROM refresh_tokens t JOIN grants g ON g.id = t.grant_id WHERE t.token_hash = $1`,
      values: [tokenHash],
    });
  }

  rotate(tokenHash: string, nextHash: string, now: number, idleExpiresAt: number, from: RequestContext | null, audit?: AuditOf<true>): Promise<boolean> {
    return this.#db.transaction(async (tx) => {
      const grant = await tx.get({
        name: 'refresh_token_lock_grant',
        text: `SELECT g.id FROM refresh_tokens t JOIN grants g ON g.id = t.grant_id
          WHERE t.token_hash = $1 AND g.revoked_at IS NULL FOR NO KEY UPDATE OF g`,
        values: [tokenHash],
      });
      if (!grant) return false;
      // A new statement, so a new snapshot: a rotation committed while we waited for the lock is seen.
      const rotated = await tx.run({
        name: 'refresh_token_rotate',
        text: `UPDATE refresh_tokens SET status = 'rotated', rotated_at = $1 WHERE token_hash = $2 AND status = 'active'`,
        values: [now, tokenHash],
      });
      if (rotated !== 1) return false;
      await insertActive(tx, str(grant.id), nextHash, now, idleExpiresAt, from);
      if (audit) await appendAudit(tx, audit(true), this.#db.auditOutbox);
      return true;
    });
  }

  reissue(grantId: string, nextHash: string, now: number, idleExpiresAt: number, from: RequestContext | null, audit?: AuditOf<true>): Promise<boolean> {
    return this.#db.transaction(async (tx) => {
      const grant = await tx.get({ text: 'SELECT id FROM grants WHERE id = $1 AND revoked_at IS NULL FOR NO KEY UPDATE', values: [grantId] });
      if (!grant) return false;
      await tx.run({
        text: `UPDATE refresh_tokens SET status = 'superseded', rotated_at = $1 WHERE grant_id = $2 AND status = 'active'`,
        values: [now, grantId],
      });
      await insertActive(tx, grantId, nextHash, now, idleExpiresAt, from);
      if (audit) await appendAudit(tx, audit(true), this.#db.auditOutbox);
      return true;
    });
  }

  async touch(grantId: string, now: number, idleExpiresAt: number, from: RequestContext | null, audit?: AuditOf<true>): Promise<boolean> {
    return await audited(this.#db, async (q) => (await q.run({
      name: 'grant_touch',
      text: 'UPDATE grants SET last_used_at = $1, idle_expires_at = $2, last_used_context = $4 WHERE id = $3 AND revoked_at IS NULL',
      values: [now, idleExpiresAt, grantId, contextJson(from)],
    }) === 1 ? true : undefined), audit) === true;
  }
}

async function insertActive(tx: Queries, grantId: string, hash: string, now: number, idleExpiresAt: number, from: RequestContext | null): Promise<void> {
  await insertRefreshToken(tx, hash, grantId, now);
  await tx.run({
    name: 'grant_mark_used',
    text: 'UPDATE grants SET last_used_at = $1, idle_expires_at = $2, last_used_context = $4 WHERE id = $3',
    values: [now, idleExpiresAt, grantId, contextJson(from)],
  });
}
