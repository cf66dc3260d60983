// Grants: one approval each, with the family of its refresh tokens (RFC 6749 §6, RFC 9700 §4.14).
import type { Grant } from '../../model/records.ts';
import type { AuditOf, GrantStore } from '../store.ts';
import { appendAudit, audited } from './audit.ts';
import { type PgDb, type Queries } from './db.ts';
import { authenticationColumns, contextJson, toGrant } from '../rows.ts';

export const GRANT_COLUMNS = `id, env_id, user_id, client_id, kind, scope, created_at, last_used_at, idle_expires_at,
  absolute_expires_at, revoked_at, auth_time, auth_amr, auth_acr, request_context, last_used_context`;


/** A grant's new active refresh token, inside the caller's transaction. */
export async function insertRefreshToken(tx: Queries, tokenHash: string, grantId: string, createdAt: number): Promise<void> {
  await tx.run({
    name: 'refresh_token_insert',
    text: `INSERT INTO refresh_tokens (token_hash, grant_id, status, created_at, rotated_at) VALUES ($1, $2, 'active', $3, NULL)`,
    values: [tokenHash, grantId, createdAt],
  });
}

/** The grant and its first refresh token, inside the caller's transaction. */
export async function insertGrant(tx: Queries, g: Grant, refreshTokenHash: string | null): Promise<void> {
  await tx.run({
    name: 'grant_insert',
    text: `INSERT INTO grants (${GRANT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
    values: [g.id, g.envId, g.userId, g.clientId, g.kind, g.scope, g.createdAt, g.lastUsedAt, g.idleExpiresAt, g.absoluteExpiresAt, g.revokedAt,
      ...authenticationColumns(g.authentication), contextJson(g.requestContext), contextJson(g.lastUsedContext)],
  });
  if (refreshTokenHash !== null) await insertRefreshToken(tx, refreshTokenHash, g.id, g.createdAt);
}

export class PgGrants implements GrantStore {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  async create(g: Grant, refreshTokenHash: string | null, audit?: AuditOf<Grant>): Promise<void> {
    if (refreshTokenHash === null && audit === undefined) await insertGrant(this.#db, g, null);
    else {
      await this.#db.transaction(async (tx) => {
        await insertGrant(tx, g, refreshTokenHash);
        if (audit) await appendAudit(tx, audit(g), this.#db.auditOutbox);
      });
    }
  }

  get(envId: string, id: string): Promise<Grant | undefined> {
    return this.#db.one(toGrant, { name: 'grant_get', text: `SELECT ${GRANT_COLUMNS} FROM grants WHERE env_id = $1 AND id = $2`, values: [envId, id] });
  }

  listLive(envId: string, userId: string, now: number): Promise<Grant[]> {
    return this.#db.all(toGrant, {
      text: `SELECT ${GRANT_COLUMNS} FROM grants WHERE env_id = $1 AND user_id = $2 AND revoked_at IS NULL
        AND idle_expires_at > $3 AND absolute_expires_at > $3 ORDER BY created_at DESC, id COLLATE "C"`,
      values: [envId, userId, now],
    });
  }

  async revoke(envId: string, id: string, now: number, audit?: AuditOf<Grant>): Promise<Grant | undefined> {
    // Only the revocation that ends the grant is an event: a second one changes nothing.
    const r = await audited(this.#db, async (q) => {
      const g = await q.one(toGrant, {
        text: `UPDATE grants SET revoked_at = coalesce(revoked_at, $1) WHERE env_id = $2 AND id = $3 RETURNING ${GRANT_COLUMNS}`,
        values: [now, envId, id],
      });
      return g === undefined ? undefined : { grant: g, ended: g.revokedAt === now };
    }, audit && ((x) => (x.ended ? audit(x.grant) : [])));
    return r?.grant;
  }
}
