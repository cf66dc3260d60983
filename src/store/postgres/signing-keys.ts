// The environments' token-signing keys (private halves encrypted by the caller).
import type { SigningKeyRecord } from '../../model/records.ts';
import type { AuditOf, SigningKeyStore } from '../store.ts';
import { audited } from './audit.ts';
import { type PgDb, type Queries } from './db.ts';
import { toKey } from '../rows.ts';

const COLUMNS = 'kid, env_id, alg, public_jwk, private_jwk_enc, status, created_at, retired_until';

function insert(q: Queries, k: SigningKeyRecord): Promise<void> {
  return q.insert({
    text: `INSERT INTO signing_keys (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    values: [k.kid, k.envId, k.alg, k.publicJwk, k.privateJwkEnc, k.status, k.createdAt, k.retiredUntil],
  }, `key ${k.kid} exists`);
}


export class PgSigningKeys implements SigningKeyStore {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  list(envId: string): Promise<SigningKeyRecord[]> {
    return this.#db.all(toKey, { text: `SELECT ${COLUMNS} FROM signing_keys WHERE env_id = $1 ORDER BY created_at, kid COLLATE "C"`, values: [envId] });
  }

  async insert(k: SigningKeyRecord, audit?: AuditOf<SigningKeyRecord>): Promise<void> {
    await audited(this.#db, async (q) => { await insert(q, k); return k; }, audit);
  }

  /**
   * The check and the insert under a transaction-scoped advisory lock on the environment: under
   * READ COMMITTED two instances starting together would each see no key and each add one.
   */
  insertFirst(k: SigningKeyRecord): Promise<boolean> {
    return this.#db.transaction(async (tx) => {
      await tx.lockUntilCommit('firstKey', k.envId);
      if (await tx.get({ text: `SELECT 1 FROM signing_keys WHERE env_id = $1 AND status = 'active'`, values: [k.envId] })) return false;
      await insert(tx, k);
      return true;
    });
  }

  retire(envId: string, keepKid: string, retiredUntil: number): Promise<number> {
    return this.#db.run({
      text: `UPDATE signing_keys SET status = 'retired', retired_until = $1 WHERE env_id = $2 AND status = 'active' AND kid <> $3`,
      values: [retiredUntil, envId, keepKid],
    });
  }
}
