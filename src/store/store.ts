// The storage contract: one small repository per kind of record, implemented on SQLite
// (store/sqlite), on PostgreSQL for several instances (store/postgres, docs/architecture.md) and,
// for the guess budget alone, on Redis (redis/guesses.ts). Signatures are async because PostgreSQL
// and Redis answer over the network (SQLite's synchronous answers are wrapped); every state change
// is a single conditional write or one transaction, so the rules hold under concurrency and across
// processes. test/store/contract/ holds every implementation to them.
import type {
  AdminKey, AppId, AuditEvent, AuditEventType, Authentication, Branding, Client, DeviceAuthorization, DeviceDefaults, DeviceStatus, Environment, Flow,
  FlowStatus, Grant, IdentityProvider, RefreshTokenRecord, RegisteredDevice, RegistrationCode, RequestContext, SigningKeyRecord, User,
} from '../model/records.ts';

/**
 * The audit events of a write, made from what it wrote and stored in its transaction, so a change
 * and its event are committed together or not at all. Called only when the write took place.
 */
export type AuditOf<R> = (result: R) => readonly AuditEvent[];

export interface AuditFilter {
  envId?: string;
  types?: readonly AuditEventType[];
  /** Events whose actor or subject is this reference (e.g. `user:<id>`). */
  party?: string;
  /** At or after this time. */
  since?: number;
  /** The newest this many (still listed oldest first). */
  limit: number;
}

export interface AuditStore {
  /** Appends events that accompany no other write (a failed sign-in, an exhausted limit). */
  append(events: readonly AuditEvent[]): Promise<void>;
  /** Matching events, oldest first. */
  list(filter: AuditFilter): Promise<AuditEvent[]>;
}

/** A batch of one environment's undelivered events, oldest first, and how often it failed. */
export interface OutboxBatch {
  envId: string;
  events: AuditEvent[];
  attempts: number;
}

/**
 * The durable outbox of the audit webhook: a row per event, written with the event when delivery is
 * on. Delivery is in order per environment and at least once: a batch leaves the outbox only after
 * its delivery was confirmed, and while one deliverer holds an environment's batch no other does.
 */
export interface AuditOutboxStore {
  /**
   * Offers the oldest due batch (at most `max` events) of one environment that no other deliverer
   * holds to `deliver`: when it resolves true the batch is removed, otherwise the batch's next
   * attempt is put off until `retryAt(attempts)`. False when nothing was due.
   */
  deliverNext(now: number, max: number, deliver: (batch: OutboxBatch) => Promise<boolean>, retryAt: (attempts: number) => number): Promise<boolean>;
  /** Events waiting for delivery. */
  pending(): Promise<number>;
}

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

export type InsertDeviceResult = 'ok' | 'user_code_taken';

/**
 * What is recorded with a decision made by a person on the verification page or the flow API
 * (README "Where a request came from"), for the audit trail to report.
 */
export interface DecisionRecord {
  /** Where the person deciding was. */
  approver: RequestContext | null;
  /** They were warned that their country or network was not the request's. */
  locationMismatch: boolean;
  /** "I didn't start this": a denial that also sets reported_at. */
  reported: boolean;
}

/** Which poll `DeviceAuthorizationStore.poll` may record, and by what rule. */
export interface PollAttempt {
  /** Only an authorization of this environment's… */
  envId: string;
  /** …and this client's is polled. */
  clientId: string;
  now: number;
  /** Seconds a poll that comes too soon adds to the interval (slowDownDue). */
  slowDownStep: number;
}

/** What `DeviceAuthorizationStore.poll` found, and whether it recorded this poll. */
export interface PollRead {
  /** The authorization as it was read, before this poll. */
  device: DeviceAuthorization;
  recorded: boolean;
}

/**
 * Whether a poll at `now` comes sooner than the interval after the previous one (docs/protocol.md:
 * such a poll gets slow_down, and the interval grows for good). The PostgreSQL store's poll
 * statement states the same rule in SQL.
 */
export function slowDownDue(device: Pick<DeviceAuthorization, 'lastPolledAt' | 'interval'>, now: number): boolean {
  return device.lastPolledAt !== null && now - device.lastPolledAt < device.interval * 1000;
}

/** The interval a poll at `now` leaves on `device`. */
export function intervalAfterPoll(device: Pick<DeviceAuthorization, 'lastPolledAt' | 'interval'>, now: number, slowDownStep: number): number {
  return slowDownDue(device, now) ? device.interval + slowDownStep : device.interval;
}

