// The storage contract: one small repository per kind of record, implemented on SQLite
// (store/sqlite), on PostgreSQL for several instances (store/postgres, docs/architecture.md) and,
// for the guess budget alone, on Redis (redis/guesses.ts). Signatures are async because PostgreSQL
// and Redis answer over the network (SQLite's synchronous answers are wrapped); every state change
// is a single conditional write or one transaction, so the rules hold under concurrency and across
// processes. test/store/contract/ holds every implementation to them.
import type {
  AdminKey, AppId, Branding, Client, DeviceDefaults, Environment, Grant, IdentityProvider, RefreshTokenRecord, RegisteredDevice, RegistrationCode, RequestContext, SigningKeyRecord, User,
} from '../model/records.ts';
import type { AuditOf, AuditOutboxStore, AuditStore } from './audit-store.ts';
import type { DeviceAuthorizationStore, FlowStore, GuessStore } from './device-store.ts';

// The audit trail's contracts, and the device flow's (device authorizations, verification flows and
// the guess budget: the polling hot path), live beside this file; everything imports them from here.
export * from './audit-store.ts';
export * from './device-store.ts';

export interface EnvironmentStore {
  /** Throws StoreConflictError when the name exists. */
  create(env: Environment): Promise<void>;
  get(id: string): Promise<Environment | undefined>;
  getByName(name: string): Promise<Environment | undefined>;
  list(): Promise<Environment[]>;
  /** Replaces the environment's device policy defaults; returns the environment, undefined when there is none. */
  setDeviceDefaults(id: string, defaults: DeviceDefaults): Promise<Environment | undefined>;
  /** Turns password sign-in on the verification page on or off; returns the environment, undefined when there is none. */
  setPasswordSignIn(id: string, on: boolean): Promise<Environment | undefined>;
  /** Replaces the environment's branding on the verification page; returns the environment, undefined when there is none. */
  setBranding(id: string, branding: Branding): Promise<Environment | undefined>;
}

/** The upstream OpenID Providers of each environment (README "Command line"). */
export interface IdentityProviderStore {
  /** Throws StoreConflictError when the environment has a provider of that name. */
  create(p: IdentityProvider): Promise<void>;
  get(envId: string, name: string): Promise<IdentityProvider | undefined>;
  /** Ordered by name. */
  list(envId: string): Promise<IdentityProvider[]>;
  /** False when the environment has no provider of that name. The provider's users stay (and keep their grants). */
  delete(envId: string, name: string): Promise<boolean>;
}

export interface ClientStore {
  /** Throws StoreConflictError when the client_id (or the environment's account client) exists. */
  create(client: Client): Promise<void>;
  get(envId: string, clientId: string): Promise<Client | undefined>;
  /** The environment's client with this purpose (e.g. the account client), if it was created. */
  getByPurpose(envId: string, purpose: NonNullable<Client['purpose']>): Promise<Client | undefined>;
  list(envId: string): Promise<Client[]>;
  /** Replaces the client's settings (name, grants, scopes, lifetimes, audience, device policy); its id, type and secret stay. */
  update(client: Client): Promise<boolean>;
  /** Replaces the client's secret hash if it is still `from` (a stored hash rewritten in a new form); false otherwise. */
  setSecretHash(envId: string, clientId: string, from: string, to: string): Promise<boolean>;
  /** Deletes the client and, in the same transaction, its device authorizations: none can be redeemed after. */
  delete(envId: string, clientId: string): Promise<boolean>;
}

