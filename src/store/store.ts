// The storage contract. Signatures are async so a PostgreSQL implementation (SPEC S10) can follow;
// every state change is a single conditional write, so the rules hold under concurrency.
import type { Client, DeviceAuthorization, DeviceStatus, Environment, Flow, FlowStatus, SigningKeyRecord, User } from '../core/model.ts';

export type InsertDeviceResult = 'ok' | 'user_code_taken';

export interface SweepResult {
  deviceAuthorizations: number;
  flows: number;
}

export type DecideFlowResult = 'ok' | 'flow_changed' | 'device_unavailable';

export interface Store {
  /** Confirms the database answers (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;

  createEnvironment(env: Environment): Promise<void>;
  getEnvironment(id: string): Promise<Environment | undefined>;
  getEnvironmentByName(name: string): Promise<Environment | undefined>;
  listEnvironments(): Promise<Environment[]>;

  /** Throws StoreConflictError when the client_id exists. */
  createClient(client: Client): Promise<void>;
  getClient(envId: string, clientId: string): Promise<Client | undefined>;
  listClients(envId: string): Promise<Client[]>;
  deleteClient(envId: string, clientId: string): Promise<boolean>;

  /** Throws StoreConflictError when the username or email (case-insensitive) is taken in the environment. */
  createUser(user: User): Promise<void>;
  getUser(envId: string, id: string): Promise<User | undefined>;
  getUserByUsername(envId: string, username: string): Promise<User | undefined>;
  listUsers(envId: string): Promise<User[]>;
  setUserDisabled(envId: string, username: string, disabled: boolean, now: number): Promise<User | undefined>;

  /** Inserts a new pending authorization; a user code already held by a pending one is reported, not thrown. */
  insertDeviceAuthorization(device: DeviceAuthorization): Promise<InsertDeviceResult>;
  getDeviceByDeviceCodeHash(hash: string): Promise<DeviceAuthorization | undefined>;
  /** The newest authorization in the environment carrying this user code, whatever its state. */
  getDeviceByUserCodeHash(envId: string, hash: string): Promise<DeviceAuthorization | undefined>;
  /**
   * Records a poll if nobody else polled since `expectedLastPolledAt` (compare-and-set), setting the
   * interval to `interval`. Returns false when a concurrent poll won.
   */
  recordPoll(id: string, expectedLastPolledAt: number | null, now: number, interval: number): Promise<boolean>;
  /** pending → approved|denied, only while pending and unexpired. Returns the updated row or undefined. */
  decideDevice(id: string, status: Extract<DeviceStatus, 'approved' | 'denied'>, userId: string, now: number): Promise<DeviceAuthorization | undefined>;
  /** approved → consumed, only while approved and unexpired: the single step that lets a token out. */
  consumeDevice(id: string, now: number): Promise<DeviceAuthorization | undefined>;

  getDevice(envId: string, id: string): Promise<DeviceAuthorization | undefined>;

  createFlow(flow: Flow): Promise<void>;
  /** An unexpired flow of the environment. */
  getFlow(envId: string, id: string, now: number): Promise<Flow | undefined>;
  /** from → patch.status, only while in `from` and unexpired; renews expires_at. */
  transitionFlow(id: string, from: FlowStatus, patch: { status: FlowStatus; userId?: string; deviceId?: string; userCodeEnc?: string }, now: number, expiresAt: number): Promise<Flow | undefined>;
  /** Counts a wrong user code on a flow awaiting one; the flow becomes FAILED at `maxAttempts`. */
  recordFlowFailure(id: string, maxAttempts: number, now: number): Promise<Flow | undefined>;
  /**
   * The consent step as one transaction: the flow leaves DAG_CONSENT_REQUIRED (COMPLETED on accept,
   * FAILED on refusal) and its pending device authorization is approved or denied by the user. When
   * the device can no longer be decided (expired, or decided through another flow) the flow FAILS.
   */
  decideFlow(flowId: string, accept: boolean, now: number): Promise<DecideFlowResult>;

  /** Wrong user codes from one source address since `since` (a sliding window). */
  countGuessFailures(source: string, since: number): Promise<{ count: number; oldest: number | null }>;
  recordGuessFailure(source: string, now: number): Promise<void>;

  listSigningKeys(envId: string): Promise<SigningKeyRecord[]>;
  insertSigningKey(key: SigningKeyRecord): Promise<void>;
  /** Marks every active key of the environment but `keepKid` retired until `retiredUntil`. */
  retireSigningKeys(envId: string, keepKid: string, retiredUntil: number): Promise<number>;

  /** Deletes rows no rule needs any more (expired authorizations and flows, guess failures past the longest window, dead keys). */
  sweep(now: number): Promise<SweepResult>;
}

export class StoreConflictError extends Error {
  override name = 'StoreConflictError';
}
