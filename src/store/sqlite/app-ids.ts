// Authenticator applications an environment accepts registrations from (beside the built-in one).
import type { AppId } from '../../model/records.ts';
import type { AppIdStore } from '../store.ts';
import { type SqliteDb } from './db.ts';
import { toAppId } from '../rows.ts';


export class SqliteAppIds implements AppIdStore {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  add(a: AppId): Promise<void> {
    return this.#db.async(() => {
      this.#db.insert('INSERT INTO app_ids (env_id, app_id, name, created_at) VALUES (?, ?, ?, ?)',
        `app id ${a.appId} is already known`, a.envId, a.appId, a.name, a.createdAt);
    });
  }

  get(envId: string, appId: string): Promise<AppId | undefined> {
    return this.#db.async(() => this.#db.one(toAppId, 'SELECT * FROM app_ids WHERE env_id = ? AND app_id = ?', envId, appId));
  }

  list(envId: string): Promise<AppId[]> {
    return this.#db.async(() => this.#db.all('SELECT * FROM app_ids WHERE env_id = ? ORDER BY created_at, app_id', envId).map(toAppId));
  }
}
