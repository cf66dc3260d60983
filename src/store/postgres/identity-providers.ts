// The upstream OpenID Providers each environment's people may sign in with (README "Command line").
import type { IdentityProvider } from '../../model/records.ts';
import type { IdentityProviderStore } from '../store.ts';
import { type PgDb } from './db.ts';
import { identityProviderColumns, toIdentityProvider } from '../rows.ts';

const COLUMNS = 'env_id, name, display_name, issuer, client_id, client_secret_enc, scope, claim_username, claim_email, claim_name, created_at';


export class PgIdentityProviders implements IdentityProviderStore {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  create(p: IdentityProvider): Promise<void> {
    return this.#db.insert({
      text: `INSERT INTO identity_providers (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, values: identityProviderColumns(p),
    }, `identity provider ${p.name} exists`);
  }

  get(envId: string, name: string): Promise<IdentityProvider | undefined> {
    return this.#db.one(toIdentityProvider, {
      name: 'idp_get', text: `SELECT ${COLUMNS} FROM identity_providers WHERE env_id = $1 AND name = $2`, values: [envId, name],
    });
  }

  list(envId: string): Promise<IdentityProvider[]> {
    // Names are [a-z0-9-]: "C" orders them as SQLite does.
    return this.#db.all(toIdentityProvider, {
      text: `SELECT ${COLUMNS} FROM identity_providers WHERE env_id = $1 ORDER BY name COLLATE "C"`, values: [envId],
    });
  }

  async delete(envId: string, name: string): Promise<boolean> {
    return await this.#db.run({ text: 'DELETE FROM identity_providers WHERE env_id = $1 AND name = $2', values: [envId, name] }) === 1;
  }
}
