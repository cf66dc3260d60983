// The environments' token-signing keys (private halves encrypted by the caller).
import type { SigningKeyRecord } from '../../model/records.ts';
import type { AuditOf, SigningKeyStore } from '../store.ts';
import { audited } from './audit.ts';
import { type SqliteDb } from './db.ts';
import { toKey } from '../rows.ts';


export class SqliteSigningKeys implements SigningKeyStore {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  list(envId: string): Promise<SigningKeyRecord[]> {
    return this.#db.async(() => this.#db.all('SELECT * FROM signing_keys WHERE env_id = ? ORDER BY created_at', envId).map(toKey));
  }

  insert(k: SigningKeyRecord, audit?: AuditOf<SigningKeyRecord>): Promise<void> {
    return audited(this.#db, () => { this.#insert(k); return k; }, audit).then(() => undefined);
  }

  /** The check and the insert in one IMMEDIATE transaction: another process cannot add a key between them. */
  insertFirst(k: SigningKeyRecord): Promise<boolean> {
    return this.#db.async(() => this.#db.immediate(() => {
      if (this.#db.get(`SELECT 1 FROM signing_keys WHERE env_id = ? AND status = 'active'`, k.envId)) return false;
      this.#insert(k);
      return true;
    }));
  }

  #insert(k: SigningKeyRecord): void {
    this.#db.insert(`INSERT INTO signing_keys (kid, env_id, alg, public_jwk, private_jwk_enc, status, created_at, retired_until)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, `key ${k.kid} exists`,
    k.kid, k.envId, k.alg, k.publicJwk, k.privateJwkEnc, k.status, k.createdAt, k.retiredUntil);
  }

  retire(envId: string, keepKid: string, retiredUntil: number): Promise<number> {
    return this.#db.async(() => this.#db.run(
      `UPDATE signing_keys SET status = 'retired', retired_until = ? WHERE env_id = ? AND status = 'active' AND kid <> ?`,
      retiredUntil, envId, keepKid));
  }
}
