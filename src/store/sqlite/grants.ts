// Grants: one approval each, with the family of its refresh tokens (RFC 6749 §6, RFC 9700 §4.14).
import type { Grant } from '../../model/records.ts';
import type { AuditOf, GrantStore } from '../store.ts';
import { appendAudit, audited } from './audit.ts';
import { type SqliteDb } from './db.ts';
import { authenticationColumns, contextJson, toGrant } from '../rows.ts';


/** The grant and its first refresh token; the caller holds the transaction. */
export function insertGrant(db: SqliteDb, g: Grant, refreshTokenHash: string | null): void {
  db.run(`INSERT INTO grants (id, env_id, user_id, client_id, kind, scope, created_at, last_used_at, idle_expires_at,
    absolute_expires_at, revoked_at, auth_time, auth_amr, auth_acr, request_context, last_used_context)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  g.id, g.envId, g.userId, g.clientId, g.kind, g.scope, g.createdAt, g.lastUsedAt, g.idleExpiresAt, g.absoluteExpiresAt, g.revokedAt,
  ...authenticationColumns(g.authentication), contextJson(g.requestContext), contextJson(g.lastUsedContext));
  if (refreshTokenHash !== null) {
    db.run(`INSERT INTO refresh_tokens (token_hash, grant_id, status, created_at, rotated_at) VALUES (?, ?, 'active', ?, NULL)`,
      refreshTokenHash, g.id, g.createdAt);
  }
}

export class SqliteGrants implements GrantStore {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  create(g: Grant, refreshTokenHash: string | null, audit?: AuditOf<Grant>): Promise<void> {
    return this.#db.groupedAtomic(() => {
      insertGrant(this.#db, g, refreshTokenHash);
      if (audit) appendAudit(this.#db, audit(g));
    });
  }

  get(envId: string, id: string): Promise<Grant | undefined> {
    return this.#db.async(() => this.#db.one(toGrant, 'SELECT * FROM grants WHERE env_id = ? AND id = ?', envId, id));
  }

  listLive(envId: string, userId: string, now: number): Promise<Grant[]> {
    return this.#db.async(() => this.#db.all(`SELECT * FROM grants WHERE env_id = ? AND user_id = ? AND revoked_at IS NULL
      AND idle_expires_at > ? AND absolute_expires_at > ? ORDER BY created_at DESC, id`, envId, userId, now, now).map(toGrant));
  }

  revoke(envId: string, id: string, now: number, audit?: AuditOf<Grant>): Promise<Grant | undefined> {
    // Only the revocation that ends the grant is an event: a second one changes nothing.
    return audited(this.#db, () => {
      const g = this.#db.one(toGrant, 'UPDATE grants SET revoked_at = coalesce(revoked_at, ?) WHERE env_id = ? AND id = ? RETURNING *', now, envId, id);
      return g === undefined ? undefined : { grant: g, ended: g.revokedAt === now };
    }, audit && ((r) => (r.ended ? audit(r.grant) : []))).then((r) => r?.grant);
  }
}