export interface UserStore {
  /**
   * Throws StoreConflictError when the username is taken in the environment, when a password
   * user's email (case-insensitive) is another password user's, or when a federated user's
   * (idpIssuer, idpSubject) is another's. Federated users' emails need not be unique: two people
   * with one address at two providers are two users.
   */
  create(user: User): Promise<void>;
  get(envId: string, id: string): Promise<User | undefined>;
  getByUsername(envId: string, username: string): Promise<User | undefined>;
  /**
   * The password user with this email, case-insensitive, as the UNIQUE index that holds their
   * emails; federated users, whose emails need not be unique, are not found by email.
   */
  getByEmail(envId: string, email: string): Promise<User | undefined>;
  /** The federated user who is `subject` (the upstream `sub`) at the issuer `idpIssuer` (OpenID Connect Core §5.7). */
  getByIdentity(envId: string, idpIssuer: string, subject: string): Promise<User | undefined>;
  list(envId: string): Promise<User[]>;
  /**
   * Disables or enables the user. Disabling also ends, in the same transaction, what the user had
   * given: every grant not yet revoked is revoked (its refresh and access tokens die, and stay dead
   * if the user is enabled again) and every approval no device has redeemed yet becomes a denial,
   * so nothing made before the disable comes back with an enable.
   */
  setDisabled(envId: string, username: string, disabled: boolean, now: number): Promise<User | undefined>;
  /** Replaces the hash only if it is still `expected` (a concurrent change wins). */
  setPasswordHash(envId: string, id: string, expected: string, hash: string, now: number): Promise<boolean>;
  /**
   * Writes the fields the patch has (a name set to null is cleared) and `updated_at = now`, in one
   * statement; returns the updated user, undefined when there is none. An `email` that differs from
   * the stored one while the patch has no `emailVerified` makes the email unverified: nobody has
   * vouched for the new address (decided in the same statement, so a concurrent change cannot slip
   * between the look and the write). Throws StoreConflictError when the email (case-insensitive)
   * is another user's in the environment.
   */
  updateProfile(envId: string, id: string, patch: UserProfilePatch, now: number): Promise<User | undefined>;
  /**
   * Refreshes a federated user's attributes from the upstream claims at each sign-in (username stays;
   * email, emailVerified, name, givenName, familyName as given), updated_at = now; undefined when none
   * (no such user, or a password user: their attributes are the operator's).
   */
  updateFederated(envId: string, id: string, attrs: FederatedAttributes, now: number): Promise<User | undefined>;
}

/** What UserStore.updateFederated writes: the upstream's claims as this sign-in gave them. */
export interface FederatedAttributes {
  email: string;
  emailVerified: boolean;
  name: string | null;
  givenName: string | null;
  familyName: string | null;
}

/** The profile fields UserStore.updateProfile writes; an absent field stays as it is. */
export interface UserProfilePatch {
  name?: string | null;
  givenName?: string | null;
  familyName?: string | null;
  email?: string;
  emailVerified?: boolean;
}

export interface SigningKeyStore {
  list(envId: string): Promise<SigningKeyRecord[]>;
  insert(key: SigningKeyRecord, audit?: AuditOf<SigningKeyRecord>): Promise<void>;
  /**
   * Inserts the environment's first active key, atomically for every process sharing the store:
   * false (nothing written) when the environment already has an active key.
   */
  insertFirst(key: SigningKeyRecord): Promise<boolean>;
  /** Marks every active key of the environment but `keepKid` retired until `retiredUntil`. */
  retire(envId: string, keepKid: string, retiredUntil: number): Promise<number>;
}

export interface AdminKeyStore {
  create(key: AdminKey): Promise<void>;
  /** By access id, across environments (the key names its environment). */
  get(accessId: string): Promise<AdminKey | undefined>;
  list(envId: string): Promise<AdminKey[]>;
  /** Sets revoked_at once; returns the key, or undefined when the environment has no such key. */
  revoke(envId: string, accessId: string, now: number): Promise<AdminKey | undefined>;
}

export interface AppIdStore {
  /** Throws StoreConflictError when the environment already knows the app id. */
  add(app: AppId): Promise<void>;
  get(envId: string, appId: string): Promise<AppId | undefined>;
  list(envId: string): Promise<AppId[]>;
}

export type IssueRegistrationResult = 'ok' | 'code_taken' | 'device_registered';
export type RedeemResult =
  | { outcome: 'ok'; device: RegisteredDevice }
  | { outcome: 'invalid_code' }
  | { outcome: 'user_disabled' }
  | { outcome: 'device_registered' };

export interface RegistrationCodeStore {
  /**
   * One transaction: refuses when the user has a registered device, otherwise the code replaces any
   * code the user holds (one live code per user). A hash already held by another user is reported.
   */
  issue(code: RegistrationCode, audit?: AuditOf<RegistrationCode>): Promise<IssueRegistrationResult>;
  /**
   * One transaction: the unexpired code for `appId` is consumed and the device registered (a
   * disabled user's code is refused and kept). The UNIQUE index on the user decides races: exactly
   * one registration per user can succeed.
   */
  redeem(codeHash: string, appId: string, device: Omit<RegisteredDevice, 'userId' | 'envId'>, now: number, audit?: AuditOf<RegisteredDevice>): Promise<RedeemResult>;
}

export interface RegisteredDeviceStore {
  listForUser(envId: string, userId: string): Promise<RegisteredDevice[]>;
  delete(envId: string, userId: string, deviceId: string): Promise<boolean>;
}

