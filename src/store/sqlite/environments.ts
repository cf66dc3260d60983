// Environments (tenants).
import type { Branding, DeviceDefaults, Environment } from '../../model/records.ts';
import type { EnvironmentStore } from '../store.ts';
import { type SqliteDb } from './db.ts';
import { listColumn, toEnvironment } from '../rows.ts';


export class SqliteEnvironments implements EnvironmentStore {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  create(env: Environment): Promise<void> {
    return this.#db.async(() => {
      const b = env.branding;
      this.#db.insert(`INSERT INTO environments (id, name, company_id, mfa_licensed, device_networks, device_scopes, password_sign_in,
        display_name, logo_url, primary_color, support_url, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, `environment ${env.name} exists`, env.id, env.name, env.companyId, env.mfaLicensed ? 1 : 0,
      listColumn(env.deviceDefaults.networks), listColumn(env.deviceDefaults.scopes), env.passwordSignIn ? 1 : 0,
      b.displayName, b.logoUrl, b.primaryColor, b.supportUrl, env.createdAt);
    });
  }

  get(id: string): Promise<Environment | undefined> {
    return this.#db.async(() => this.#db.one(toEnvironment, 'SELECT * FROM environments WHERE id = ?', id));
  }

  getByName(name: string): Promise<Environment | undefined> {
    return this.#db.async(() => this.#db.one(toEnvironment, 'SELECT * FROM environments WHERE name = ?', name));
  }

  list(): Promise<Environment[]> {
    return this.#db.async(() => this.#db.all('SELECT * FROM environments ORDER BY created_at, name').map(toEnvironment));
  }

  setDeviceDefaults(id: string, defaults: DeviceDefaults): Promise<Environment | undefined> {
    return this.#db.async(() => this.#db.one(toEnvironment, 'UPDATE environments SET device_networks = ?, device_scopes = ? WHERE id = ? RETURNING *',
      listColumn(defaults.networks), listColumn(defaults.scopes), id));
  }

  setPasswordSignIn(id: string, on: boolean): Promise<Environment | undefined> {
    return this.#db.async(() => this.#db.one(toEnvironment, 'UPDATE environments SET password_sign_in = ? WHERE id = ? RETURNING *', on ? 1 : 0, id));
  }

  setBranding(id: string, b: Branding): Promise<Environment | undefined> {
    return this.#db.async(() => this.#db.one(toEnvironment,
      'UPDATE environments SET display_name = ?, logo_url = ?, primary_color = ?, support_url = ? WHERE id = ? RETURNING *',
      b.displayName, b.logoUrl, b.primaryColor, b.supportUrl, id));
  }
}
