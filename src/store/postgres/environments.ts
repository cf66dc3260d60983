// Environments (tenants).
import type { Branding, DeviceDefaults, Environment } from '../../model/records.ts';
import type { EnvironmentStore } from '../store.ts';
import { type PgDb } from './db.ts';
import { listColumn, toEnvironment } from '../rows.ts';

const COLUMNS = 'id, name, company_id, mfa_licensed, device_networks, device_scopes, password_sign_in, display_name, logo_url, primary_color, support_url, created_at';


export class PgEnvironments implements EnvironmentStore {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  create(env: Environment): Promise<void> {
    return this.#db.insert({
      text: `INSERT INTO environments (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      values: [env.id, env.name, env.companyId, env.mfaLicensed, listColumn(env.deviceDefaults.networks), listColumn(env.deviceDefaults.scopes),
        env.passwordSignIn, env.branding.displayName, env.branding.logoUrl, env.branding.primaryColor, env.branding.supportUrl, env.createdAt],
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

  setDeviceDefaults(id: string, defaults: DeviceDefaults): Promise<Environment | undefined> {
    return this.#db.one(toEnvironment, {
      text: `UPDATE environments SET device_networks = $1, device_scopes = $2 WHERE id = $3 RETURNING ${COLUMNS}`,
      values: [listColumn(defaults.networks), listColumn(defaults.scopes), id],
    });
  }

  setPasswordSignIn(id: string, on: boolean): Promise<Environment | undefined> {
    return this.#db.one(toEnvironment, {
      text: `UPDATE environments SET password_sign_in = $1 WHERE id = $2 RETURNING ${COLUMNS}`, values: [on, id],
    });
  }

  setBranding(id: string, b: Branding): Promise<Environment | undefined> {
    return this.#db.one(toEnvironment, {
      text: `UPDATE environments SET display_name = $1, logo_url = $2, primary_color = $3, support_url = $4 WHERE id = $5 RETURNING ${COLUMNS}`,
      values: [b.displayName, b.logoUrl, b.primaryColor, b.supportUrl, id],
    });
  }
}
