// Administration of the upstream OpenID Providers an environment's people sign in through (the
// `idp` commands). Every change is an `admin.changed` audit event, recorded by the Admin that owns
// this (admin.ts).
import type { Environment, IdentityProvider } from '../model/records.ts';
import { StoreConflictError } from '../store/store.ts';
import type { AdminDeps, RecordChange } from './admin.ts';
import type { NewIdentityProvider } from './admin-input.ts';
import { CoreError } from './errors.ts';
import {
  checkClaims, checkClientId, checkClientSecret, checkDisplayName, checkIdpName, checkIdpScope, checkIssuer, DEFAULT_IDP_SCOPE, discoverProvider,
} from './identity-providers.ts';

export class IdentityProviderAdmin {
  readonly #d: Pick<AdminDeps, 'store' | 'clock' | 'secrets'>;
  readonly #changed: RecordChange;

  constructor(deps: Pick<AdminDeps, 'store' | 'clock' | 'secrets'>, changed: RecordChange) {
    this.#d = deps;
    this.#changed = changed;
  }

  /**
   * Adds an upstream OpenID Provider to the environment once its discovery document was fetched and
   * names exactly this issuer (src/core/identity-providers.ts); the client secret is stored only
   * encrypted with the server secret, and no message or event carries it.
   */
  async add(env: Environment, input: NewIdentityProvider): Promise<IdentityProvider> {
    const name = checkIdpName(input.name);
    const provider: IdentityProvider = {
      envId: env.id,
      name,
      displayName: checkDisplayName(input.displayName ?? name),
      issuer: checkIssuer(input.issuer),
      clientId: checkClientId(input.clientId),
      clientSecretEnc: null,
      scope: checkIdpScope(input.scope ?? DEFAULT_IDP_SCOPE),
      claims: checkClaims(input.claims),
      createdAt: this.#d.clock.now(),
    };
    const secret = input.clientSecret === null ? null : checkClientSecret(input.clientSecret);
    const taken = () => new CoreError('conflict', `an identity provider named ${name} exists in environment ${env.name}`, { target: 'name' });
    // Before the network: a taken name is known without asking the provider anything.
    if (await this.#d.store.identityProviders.get(env.id, name)) throw taken();
    await discoverProvider(provider.issuer);
    const stored = { ...provider, clientSecretEnc: secret === null ? null : this.#d.secrets.encrypt(secret) };
    try {
      await this.#d.store.identityProviders.create(stored);
    } catch (err) {
      if (err instanceof StoreConflictError) throw taken();
      throw err;
    }
    await this.#changed(env.id, `idp:${name}`, 'identity_provider.added', {
      name, issuer: stored.issuer, client_id: stored.clientId, public: secret === null, scope: stored.scope,
    });
    return stored;
  }

  list(envId: string): Promise<IdentityProvider[]> {
    return this.#d.store.identityProviders.list(envId);
  }

  /** Removes the provider: nobody can sign in through it after; its users stay, with their grants. */
  async remove(env: Environment, name: string): Promise<void> {
    if (!(await this.#d.store.identityProviders.delete(env.id, name))) {
      throw new CoreError('not_found', `no identity provider ${name} in environment ${env.name}`, { target: 'name' });
    }
    await this.#changed(env.id, `idp:${name}`, 'identity_provider.removed', { name });
  }
}
