// The people who sign in, approve devices and register authenticators.
import type { User } from '../../model/records.ts';
import { StoreConflictError, type FederatedAttributes, type UserProfilePatch, type UserStore } from '../store.ts';
import { isUniqueViolation, type SqliteDb } from './db.ts';
import { toUser } from '../rows.ts';

/**
 * One statement whatever the patch holds: each name has a "given" flag (0 keeps the stored value),
 * and email_verified is decided against the stored email in the same statement (SQLite reads the
 * row's old values on the right of SET). `? <> email` is NULL, so false, when no email is given.
 */
const UPDATE_PROFILE = `UPDATE users SET
  name = CASE WHEN ? THEN ? ELSE name END,
  given_name = CASE WHEN ? THEN ? ELSE given_name END,
  family_name = CASE WHEN ? THEN ? ELSE family_name END,
  email_verified = CASE WHEN ? IS NOT NULL THEN ? WHEN ? <> email THEN 0 ELSE email_verified END,
  email = coalesce(?, email),
  updated_at = ?
  WHERE env_id = ? AND id = ? RETURNING *`;

const given = (v: string | null | undefined): [number, string | null] => (v === undefined ? [0, null] : [1, v]);

export class SqliteUsers implements UserStore {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  create(u: User): Promise<void> {
    return this.#db.async(() => {
      this.#db.insert(`INSERT INTO users (id, env_id, username, email, password_hash, disabled, name, given_name, family_name,
        email_verified, created_at, updated_at, idp_issuer, idp_subject) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      'username, email or identity already in use',
      u.id, u.envId, u.username, u.email, u.passwordHash, u.disabled ? 1 : 0, u.name, u.givenName, u.familyName, u.emailVerified ? 1 : 0,
      u.createdAt, u.updatedAt, u.idpIssuer, u.idpSubject);
    });
  }

  get(envId: string, id: string): Promise<User | undefined> {
    return this.#db.async(() => this.#db.one(toUser, 'SELECT * FROM users WHERE env_id = ? AND id = ?', envId, id));
  }

  getByUsername(envId: string, username: string): Promise<User | undefined> {
    return this.#db.async(() => this.#db.one(toUser, 'SELECT * FROM users WHERE env_id = ? AND username = ?', envId, username));
  }

  getByEmail(envId: string, email: string): Promise<User | undefined> {
    // lower(email) among password users is the indexed expression (users_env_email, a partial index).
    return this.#db.async(() => this.#db.one(toUser, 'SELECT * FROM users WHERE env_id = ? AND lower(email) = lower(?) AND idp_issuer IS NULL',
      envId, email));
  }

  getByIdentity(envId: string, idpIssuer: string, subject: string): Promise<User | undefined> {
    return this.#db.async(() => this.#db.one(toUser, 'SELECT * FROM users WHERE env_id = ? AND idp_issuer = ? AND idp_subject = ?',
      envId, idpIssuer, subject));
  }

  list(envId: string): Promise<User[]> {
    return this.#db.async(() => this.#db.all('SELECT * FROM users WHERE env_id = ? ORDER BY created_at, username', envId).map(toUser));
  }

  setPasswordHash(envId: string, id: string, expected: string, hash: string, now: number): Promise<boolean> {
    return this.#db.async(() => this.#db.run(
      'UPDATE users SET password_hash = ?, updated_at = ? WHERE env_id = ? AND id = ? AND password_hash = ?',
      hash, now, envId, id, expected) === 1);
  }

  setDisabled(envId: string, username: string, disabled: boolean, now: number): Promise<User | undefined> {
    return this.#db.async(() => this.#db.immediate(() => {
      const user = this.#db.one(toUser, 'UPDATE users SET disabled = ?, updated_at = ? WHERE env_id = ? AND username = ? RETURNING *',
        disabled ? 1 : 0, now, envId, username);
      if (user && disabled) {
        // What the user gave before the disable stays ended after an enable (UserStore.setDisabled).
        this.#db.run(`UPDATE device_authorizations SET status = 'denied', decided_at = ?
          WHERE env_id = ? AND user_id = ? AND status = 'approved'`, now, envId, user.id);
        this.#db.run('UPDATE grants SET revoked_at = ? WHERE env_id = ? AND user_id = ? AND revoked_at IS NULL', now, envId, user.id);
      }
      return user;
    }));
  }

  updateFederated(envId: string, id: string, a: FederatedAttributes, now: number): Promise<User | undefined> {
    return this.#db.async(() => this.#db.one(toUser, `UPDATE users SET email = ?, email_verified = ?, name = ?, given_name = ?, family_name = ?,
      updated_at = ? WHERE env_id = ? AND id = ? AND idp_issuer IS NOT NULL RETURNING *`,
    a.email, a.emailVerified ? 1 : 0, a.name, a.givenName, a.familyName, now, envId, id));
  }

  updateProfile(envId: string, id: string, patch: UserProfilePatch, now: number): Promise<User | undefined> {
    const verified = patch.emailVerified === undefined ? null : patch.emailVerified ? 1 : 0;
    const email = patch.email ?? null;
    return this.#db.async(() => {
      try {
        return this.#db.one(toUser, UPDATE_PROFILE, ...given(patch.name), ...given(patch.givenName), ...given(patch.familyName),
          verified, verified, email, email, now, envId, id);
      } catch (err) {
        if (isUniqueViolation(err)) throw new StoreConflictError('email already in use');
        throw err;
      }
    });
  }
}
