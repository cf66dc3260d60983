// The upstream OpenID Providers each environment's people may sign in with (README "Command line").
import type { IdentityProvider } from '../../model/records.ts';
import type { IdentityProviderStore } from '../store.ts';
import { type SqliteDb } from './db.ts';
import { identityProviderColumns, toIdentityProvider } from '../rows.ts';


export class SqliteIdentityProviders implements IdentityProviderStore {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  create(p: IdentityProvider): Promise<void> {
    return this.#db.async(() => {
      this.#db.insert(`INSERT INTO identity_providers (env_id, name, display_name, issuer, client_id, client_secret_enc, scope, claim_username,
        claim_email, claim_name, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, `identity provider ${p.name} exists`,
      ...identityProviderColumns(p));
    });
  }

  get(envId: string, name: string): Promise<IdentityProvider | undefined> {
    return this.#db.async(() => this.#db.one(toIdentityProvider, 'SELECT * FROM identity_providers WHERE env_id = ? AND name = ?', envId, name));
  }

  list(envId: string): Promise<IdentityProvider[]> {
    return this.#db.async(() => this.#db.all('SELECT * FROM identity_providers WHERE env_id = ? ORDER BY name', envId).map(toIdentityProvider));
  }

  delete(envId: string, name: string): Promise<boolean> {
    return this.#db.async(() => this.#db.run('DELETE FROM identity_providers WHERE env_id = ? AND name = ?', envId, name) === 1);
  }
}
