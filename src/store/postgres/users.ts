// The people who sign in, approve devices and register authenticators.
import type { User } from '../../model/records.ts';
import { StoreConflictError, type FederatedAttributes, type UserProfilePatch, type UserStore } from '../store.ts';
import { isUniqueViolation, type PgDb } from './db.ts';
import { toUser } from '../rows.ts';

const COLUMNS = 'id, env_id, username, email, password_hash, disabled, name, given_name, family_name, email_verified, created_at, updated_at, '
  + 'idp_issuer, idp_subject';

/**
 * One statement whatever the patch holds, as in SQLite (store/sqlite/users.ts): each name has a
 * "given" flag, and email_verified is decided against the stored email in the same statement (the
 * right of SET reads the row's old values). `$8 <> email` is NULL, so false, when no email is given.
 */
const UPDATE_PROFILE = `UPDATE users SET
  name = CASE WHEN $1::boolean THEN $2::text ELSE name END,
  given_name = CASE WHEN $3::boolean THEN $4::text ELSE given_name END,
  family_name = CASE WHEN $5::boolean THEN $6::text ELSE family_name END,
  email_verified = CASE WHEN $7::boolean IS NOT NULL THEN $7::boolean WHEN $8::text <> email THEN false ELSE email_verified END,
  email = coalesce($8::text, email),
  updated_at = $9
  WHERE env_id = $10 AND id = $11 RETURNING ${COLUMNS}`;

const given = (v: string | null | undefined): [boolean, string | null] => (v === undefined ? [false, null] : [true, v]);


export class PgUsers implements UserStore {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  create(u: User): Promise<void> {
    return this.#db.insert({
      text: `INSERT INTO users (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
      values: [u.id, u.envId, u.username, u.email, u.passwordHash, u.disabled, u.name, u.givenName, u.familyName, u.emailVerified,
        u.createdAt, u.updatedAt, u.idpIssuer, u.idpSubject],
    }, 'username, email or identity already in use');
  }

  get(envId: string, id: string): Promise<User | undefined> {
    return this.#db.one(toUser, { name: 'user_get', text: `SELECT ${COLUMNS} FROM users WHERE env_id = $1 AND id = $2`, values: [envId, id] });
  }

  getByUsername(envId: string, username: string): Promise<User | undefined> {
    return this.#db.one(toUser, {
      name: 'user_by_username', text: `SELECT ${COLUMNS} FROM users WHERE env_id = $1 AND username = $2`, values: [envId, username],
    });
  }

  getByEmail(envId: string, email: string): Promise<User | undefined> {
    // lower(email) among password users is the indexed expression (users_env_email, a partial index).
    return this.#db.one(toUser, {
      text: `SELECT ${COLUMNS} FROM users WHERE env_id = $1 AND lower(email) = lower($2) AND idp_issuer IS NULL`, values: [envId, email],
    });
  }

  getByIdentity(envId: string, idpIssuer: string, subject: string): Promise<User | undefined> {
    return this.#db.one(toUser, {
      name: 'user_by_identity', text: `SELECT ${COLUMNS} FROM users WHERE env_id = $1 AND idp_issuer = $2 AND idp_subject = $3`,
      values: [envId, idpIssuer, subject],
    });
  }

  list(envId: string): Promise<User[]> {
    return this.#db.all(toUser, { text: `SELECT ${COLUMNS} FROM users WHERE env_id = $1 ORDER BY created_at, username COLLATE "C"`, values: [envId] });
  }

  async setPasswordHash(envId: string, id: string, expected: string, hash: string, now: number): Promise<boolean> {
    return await this.#db.run({
      text: 'UPDATE users SET password_hash = $1, updated_at = $2 WHERE env_id = $3 AND id = $4 AND password_hash = $5',
      values: [hash, now, envId, id, expected],
    }) === 1;
  }

  setDisabled(envId: string, username: string, disabled: boolean, now: number): Promise<User | undefined> {
    const update = { text: `UPDATE users SET disabled = $1, updated_at = $2 WHERE env_id = $3 AND username = $4 RETURNING ${COLUMNS}`,
      values: [disabled, now, envId, username] };
    if (!disabled) return this.#db.one(toUser, update);
    // What the user gave before the disable stays ended after an enable (UserStore.setDisabled). A
    // redemption racing this waits for the device row's lock, then finds it denied; one that
    // committed first left a grant the UPDATE of grants (a later statement) sees and revokes.
    return this.#db.transaction(async (tx) => {
      const user = await tx.one(toUser, update);
      if (user) {
        await tx.run({
          text: `UPDATE device_authorizations SET status = 'denied', decided_at = $1 WHERE env_id = $2 AND user_id = $3 AND status = 'approved'`,
          values: [now, envId, user.id],
        });
        await tx.run({ text: 'UPDATE grants SET revoked_at = $1 WHERE env_id = $2 AND user_id = $3 AND revoked_at IS NULL', values: [now, envId, user.id] });
      }
      return user;
    });
  }

  updateFederated(envId: string, id: string, a: FederatedAttributes, now: number): Promise<User | undefined> {
    return this.#db.one(toUser, {
      text: `UPDATE users SET email = $1, email_verified = $2, name = $3, given_name = $4, family_name = $5, updated_at = $6
        WHERE env_id = $7 AND id = $8 AND idp_issuer IS NOT NULL RETURNING ${COLUMNS}`,
      values: [a.email, a.emailVerified, a.name, a.givenName, a.familyName, now, envId, id],
    });
  }

  async updateProfile(envId: string, id: string, patch: UserProfilePatch, now: number): Promise<User | undefined> {
    try {
      return await this.#db.one(toUser, {
        text: UPDATE_PROFILE,
        values: [...given(patch.name), ...given(patch.givenName), ...given(patch.familyName), patch.emailVerified ?? null, patch.email ?? null,
          now, envId, id],
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreConflictError('email already in use');
      throw err;
    }
  }
}