export interface DeviceAuthorizationStore {
  /**
   * Inserts a new pending authorization (with its source network; no grant yet); a user code
   * already held by a pending one is reported, not thrown.
   */
  insert(device: DeviceAuthorization, audit?: AuditOf<DeviceAuthorization>): Promise<InsertDeviceResult>;
  get(envId: string, id: string): Promise<DeviceAuthorization | undefined>;
  getByDeviceCodeHash(hash: string): Promise<DeviceAuthorization | undefined>;
  /** The newest authorization in the environment carrying this user code, whatever its state. */
  getByUserCodeHash(envId: string, hash: string): Promise<DeviceAuthorization | undefined>;
  /**
   * Records a poll if nobody else polled since `expectedLastPolledAt` (compare-and-set), setting the
   * interval to `interval`. Returns false when a concurrent poll won.
   */
  recordPoll(id: string, expectedLastPolledAt: number | null, now: number, interval: number): Promise<boolean>;
  /**
   * A poll of the token endpoint read and, where due, recorded: the authorization with this device
   * code hash (undefined: none), and whether this poll was recorded on it. It is recorded only when
   * the authorization is `attempt`'s client's, pending and unexpired at `attempt.now`, and nobody
   * else polled since it was read (recordPoll's compare-and-set, with the interval
   * intervalAfterPoll). One that met all of these and comes back not recorded lost to a concurrent
   * poll: read again. PostgreSQL does it in one statement, SQLite as getByDeviceCodeHash then recordPoll.
   */
  poll(hash: string, attempt: PollAttempt): Promise<PollRead | undefined>;
  /**
   * pending → approved|denied, only while pending and unexpired, with `record` (none: no approver
   * context, no mismatch, not reported). Returns the updated row or undefined.
   */
  decide(
    id: string, status: Extract<DeviceStatus, 'approved' | 'denied'>, userId: string, authentication: Authentication | null, now: number,
    record?: DecisionRecord,
    audit?: AuditOf<DeviceAuthorization>,
  ): Promise<DeviceAuthorization | undefined>;
  /** approved → consumed, only while approved and unexpired: the single step that lets a token out. */
  consume(id: string, now: number): Promise<DeviceAuthorization | undefined>;
  /**
   * consume() and GrantStore.create() of the approval's grant (and its first refresh token) in one
   * transaction: the code is spent only if the grant is stored, so a failed write (a full disk, a
   * crash) leaves the approval for the device's next poll. The consumed row names the grant
   * (`grantId`), so the code presented again can end it. Undefined when the code was not approved.
   */
  redeem(id: string, now: number, grant: Grant, refreshTokenHash: string | null, audit?: AuditOf<DeviceAuthorization>): Promise<DeviceAuthorization | undefined>;
}

export type DecideFlowResult = 'ok' | 'flow_changed' | 'device_unavailable';

export interface FlowPatch {
  status: FlowStatus;
  userId?: string;
  /** With userId: how the user signed in. */
  authentication?: Authentication;
  deviceId?: string;
  userCodeEnc?: string;
}

export interface FlowStore {
  create(flow: Flow): Promise<void>;
  /** An unexpired flow of the environment. */
  get(envId: string, id: string, now: number): Promise<Flow | undefined>;
  /** from → patch.status, only while in `from` and unexpired; renews expires_at. */
  transition(id: string, from: FlowStatus, patch: FlowPatch, now: number, expiresAt: number, audit?: AuditOf<Flow>): Promise<Flow | undefined>;
  /** Counts a wrong user code on a flow awaiting one; the flow becomes FAILED at `maxAttempts`. */
  recordFailure(id: string, maxAttempts: number, now: number, audit?: AuditOf<Flow>): Promise<Flow | undefined>;
  /**
   * The consent step as one transaction: the flow leaves DAG_CONSENT_REQUIRED (COMPLETED on accept,
   * FAILED on refusal) and its pending device authorization is approved or denied by the user. When
   * the device can no longer be decided (expired, or decided through another flow) the flow FAILS.
   * `record` is written on the device with the decision (a report must not accept).
   */
  decide(flowId: string, accept: boolean, now: number, record?: DecisionRecord, audit?: AuditOf<Flow>): Promise<DecideFlowResult>;
  /** Records an upstream sign-in under way, only while the flow awaits a sign-in and is unexpired. */
  beginFederation(id: string, stateHash: string, pendingEnc: string, now: number): Promise<Flow | undefined>;
  /** The unexpired flow of the environment whose upstream sign-in has this state. */
  getByFederationState(envId: string, stateHash: string, now: number): Promise<Flow | undefined>;
  /** Clears the upstream sign-in of the flow if it still has this state: true for exactly one caller. */
  takeFederation(id: string, stateHash: string, now: number): Promise<boolean>;
}

/** What taking a guess gave: a ticket to give it back with, or, when the budget was spent, its oldest guess. */
export type GuessTaken = { taken: true; ticket: string } | { taken: false; oldest: number | null };

/**
 * Guesses at short codes (user codes, registration codes) per source address, for sliding-window
 * budgets. A guess is taken before its code is checked, so concurrent guesses cannot all pass one
 * check of the count; a right code gives its guess back, and what stays counted is wrong codes.
 */
export interface GuessStore {
  /** Guesses of the source made after `since`, and the time of the oldest of them. */
  count(source: string, since: number): Promise<{ count: number; oldest: number | null }>;
  /**
   * Atomically, for every process sharing the store: when the source has made fewer than `max`
   * guesses after `since`, counts one more at `now` and returns its ticket; otherwise counts nothing.
   */
  take(source: string, now: number, since: number, max: number): Promise<GuessTaken>;
  /** Uncounts a guess that `take` counted (its code was right, or was never checked). */
  giveBack(source: string, ticket: string): Promise<void>;
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
