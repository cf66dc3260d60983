// Verification flows (the PingOne-compatible flow API, docs/vendors.md). The consent step decides
// the flow and its device in one transaction.
import type { Flow, FlowStatus } from '../../model/records.ts';
import type { AuditOf, DecideFlowResult, DecisionRecord, FlowPatch, FlowStore } from '../store.ts';
import { appendAudit, audited } from './audit.ts';
import { type PgDb } from './db.ts';
import { decisionSet, same } from './device-authorizations.ts';
import { authenticationColumns, authPatch, decisionColumns, toFlow } from '../rows.ts';

const COLUMNS = `id, env_id, client_id, status, browser_hash, user_id, device_id, user_code_enc, failed_attempts, created_at,
  updated_at, expires_at, auth_time, auth_amr, auth_acr, idp_state_hash, idp_pending`;


export class PgFlows implements FlowStore {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  create(f: Flow): Promise<void> {
    return this.#db.insert({
      text: `INSERT INTO flows (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
      values: [f.id, f.envId, f.clientId, f.status, f.browserHash, f.userId, f.deviceId, f.userCodeEnc, f.failedAttempts,
        f.createdAt, f.updatedAt, f.expiresAt, ...authenticationColumns(f.authentication), f.idpStateHash, f.idpPendingEnc],
    }, `flow ${f.id} exists`);
  }

  get(envId: string, id: string, now: number): Promise<Flow | undefined> {
    return this.#db.one(toFlow, {
      name: 'flow_get', text: `SELECT ${COLUMNS} FROM flows WHERE env_id = $1 AND id = $2 AND expires_at > $3`, values: [envId, id, now],
    });
  }

  transition(id: string, from: FlowStatus, patch: FlowPatch, now: number, expiresAt: number, audit?: AuditOf<Flow>): Promise<Flow | undefined> {
    return audited(this.#db, (q) => q.one(toFlow, {
      name: 'flow_transition',
      text: `UPDATE flows SET status = $1, user_id = coalesce($2, user_id), device_id = coalesce($3, device_id),
          user_code_enc = coalesce($4, user_code_enc), updated_at = $5, expires_at = $6,
          auth_time = coalesce($9::bigint, auth_time), auth_amr = coalesce($10::text, auth_amr),
          auth_acr = CASE WHEN $11::bigint IS NULL THEN auth_acr ELSE $12::text END
        WHERE id = $7 AND status = $8 AND expires_at > $5 RETURNING ${COLUMNS}`,
      values: [patch.status, patch.userId ?? null, patch.deviceId ?? null, patch.userCodeEnc ?? null, now, expiresAt, id, from,
        ...authPatch(patch.authentication)],
    }), audit);
  }

  recordFailure(id: string, maxAttempts: number, now: number, audit?: AuditOf<Flow>): Promise<Flow | undefined> {
    return audited(this.#db, (q) => q.one(toFlow, {
      text: `UPDATE flows SET failed_attempts = failed_attempts + 1, updated_at = $1,
          status = CASE WHEN failed_attempts + 1 >= $2 THEN 'FAILED' ELSE status END
        WHERE id = $3 AND status = 'DAG_USER_CODE_REQUIRED' AND expires_at > $1 RETURNING ${COLUMNS}`,
      values: [now, maxAttempts, id],
    }), audit);
  }

  decide(flowId: string, accept: boolean, now: number, record?: DecisionRecord, audit?: AuditOf<Flow>): Promise<DecideFlowResult> {
    if (accept && record?.reported === true) throw new Error('a reported request cannot be approved');
    // The flow row is locked by its UPDATE, the device row by its own: a second consent on the
    // flow, or another flow deciding the device, waits and then finds the row changed.
    return this.#db.transaction(async (tx): Promise<DecideFlowResult> => {
      const flow = await tx.one(toFlow, {
        text: `UPDATE flows SET status = $1, updated_at = $2 WHERE id = $3 AND status = 'DAG_CONSENT_REQUIRED' AND expires_at > $2
          RETURNING ${COLUMNS}`,
        values: [accept ? 'COMPLETED' : 'FAILED', now, flowId],
      });
      if (!flow?.deviceId || !flow.userId) return 'flow_changed';
      const decided = await tx.run({
        text: `UPDATE device_authorizations SET status = $1, user_id = $2, decided_at = $3, auth_time = $5, auth_amr = $6, auth_acr = $7,
            ${decisionSet(8)}
          WHERE id = $4 AND status = 'pending' AND expires_at > $3`,
        values: [accept ? 'approved' : 'denied', flow.userId, now, flow.deviceId, ...authenticationColumns(flow.authentication),
          ...decisionColumns(record, now, same)],
      });
      if (decided === 1) {
        if (audit) await appendAudit(tx, audit(flow), this.#db.auditOutbox);
        return 'ok';
      }
      await tx.run({ text: `UPDATE flows SET status = 'FAILED' WHERE id = $1`, values: [flowId] });
      return 'device_unavailable';
    });
  }

  beginFederation(id: string, stateHash: string, pendingEnc: string, now: number): Promise<Flow | undefined> {
    return this.#db.one(toFlow, {
      text: `UPDATE flows SET idp_state_hash = $1, idp_pending = $2, updated_at = $3
        WHERE id = $4 AND status = 'USERNAME_PASSWORD_REQUIRED' AND expires_at > $3 RETURNING ${COLUMNS}`,
      values: [stateHash, pendingEnc, now, id],
    });
  }

  getByFederationState(envId: string, stateHash: string, now: number): Promise<Flow | undefined> {
    return this.#db.one(toFlow, {
      text: `SELECT ${COLUMNS} FROM flows WHERE idp_state_hash = $1 AND env_id = $2 AND expires_at > $3`, values: [stateHash, envId, now],
    });
  }

  async takeFederation(id: string, stateHash: string, now: number): Promise<boolean> {
    return await this.#db.run({
      text: `UPDATE flows SET idp_state_hash = NULL, idp_pending = NULL, updated_at = $1
        WHERE id = $2 AND idp_state_hash = $3 AND status = 'USERNAME_PASSWORD_REQUIRED' AND expires_at > $1`,
      values: [now, id, stateHash],
    }) === 1;
  }
}
