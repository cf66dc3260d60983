// The people who sign in, approve devices and register authenticators.
import type { User } from '../../model/records.ts';
import type { UserStore } from '../store.ts';
import { type SqliteDb } from './db.ts';
import { toUser } from '../rows.ts';


export class SqliteUsers implements UserStore {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  create(u: User): Promise<void> {
    return this.#db.async(() => {
      this.#db.insert(`INSERT INTO users (id, env_id, username, email, password_hash, disabled, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, 'username or email already in use',
      u.id, u.envId, u.username, u.email, u.passwordHash, u.disabled ? 1 : 0, u.createdAt, u.updatedAt);
    });
  }

  get(envId: string, id: string): Promise<User | undefined> {
    return this.#db.async(() => this.#db.one(toUser, 'SELECT * FROM users WHERE env_id = ? AND id = ?', envId, id));
  }

  getByUsername(envId: string, username: string): Promise<User | undefined> {
    return this.#db.async(() => this.#db.one(toUser, 'SELECT * FROM users WHERE env_id = ? AND username = ?', envId, username));
  }

  getByEmail(envId: string, email: string): Promise<User | undefined> {
    // lower(email) is the indexed expression (users_env_email).
    return this.#db.async(() => this.#db.one(toUser, 'SELECT * FROM users WHERE env_id = ? AND lower(email) = lower(?)', envId, email));
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
    return this.#db.async(() => this.#db.one(toUser,
      'UPDATE users SET disabled = ?, updated_at = ? WHERE env_id = ? AND username = ? RETURNING *',
      disabled ? 1 : 0, now, envId, username));
  }
}
