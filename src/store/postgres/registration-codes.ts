// One-time device registration codes (the RSA-compatible facade, docs/vendors.md). Issue and
// redeem are one transaction each, and both first lock the user's row (FOR NO KEY UPDATE: it
// serialises them per user, yet leaves foreign-key checks of other writers alone), which is what
// SQLite's single writer gives for free. The one-device rule is still the UNIQUE index on
// registered_devices(user_id).
import type { RegisteredDevice, RegistrationCode } from '../../model/records.ts';
import type { AuditOf, IssueRegistrationResult, RedeemResult, RegistrationCodeStore } from '../store.ts';
import { appendAudit } from './audit.ts';
import { bool, str, toRegistrationCode } from '../rows.ts';
import { isUniqueViolation, type PgDb, type Queries } from './db.ts';

const COLUMNS = 'user_id, env_id, code_hash, app_id, expires_at, created_at';

/** Locks the user's row for the rest of the transaction; false when there is no such user. */
async function lockUser(tx: Queries, userId: string): Promise<{ disabled: boolean } | undefined> {
  const r = await tx.get({ text: 'SELECT disabled FROM users WHERE id = $1 FOR NO KEY UPDATE', values: [userId] });
  return r === undefined ? undefined : { disabled: bool(r.disabled) };
}

export class PgRegistrationCodes implements RegistrationCodeStore {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  async issue(c: RegistrationCode, audit?: AuditOf<RegistrationCode>): Promise<IssueRegistrationResult> {
    try {
      return await this.#db.transaction(async (tx): Promise<IssueRegistrationResult> => {
        await lockUser(tx, c.userId);
        if (await tx.get({ text: 'SELECT 1 FROM registered_devices WHERE user_id = $1', values: [c.userId] })) return 'device_registered';
        // The user's previous code, used or not, is replaced: only the newest code is live.
        await tx.run({
          text: `INSERT INTO registration_codes (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (user_id) DO UPDATE SET code_hash = excluded.code_hash, app_id = excluded.app_id,
              expires_at = excluded.expires_at, created_at = excluded.created_at`,
          values: [c.userId, c.envId, c.codeHash, c.appId, c.expiresAt, c.createdAt],
        });
        if (audit) await appendAudit(tx, audit(c), this.#db.auditOutbox);
        return 'ok';
      });
    } catch (err) {
      // Another user's code has this hash (the UNIQUE code_hash); the transaction is rolled back.
      if (isUniqueViolation(err)) return 'code_taken';
      throw err;
    }
  }

  redeem(
    codeHash: string, appId: string, device: Omit<RegisteredDevice, 'userId' | 'envId'>, now: number, audit?: AuditOf<RegisteredDevice>,
  ): Promise<RedeemResult> {
    return this.#db.transaction(async (tx): Promise<RedeemResult> => {
      const found = await tx.get({
        text: 'SELECT user_id FROM registration_codes WHERE code_hash = $1 AND app_id = $2 AND expires_at > $3', values: [codeHash, appId, now],
      });
      if (!found) return { outcome: 'invalid_code' };
      const userId = str(found.user_id);
      const user = await lockUser(tx, userId);
      if (!user) return { outcome: 'invalid_code' };
      if (user.disabled) return { outcome: 'user_disabled' };
      // Under the user's lock, again: a concurrent redemption (or a new code) committed meanwhile is seen now.
      const code = await tx.one(toRegistrationCode, {
        text: `DELETE FROM registration_codes WHERE user_id = $1 AND code_hash = $2 AND app_id = $3 AND expires_at > $4
          RETURNING ${COLUMNS}`,
        values: [userId, codeHash, appId, now],
      });
      if (!code) return { outcome: 'invalid_code' };
      // The UNIQUE user_id decides: a user who registered a device meanwhile keeps only that one.
      // ON CONFLICT keeps the transaction alive (an error would abort it), so the code is spent either way.
      const inserted = await tx.get({
        text: `INSERT INTO registered_devices (id, env_id, user_id, app_id, device_name, platform, registered_at)
          VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id) DO NOTHING RETURNING id`,
        values: [device.id, code.envId, code.userId, appId, device.deviceName, device.platform, device.registeredAt],
      });
      if (!inserted) return { outcome: 'device_registered' };
      const registered = { ...device, envId: code.envId, userId: code.userId, appId };
      if (audit) await appendAudit(tx, audit(registered), this.#db.auditOutbox);
      return { outcome: 'ok', device: registered };
    });
  }
}