export interface GrantStore {
  /** A new grant and, when one is issued, its first refresh token, in one transaction. */
  create(grant: Grant, refreshTokenHash: string | null, audit?: AuditOf<Grant>): Promise<void>;
  get(envId: string, id: string): Promise<Grant | undefined>;
  /** The user's grants that are neither revoked nor expired, newest first. */
  listLive(envId: string, userId: string, now: number): Promise<Grant[]>;
  /** Ends the grant (and so every token of it); returns it, or undefined when the environment has no such grant. */
  revoke(envId: string, id: string, now: number, audit?: AuditOf<Grant>): Promise<Grant | undefined>;
}

export interface RefreshTokenStore {
  find(tokenHash: string): Promise<{ token: RefreshTokenRecord; grant: Grant } | undefined>;
  /**
   * One transaction: the token, if still active and its grant live, becomes rotated, `nextHash`
   * the grant's active token, and the grant is marked used. Of concurrent rotations of one token
   * exactly one succeeds; the others get false.
   */
  rotate(tokenHash: string, nextHash: string, now: number, idleExpiresAt: number, from: RequestContext | null, audit?: AuditOf<true>): Promise<boolean>;
  /**
   * The grace for a client that lost the answer to a refresh: every active token of the grant is
   * superseded (it never arrived, so presenting it later is reuse) and `nextHash` becomes the
   * active one, in one transaction.
   */
  reissue(grantId: string, nextHash: string, now: number, idleExpiresAt: number, from: RequestContext | null, audit?: AuditOf<true>): Promise<boolean>;
  /** No rotation (a confidential client that keeps its token): the grant is marked used. */
  touch(grantId: string, now: number, idleExpiresAt: number, from: RequestContext | null, audit?: AuditOf<true>): Promise<boolean>;
}

export interface RevokedAccessTokenStore {
  /** Remembers a revoked access token until it would have expired. */
  add(jti: string, envId: string, expiresAt: number): Promise<void>;
  has(jti: string): Promise<boolean>;
}

export interface SweepResult {
  deviceAuthorizations: number;
  flows: number;
  registrationCodes: number;
  /** Wrong-code records older than any budget window. */
  codeGuesses: number;
  /** Retired signing keys past their retired_until (no token they signed is still valid). */
  signingKeys: number;
  /** Revoked or expired grants, with their refresh tokens. */
  grants: number;
  /** Revoked access tokens past their expiry. */
  revokedAccessTokens: number;
  /** Audit events older than the retention (and their outbox rows). */
  auditEvents: number;
}

export interface Store {
  readonly environments: EnvironmentStore;
  readonly clients: ClientStore;
  readonly users: UserStore;
  readonly identityProviders: IdentityProviderStore;
  readonly deviceAuthorizations: DeviceAuthorizationStore;
  readonly flows: FlowStore;
  readonly guesses: GuessStore;
  readonly signingKeys: SigningKeyStore;
  readonly adminKeys: AdminKeyStore;
  readonly appIds: AppIdStore;
  readonly registrationCodes: RegistrationCodeStore;
  readonly registeredDevices: RegisteredDeviceStore;
  readonly grants: GrantStore;
  readonly refreshTokens: RefreshTokenStore;
  readonly revokedAccessTokens: RevokedAccessTokenStore;
  readonly audit: AuditStore;
  readonly auditOutbox: AuditOutboxStore;

  /** Confirms the database answers (readiness). */
  ping(): Promise<void>;
  /** True when every migration has been applied (readiness). */
  isMigrated(): Promise<boolean>;
  /** Deletes rows no rule needs any more (expired authorizations, flows and codes, old guesses, dead keys). */
  sweep(now: number, auditBefore?: number): Promise<SweepResult>;
  /**
   * A consistent online copy of the whole database into `file`, which must not exist (EEXIST
   * otherwise) and is created 0600; safe while other processes write. Optional: a store whose
   * engine has its own tools (PostgreSQL: pg_dump) leaves it out, and callers say so.
   */
  backup?(file: string): Promise<void>;
  close(): Promise<void>;
}

export class StoreConflictError extends Error {
  override name = 'StoreConflictError';
}

/**
 * The store that holds a budget cannot answer now (Redis unreachable, timed out or erring): the
 * budget cannot be checked, and what relies on it must refuse (fail closed) rather than guess.
 */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

/**
 * The database cannot be reached now (PostgreSQL restarting, failing over, refusing connections,
 * or a connection lost mid-request): the request fails and may be tried again in a few seconds.
 * A transaction cut off before its COMMIT was rolled back by the server.
 */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
}
