// Environments (tenants).
import type { Environment } from '../../model/records.ts';
import type { EnvironmentStore } from '../store.ts';
import { type PgDb } from './db.ts';
import { toEnvironment } from '../rows.ts';

const COLUMNS = 'id, name, company_id, mfa_licensed, created_at';


export class PgEnvironments implements EnvironmentStore {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  create(env: Environment): Promise<void> {
    return this.#db.insert({
      text: `INSERT INTO environments (${COLUMNS}) VALUES ($1, $2, $3, $4, $5)`,
      values: [env.id, env.name, env.companyId, env.mfaLicensed, env.createdAt],
    }, `environment ${env.name} exists`);
  }

  get(id: string): Promise<Environment | undefined> {
    return this.#db.one(toEnvironment, { name: 'env_get', text: `SELECT ${COLUMNS} FROM environments WHERE id = $1`, values: [id] });
  }

  getByName(name: string): Promise<Environment | undefined> {
    return this.#db.one(toEnvironment, { text: `SELECT ${COLUMNS} FROM environments WHERE name = $1`, values: [name] });
  }

  list(): Promise<Environment[]> {
    return this.#db.all(toEnvironment, { text: `SELECT ${COLUMNS} FROM environments ORDER BY created_at, name COLLATE "C"` });
  }
}
