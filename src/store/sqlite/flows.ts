// Verification flows (the PingOne-compatible flow API, docs/vendors.md). The consent step decides
// the flow and its device in one transaction.
import type { Flow, FlowStatus } from '../../model/records.ts';
import type { AuditOf, DecideFlowResult, DecisionRecord, FlowPatch, FlowStore } from '../store.ts';
import { appendAudit, audited } from './audit.ts';
import { type SqliteDb } from './db.ts';
import { bit, DECISION_SET } from './device-authorizations.ts';
import { authenticationColumns, authPatch, decisionColumns, toFlow } from '../rows.ts';


export class SqliteFlows implements FlowStore {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  create(f: Flow): Promise<void> {
    return this.#db.async(() => {
      this.#db.insert(`INSERT INTO flows (id, env_id, client_id, status, browser_hash, user_id, device_id, user_code_enc,
        failed_attempts, created_at, updated_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, `flow ${f.id} exists`,
      f.id, f.envId, f.clientId, f.status, f.browserHash, f.userId, f.deviceId, f.userCodeEnc, f.failedAttempts,
      f.createdAt, f.updatedAt, f.expiresAt);
    });
  }

  get(envId: string, id: string, now: number): Promise<Flow | undefined> {
    return this.#db.async(() => this.#db.one(toFlow, 'SELECT * FROM flows WHERE env_id = ? AND id = ? AND expires_at > ?', envId, id, now));
  }

  transition(id: string, from: FlowStatus, patch: FlowPatch, now: number, expiresAt: number, audit?: AuditOf<Flow>): Promise<Flow | undefined> {
    return audited(this.#db, () => this.#db.one(toFlow,
      `UPDATE flows SET status = ?, user_id = coalesce(?, user_id), device_id = coalesce(?, device_id),
         user_code_enc = coalesce(?, user_code_enc), updated_at = ?, expires_at = ?,
         auth_time = coalesce(?, auth_time), auth_amr = coalesce(?, auth_amr), auth_acr = CASE WHEN ? IS NULL THEN auth_acr ELSE ? END
       WHERE id = ? AND status = ? AND expires_at > ? RETURNING *`,
      patch.status, patch.userId ?? null, patch.deviceId ?? null, patch.userCodeEnc ?? null, now, expiresAt,
      ...authPatch(patch.authentication), id, from, now), audit);
  }

  recordFailure(id: string, maxAttempts: number, now: number, audit?: AuditOf<Flow>): Promise<Flow | undefined> {
    return audited(this.#db, () => this.#db.one(toFlow,
      `UPDATE flows SET failed_attempts = failed_attempts + 1, updated_at = ?,
         status = CASE WHEN failed_attempts + 1 >= ? THEN 'FAILED' ELSE status END
       WHERE id = ? AND status = 'DAG_USER_CODE_REQUIRED' AND expires_at > ? RETURNING *`,
      now, maxAttempts, id, now), audit);
  }

  decide(flowId: string, accept: boolean, now: number, record?: DecisionRecord, audit?: AuditOf<Flow>): Promise<DecideFlowResult> {
    if (accept && record?.reported === true) throw new Error('a reported request cannot be approved');
    return this.#db.groupedAtomic((): DecideFlowResult => {
      const flow = this.#db.one(toFlow,
        `UPDATE flows SET status = ?, updated_at = ? WHERE id = ? AND status = 'DAG_CONSENT_REQUIRED' AND expires_at > ? RETURNING *`,
        accept ? 'COMPLETED' : 'FAILED', now, flowId, now);
      if (!flow?.deviceId || !flow.userId) return 'flow_changed';
      const decided = this.#db.run(`UPDATE device_authorizations SET status = ?, user_id = ?, decided_at = ?, auth_time = ?, auth_amr = ?,
        auth_acr = ?, ${DECISION_SET} WHERE id = ? AND status = 'pending' AND expires_at > ?`,
      accept ? 'approved' : 'denied', flow.userId, now, ...authenticationColumns(flow.authentication), ...decisionColumns(record, now, bit),
      flow.deviceId, now);
      if (decided === 1) {
        if (audit) appendAudit(this.#db, audit(flow));
        return 'ok';
      }
      this.#db.run(`UPDATE flows SET status = 'FAILED' WHERE id = ?`, flowId);
      return 'device_unavailable';
    });
  }

  beginFederation(id: string, stateHash: string, pendingEnc: string, now: number): Promise<Flow | undefined> {
    return this.#db.async(() => this.#db.one(toFlow,
      `UPDATE flows SET idp_state_hash = ?, idp_pending = ?, updated_at = ?
       WHERE id = ? AND status = 'USERNAME_PASSWORD_REQUIRED' AND expires_at > ? RETURNING *`, stateHash, pendingEnc, now, id, now));
  }

  getByFederationState(envId: string, stateHash: string, now: number): Promise<Flow | undefined> {
    return this.#db.async(() => this.#db.one(toFlow,
      'SELECT * FROM flows WHERE idp_state_hash = ? AND env_id = ? AND expires_at > ?', stateHash, envId, now));
  }

  takeFederation(id: string, stateHash: string, now: number): Promise<boolean> {
    return this.#db.async(() => this.#db.run(
      `UPDATE flows SET idp_state_hash = NULL, idp_pending = NULL, updated_at = ?
       WHERE id = ? AND idp_state_hash = ? AND status = 'USERNAME_PASSWORD_REQUIRED' AND expires_at > ?`, now, id, stateHash, now) === 1);
  }
}
