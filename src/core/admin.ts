// Administration of environments and clients (users: `users`, user-admin.ts; identity providers:
// `identityProviders`, idp-admin.ts): the CLI's, plus the default environment made at start and
// the account client the Veeam facade makes on first use.
import { randomBytes, randomUUID } from 'node:crypto';
import type { ScryptCost } from '../crypto/passwords.ts';
import type { SecretKeys } from '../crypto/secret.ts';
import type { Clock } from '../model/clock.ts';
import {
  DEFAULT_REFRESH, DEVICE_CODE_GRANT, NO_BRANDING, NO_DEVICE_POLICY, REFRESH_TOKEN_GRANT, type Client, type DeviceDefaults, type Environment,
} from '../model/records.ts';
import { StoreConflictError, type Store } from '../store/store.ts';
import { ref, type AuditTrail } from './audit.ts';
import { applyBranding, type BrandingUpdate } from './branding.ts';
import { CoreError } from './errors.ts';
import type { KeyRing } from './key-ring.ts';
import { OFFLINE_ACCESS } from './grants.ts';
import { IdentityProviderAdmin } from './idp-admin.ts';
import { UserAdmin } from './user-admin.ts';
import { canonicalCidrList } from './networks.ts';
import {
  clientName, devicePolicy, deviceScopeList, inRange,
  type ClientUpdate, type DeviceDefaultsUpdate, type NewClient,
} from './admin-input.ts';
import { isValidScopeToken, parseScopeList } from './scopes.ts';

export type { ClientUpdate, DeviceDefaultsUpdate, NewClient, NewIdentityProvider, NewUser, UserUpdate } from './admin-input.ts';
export { PROFILE_NAME_MAX } from './admin-input.ts';

export const DEFAULT_ENVIRONMENT_NAME = 'default';
export const DEFAULT_CLIENT_SCOPES = ['openid', 'profile', 'email'];
/** The display name of the environment's account client (docs/vendors.md), shown on the consent screen. */
export const ACCOUNT_CLIENT_NAME = 'Account sign-in';
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface AdminDeps {
  store: Store;
  clock: Clock;
  keys: KeyRing;
  /** Hashes generated client secrets. */
  secrets: SecretKeys;
  /** Every change made here is an `admin.changed` event, recorded right after it (the command line is its actor). */
  audit: AuditTrail;
  /** scrypt cost of new password hashes. */
  passwordCost: ScryptCost;
}

/** Records an operator's change as an `admin.changed` audit event; `details` names what changed, never a secret. */
export type RecordChange = (envId: string, subject: string, action: string, details?: Record<string, unknown>) => Promise<void>;

export class Admin {
  readonly #d: AdminDeps;
  /** People: create, change, disable, look up (user-admin.ts). */
  readonly users: UserAdmin;
  /** Upstream OpenID Providers people sign in through: add, list, remove (idp-admin.ts). */
  readonly identityProviders: IdentityProviderAdmin;

  constructor(deps: AdminDeps) {
    this.#d = deps;
    const changed: RecordChange = (envId, subject, action, details) => this.#changed(envId, subject, action, details);
    this.users = new UserAdmin(deps, changed);
    this.identityProviders = new IdentityProviderAdmin(deps, changed);
  }

  /** `mfaLicensed: false` makes the environment refuse RSA registration codes (RSA's licence refusal). */
  async createEnvironment(name: string, opts: { mfaLicensed?: boolean } = {}): Promise<Environment> {
    if (!/^[\w.-]{1,64}$/.test(name) || UUID.test(name)) {
      throw new CoreError('invalid_request', 'environment name: 1-64 letters, digits, dots, dashes or underscores, not a UUID');
    }
    const env: Environment = {
      id: randomUUID(), name, companyId: randomUUID(), mfaLicensed: opts.mfaLicensed ?? true, deviceDefaults: { networks: null, scopes: null },
      passwordSignIn: true, branding: { ...NO_BRANDING }, createdAt: this.#d.clock.now(),
    };
    try {
      await this.#d.store.environments.create(env);
    } catch (err) {
      if (err instanceof StoreConflictError) throw new CoreError('conflict', `an environment named ${name} exists`);
      throw err;
    }
    await this.#d.keys.ensureKey(env.id);
    await this.#changed(env.id, ref.environment(env.id), 'environment.created', { name, mfa_licensed: env.mfaLicensed });
    return env;
  }

