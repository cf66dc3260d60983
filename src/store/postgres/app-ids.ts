// Authenticator applications an environment accepts registrations from (beside the built-in one).
import type { AppId } from '../../model/records.ts';
import type { AppIdStore } from '../store.ts';
import { type PgDb } from './db.ts';
import { toAppId } from '../rows.ts';

const COLUMNS = 'env_id, app_id, name, created_at';


export class PgAppIds implements AppIdStore {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  add(a: AppId): Promise<void> {
    return this.#db.insert({ text: `INSERT INTO app_ids (${COLUMNS}) VALUES ($1, $2, $3, $4)`, values: [a.envId, a.appId, a.name, a.createdAt] },
      `app id ${a.appId} is already known`);
  }

  get(envId: string, appId: string): Promise<AppId | undefined> {
    return this.#db.one(toAppId, { text: `SELECT ${COLUMNS} FROM app_ids WHERE env_id = $1 AND app_id = $2`, values: [envId, appId] });
  }

  list(envId: string): Promise<AppId[]> {
    return this.#db.all(toAppId, {
      text: `SELECT ${COLUMNS} FROM app_ids WHERE env_id = $1 ORDER BY created_at, app_id COLLATE "C"`, values: [envId],
    });
  }
}
