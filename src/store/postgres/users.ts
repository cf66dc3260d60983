// The people who sign in, approve devices and register authenticators.
import type { User } from '../../model/records.ts';
import type { UserStore } from '../store.ts';
import { type PgDb } from './db.ts';
import { toUser } from '../rows.ts';

const COLUMNS = 'id, env_id, username, email, password_hash, disabled, created_at, updated_at';


export class PgUsers implements UserStore {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  create(u: User): Promise<void> {
    return this.#db.insert({
      text: `INSERT INTO users (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      values: [u.id, u.envId, u.username, u.email, u.passwordHash, u.disabled, u.createdAt, u.updatedAt],
    }, 'username or email already in use');
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
    // lower(email) is the indexed expression (users_env_email).
    return this.#db.one(toUser, { text: `SELECT ${COLUMNS} FROM users WHERE env_id = $1 AND lower(email) = lower($2)`, values: [envId, email] });
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
    return this.#db.one(toUser, {
      text: `UPDATE users SET disabled = $1, updated_at = $2 WHERE env_id = $3 AND username = $4 RETURNING ${COLUMNS}`,
      values: [disabled, now, envId, username],
    });
  }
}
