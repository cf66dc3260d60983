// One-time device registration codes (the RSA-compatible facade, docs/vendors.md). Issue and
// redeem are one transaction each; the one-device rule is the UNIQUE index on
// registered_devices(user_id).
import type { RegisteredDevice, RegistrationCode } from '../../model/records.ts';
import type { AuditOf, IssueRegistrationResult, RedeemResult, RegistrationCodeStore } from '../store.ts';
import { appendAudit } from './audit.ts';
import { bool, toRegistrationCode } from '../rows.ts';
import { isUniqueViolation, type SqliteDb } from './db.ts';

export class SqliteRegistrationCodes implements RegistrationCodeStore {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  issue(c: RegistrationCode, audit?: AuditOf<RegistrationCode>): Promise<IssueRegistrationResult> {
    return this.#db.groupedAtomic((): IssueRegistrationResult => {
      if (this.#db.get('SELECT 1 FROM registered_devices WHERE user_id = ?', c.userId)) return 'device_registered';
      try {
        // The user's previous code, used or not, is replaced: only the newest code is live.
        this.#db.run(`INSERT INTO registration_codes (user_id, env_id, code_hash, app_id, expires_at, created_at)
          VALUES (?, ?, ?, ?, ?, ?)
          ON CONFLICT (user_id) DO UPDATE SET code_hash = excluded.code_hash, app_id = excluded.app_id,
            expires_at = excluded.expires_at, created_at = excluded.created_at`,
        c.userId, c.envId, c.codeHash, c.appId, c.expiresAt, c.createdAt);
        if (audit) appendAudit(this.#db, audit(c));
        return 'ok';
      } catch (err) {
        if (isUniqueViolation(err)) return 'code_taken';
        throw err;
      }
    });
  }

  redeem(
    codeHash: string, appId: string, device: Omit<RegisteredDevice, 'userId' | 'envId'>, now: number, audit?: AuditOf<RegisteredDevice>,
  ): Promise<RedeemResult> {
    return this.#db.groupedAtomic((): RedeemResult => {
      const row = this.#db.get(`SELECT c.*, u.disabled FROM registration_codes c JOIN users u ON u.id = c.user_id
        WHERE c.code_hash = ? AND c.app_id = ? AND c.expires_at > ?`, codeHash, appId, now);
      if (!row) return { outcome: 'invalid_code' };
      if (bool(row.disabled)) return { outcome: 'user_disabled' };
      const code = toRegistrationCode(row);
      this.#db.run('DELETE FROM registration_codes WHERE user_id = ?', code.userId);
      try {
        this.#db.run(`INSERT INTO registered_devices (id, env_id, user_id, app_id, device_name, platform, registered_at)
          VALUES (?, ?, ?, ?, ?, ?, ?)`, device.id, code.envId, code.userId, appId, device.deviceName, device.platform, device.registeredAt);
      } catch (err) {
        // The user registered a device meanwhile: the code is spent either way.
        if (isUniqueViolation(err)) return { outcome: 'device_registered' };
        throw err;
      }
      const registered = { ...device, envId: code.envId, userId: code.userId, appId };
      if (audit) appendAudit(this.#db, audit(registered));
      return { outcome: 'ok', device: registered };
    });
  }
}