  /** Records an operator's change; `details` names what changed, never a secret. */
  #changed(envId: string, subject: string, action: string, details: Record<string, unknown> = {}): Promise<void> {
    return this.#d.audit.record(this.#d.audit.event({ envId, type: 'admin.changed', actor: ref.cli, subject, details: { action, ...details } }));
  }

  /** The `default` environment, created on first start. */
  async ensureDefaultEnvironment(): Promise<Environment> {
    const existing = await this.#d.store.environments.getByName(DEFAULT_ENVIRONMENT_NAME);
    if (existing) {
      await this.#d.keys.ensureKey(existing.id);
      return existing;
    }
    try {
      return await this.createEnvironment(DEFAULT_ENVIRONMENT_NAME);
    } catch (err) {
      // Another process (CLI and server started together) created it first.
      const raced = await this.#d.store.environments.getByName(DEFAULT_ENVIRONMENT_NAME);
      if (raced) return raced;
      throw err;
    }
  }

  /** By id or by name; the default environment when `ref` is undefined. */
  async resolveEnvironment(ref: string | undefined): Promise<Environment> {
    if (ref === undefined) return this.ensureDefaultEnvironment();
    const env = UUID.test(ref) ? await this.#d.store.environments.get(ref.toLowerCase()) : await this.#d.store.environments.getByName(ref);
    if (!env) throw new CoreError('not_found', `no environment ${ref}`);
    return env;
  }

  listEnvironments(): Promise<Environment[]> {
    return this.#d.store.environments.list();
  }

  /**
   * The environment's device policy defaults (README "Device policy"): the networks and the most a
   * device login may ask for, for every client that sets none itself.
   */
  async setDeviceDefaults(env: Environment, input: DeviceDefaultsUpdate): Promise<Environment> {
    if (input.deviceNetworks === undefined && input.deviceScopes === undefined) throw new CoreError('invalid_request', 'nothing to change');
    // What another process set since `env` was read stays unless this changes it.
    const current = (await this.#d.store.environments.get(env.id))?.deviceDefaults ?? env.deviceDefaults;
    const defaults: DeviceDefaults = {
      networks: input.deviceNetworks === undefined ? current.networks : input.deviceNetworks === null ? null : canonicalCidrList(input.deviceNetworks),
      scopes: input.deviceScopes === undefined ? current.scopes : input.deviceScopes === null ? null : deviceScopeList(input.deviceScopes),
    };
    const updated = await this.#d.store.environments.setDeviceDefaults(env.id, defaults);
    if (!updated) throw new CoreError('not_found', `no environment ${env.name}`);
    await this.#changed(env.id, ref.environment(env.id), 'environment.updated', { device_defaults: defaults });
    return updated;
  }

  /**
   * The environment's look on the verification page (README "Branding and languages"): what
   * `update` gives replaces the stored value, an empty string clears it, the rest stays.
   */
  async setBranding(env: Environment, update: BrandingUpdate): Promise<Environment> {
    if (Object.values(update).every((v) => v === undefined)) throw new CoreError('invalid_request', 'nothing to change');
    // What another process set since `env` was read stays unless this changes it; a bad value changes nothing.
    const current = (await this.#d.store.environments.get(env.id))?.branding ?? env.branding;
    const branding = applyBranding(current, update);
    const updated = await this.#d.store.environments.setBranding(env.id, branding);
    if (!updated) throw new CoreError('not_found', `no environment ${env.name}`);
    await this.#changed(env.id, ref.environment(env.id), 'environment.updated', {
      branding: { display_name: branding.displayName, logo_url: branding.logoUrl, primary_color: branding.primaryColor, support_url: branding.supportUrl },
    });
    return updated;
  }

  /** Whether people may sign in with a password on the verification page (README "Command line"). */
  async setPasswordSignIn(env: Environment, on: boolean): Promise<Environment> {
    const updated = await this.#d.store.environments.setPasswordSignIn(env.id, on);
    if (!updated) throw new CoreError('not_found', `no environment ${env.name}`);
    await this.#changed(env.id, ref.environment(env.id), 'environment.updated', { password_sign_in: on });
    return updated;
  }

  /** Returns the client and, for confidential clients, its secret: shown once, stored only as a hash. */
  async createClient(input: NewClient): Promise<{ client: Client; secret?: string }> {
    const name = clientName(input.name);
    const listed = input.scope === undefined ? DEFAULT_CLIENT_SCOPES : parseScopeList(input.scope);
    if (listed.some((s) => !isValidScopeToken(s))) throw new CoreError('invalid_scope', 'scope is malformed');
    const refreshTokens = input.refreshTokens === true;
    if (!refreshTokens && (input.refreshAlways === true || input.noRotation === true
      || input.refreshIdleSeconds !== undefined || input.refreshLifetimeSeconds !== undefined)) {
      throw new CoreError('invalid_request', 'refresh settings need refresh tokens enabled');
    }
    if (input.noRotation === true && input.confidential !== true) throw new CoreError('invalid_request', 'public clients always rotate refresh tokens');
    // offline_access asks for a refresh token: on a client that issues none, every device login
    // asking for it would be refused (core/scopes.ts).
    if (!refreshTokens && listed.includes(OFFLINE_ACCESS)) {
      throw new CoreError('invalid_scope', 'offline_access needs refresh tokens enabled', { target: 'scope' });
    }
    const scopes = refreshTokens && !listed.includes(OFFLINE_ACCESS) ? [...listed, OFFLINE_ACCESS] : listed;
    const absoluteSeconds = inRange('refresh lifetime', input.refreshLifetimeSeconds ?? DEFAULT_REFRESH.absoluteSeconds, 60, 10 * 365 * 86_400);
    const idleSeconds = inRange('refresh idle time', input.refreshIdleSeconds ?? Math.min(DEFAULT_REFRESH.idleSeconds, absoluteSeconds), 60, absoluteSeconds);
    const secret = input.confidential ? randomBytes(32).toString('base64url') : undefined;
    const client: Client = {
      envId: input.envId,
      clientId: randomUUID(),
      name,
      type: secret === undefined ? 'public' : 'confidential',
      secretHash: secret === undefined ? null : this.#d.secrets.hashClientSecret(secret),
      grantTypes: refreshTokens ? [DEVICE_CODE_GRANT, REFRESH_TOKEN_GRANT] : [DEVICE_CODE_GRANT],
      scopes,
      codeLifetime: inRange('code lifetime', input.codeLifetime ?? 600, 1, 3600),
      pollInterval: inRange('poll interval', input.pollInterval ?? 5, 1, 60),
      tokenLifetime: inRange('token lifetime', input.tokenLifetime ?? 3600, 60, 86_400),
      audience: input.audience ?? null,
      purpose: null,
      refresh: { always: input.refreshAlways === true, rotation: input.noRotation !== true, idleSeconds, absoluteSeconds },
      devicePolicy: devicePolicy(input, scopes, NO_DEVICE_POLICY),
      createdAt: this.#d.clock.now(),
    };
    await this.#d.store.clients.create(client);
    await this.#changed(client.envId, ref.client(client.clientId), 'client.created', { name: client.name, type: client.type, scope: client.scopes.join(' ') });
    return secret === undefined ? { client } : { client, secret };
  }

  /**
   * Changes a client's name, lifetimes and device policy, with createClient's checks, and may turn
   * refresh tokens on (offline_access joins its scopes); its id, type and secret stay, and its
   * scopes and grant types otherwise. Codes already issued keep the lifetime and interval they
   * were given; the policy applies from the next device authorization and code entry (the scope
   * ceiling also at redemption).
   */
  async updateClient(envId: string, clientId: string, input: ClientUpdate): Promise<Client> {
    if (Object.values(input).every((v) => v === undefined)) throw new CoreError('invalid_request', 'nothing to change');
    const current = await this.#d.store.clients.get(envId, clientId);
    if (!current) throw new CoreError('not_found', `no client ${clientId}`);
    const refreshChange = input.refreshIdleSeconds !== undefined || input.refreshLifetimeSeconds !== undefined;
    const refreshTokens = input.refreshTokens === true || current.grantTypes.includes(REFRESH_TOKEN_GRANT);
    if (refreshChange && !refreshTokens) {
      throw new CoreError('invalid_request', 'refresh settings need refresh tokens enabled');
    }
    const absoluteSeconds = inRange('refresh lifetime', input.refreshLifetimeSeconds ?? current.refresh.absoluteSeconds, 60, 10 * 365 * 86_400);
    const idleSeconds = inRange('refresh idle time', input.refreshIdleSeconds ?? Math.min(current.refresh.idleSeconds, absoluteSeconds), 60, absoluteSeconds);
    const client: Client = {
      ...current,
      name: input.name === undefined ? current.name : clientName(input.name),
      grantTypes: refreshTokens && !current.grantTypes.includes(REFRESH_TOKEN_GRANT) ? [...current.grantTypes, REFRESH_TOKEN_GRANT] : current.grantTypes,
      scopes: refreshTokens && !current.scopes.includes(OFFLINE_ACCESS) ? [...current.scopes, OFFLINE_ACCESS] : current.scopes,
      codeLifetime: inRange('code lifetime', input.codeLifetime ?? current.codeLifetime, 1, 3600),
      pollInterval: inRange('poll interval', input.pollInterval ?? current.pollInterval, 1, 60),
      tokenLifetime: inRange('token lifetime', input.tokenLifetime ?? current.tokenLifetime, 60, 86_400),
      refresh: { ...current.refresh, idleSeconds, absoluteSeconds },
      devicePolicy: devicePolicy(input, current.scopes, current.devicePolicy),
    };
    if (!(await this.#d.store.clients.update(client))) throw new CoreError('not_found', `no client ${clientId}`);
    const fields = Object.entries(input).filter(([, v]) => v !== undefined).map(([k]) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
    await this.#changed(envId, ref.client(clientId), 'client.updated', { fields });
    return client;
  }

  listClients(envId: string): Promise<Client[]> {
    return this.#d.store.clients.list(envId);
  }

  /** Deletes the client and ends its device authorizations: none of its codes can be approved or redeemed after. */
  async deleteClient(envId: string, clientId: string): Promise<void> {
    if (!(await this.#d.store.clients.delete(envId, clientId))) throw new CoreError('not_found', `no client ${clientId}`);
    await this.#changed(envId, ref.client(clientId), 'client.deleted');
  }

  /**
   * The environment's account client (docs/vendors.md): a public device client created on first use and
   * listed like any other. Two first uses at once create one client (a UNIQUE index decides).
   */
  async accountClient(env: Environment): Promise<Client> {
    const existing = await this.#d.store.clients.getByPurpose(env.id, 'account');
    if (existing) return existing;
    const client: Client = {
      envId: env.id,
      clientId: randomUUID(),
      name: ACCOUNT_CLIENT_NAME,
      type: 'public',
      secretHash: null,
      // Refresh tokens renew Veeam sessions (session grants belong to this client).
      grantTypes: [DEVICE_CODE_GRANT, REFRESH_TOKEN_GRANT],
      scopes: DEFAULT_CLIENT_SCOPES,
      codeLifetime: 600,
      pollInterval: 5,
      tokenLifetime: 3600,
      audience: null,
      purpose: 'account',
      refresh: { ...DEFAULT_REFRESH },
      devicePolicy: { ...NO_DEVICE_POLICY },
      createdAt: this.#d.clock.now(),
    };
    try {
      await this.#d.store.clients.create(client);
      return client;
    } catch (err) {
      const raced = err instanceof StoreConflictError ? await this.#d.store.clients.getByPurpose(env.id, 'account') : undefined;
      if (raced) return raced;
      throw err;
    }
  }
}
