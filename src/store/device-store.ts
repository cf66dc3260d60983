// The device flow's storage contract (store.ts has the rest): device authorizations, polled on the
// hot path; the verification flows that decide them; and the guess budget for short codes.
import type { Authentication, DeviceAuthorization, DeviceStatus, Flow, FlowStatus, Grant, RequestContext } from '../model/records.ts';
import type { AuditOf } from './audit-store.ts';

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
   * poll: read again. PostgreSQL does it in one statement, SQLite as a read by the hash, then
   * recordPoll's compare-and-set addressed by rowid.
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
