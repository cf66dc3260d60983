// The embedded store: better-sqlite3 in WAL mode. The only module that imports better-sqlite3.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Client, DeviceAuthorization, DeviceStatus, Environment, Flow, FlowStatus, SigningKeyRecord, User } from '../../core/model.ts';
import { StoreConflictError, type DecideFlowResult, type InsertDeviceResult, type Store, type SweepResult } from '../store.ts';
import { isMigrated, migrate } from './migrate.ts';

/** Expired authorizations are kept this long so late polls still get `expired_token`, then swept. */
export const EXPIRED_RETENTION_MS = 60 * 60 * 1000;
/** Guess failures are kept for the longest budget window there can be (GUESS_WINDOW_SECONDS ≤ 1 day). */
export const GUESS_RETENTION_MS = 24 * 60 * 60 * 1000;

type Row = Record<string, unknown>;
const str = (v: unknown): string => v as string;
const num = (v: unknown): number => v as number;
const optNum = (v: unknown): number | null => (v === null ? null : (v as number));
const optStr = (v: unknown): string | null => (v === null ? null : (v as string));

const toEnvironment = (r: Row): Environment => ({
  id: str(r.id),
  name: str(r.name),
  companyId: str(r.company_id),
  mfaLicensed: r.mfa_licensed === 1,
  createdAt: num(r.created_at),
});

const toClient = (r: Row): Client => ({
  envId: str(r.env_id),
  clientId: str(r.client_id),
  name: str(r.name),
  type: r.type === 'confidential' ? 'confidential' : 'public',
  secretHash: optStr(r.secret_hash),
  grantTypes: JSON.parse(str(r.grant_types)) as string[],
  scopes: JSON.parse(str(r.scopes)) as string[],
  codeLifetime: num(r.code_lifetime),
  pollInterval: num(r.poll_interval),
  tokenLifetime: num(r.token_lifetime),
  audience: optStr(r.audience),
  createdAt: num(r.created_at),
});

const toUser = (r: Row): User => ({
  id: str(r.id),
  envId: str(r.env_id),
  username: str(r.username),
  email: str(r.email),
  passwordHash: str(r.password_hash),
  disabled: r.disabled === 1,
  createdAt: num(r.created_at),
  updatedAt: num(r.updated_at),
});

const toDevice = (r: Row): DeviceAuthorization => ({
  id: str(r.id),
  envId: str(r.env_id),
  clientId: str(r.client_id),
  deviceCodeHash: str(r.device_code_hash),
  userCodeHash: str(r.user_code_hash),
  scope: str(r.scope),
  status: str(r.status) as DeviceStatus,
  expiresAt: num(r.expires_at),
  interval: num(r.interval),
  lastPolledAt: optNum(r.last_polled_at),
  userId: optStr(r.user_id),
  createdAt: num(r.created_at),
  decidedAt: optNum(r.decided_at),
});

const toFlow = (r: Row): Flow => ({
  id: str(r.id),
  envId: str(r.env_id),
  clientId: optStr(r.client_id),
  status: str(r.status) as FlowStatus,
  browserHash: str(r.browser_hash),
  userId: optStr(r.user_id),
  deviceId: optStr(r.device_id),
  userCodeEnc: optStr(r.user_code_enc),
  failedAttempts: num(r.failed_attempts),
  createdAt: num(r.created_at),
  updatedAt: num(r.updated_at),
  expiresAt: num(r.expires_at),
});

const toKey = (r: Row): SigningKeyRecord => ({
  kid: str(r.kid),
  envId: str(r.env_id),
  alg: r.alg === 'RS256' ? 'RS256' : 'ES256',
  publicJwk: str(r.public_jwk),
  privateJwkEnc: str(r.private_jwk_enc),
  status: r.status === 'retired' ? 'retired' : 'active',
  createdAt: num(r.created_at),
  retiredUntil: optNum(r.retired_until),
});

function isUniqueViolation(err: unknown): err is Error {
  const code = err instanceof Error && 'code' in err ? err.code : undefined;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

export interface SqliteStoreOptions {
  /** Path of the database file; ':memory:' is accepted for throwaway tools, never for tests of the store. */
  file: string;
  now: number;
  /** Apply pending migrations on open (the server does; `migrate` is the explicit form). */
  migrate?: boolean;
}

export class SqliteStore implements Store {
  readonly db: Database.Database;
  readonly #stmts = new Map<string, Database.Statement>();

  constructor(opts: SqliteStoreOptions) {
    if (opts.file !== ':memory:') mkdirSync(path.dirname(opts.file), { recursive: true });
    this.db = new Database(opts.file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    if (opts.migrate ?? true) migrate(this.db, opts.now);
  }

  /** Prepared statements are cached: polling is the hot path. */
  #s(sql: string): Database.Statement {
    let stmt = this.#stmts.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.#stmts.set(sql, stmt);
    }
    return stmt;
  }

  #get(sql: string, ...params: unknown[]): Row | undefined {
    return this.#s(sql).get(...params) as Row | undefined;
  }

  #all(sql: string, ...params: unknown[]): Row[] {
    return this.#s(sql).all(...params) as Row[];
  }

  #one<T>(map: (r: Row) => T, sql: string, ...params: unknown[]): T | undefined {
    const r = this.#get(sql, ...params);
    return r === undefined ? undefined : map(r);
  }

  /** An INSERT whose UNIQUE violations become StoreConflictError. */
  #insert(sql: string, conflict: string, ...params: unknown[]): void {
    try {
      this.#s(sql).run(...params);
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreConflictError(conflict);
      throw err;
    }
  }

  /** better-sqlite3 is synchronous; this gives every call the async contract (throws become rejections). */
  #run<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  isMigrated(): boolean {
    return isMigrated(this.db);
  }

  ping(): Promise<void> {
    return this.#run(() => void this.#get('SELECT 1'));
  }

  close(): Promise<void> {
    return this.#run(() => {
      if (!this.db.open) return;
      this.#stmts.clear();
      this.db.close();
    });
  }

  createEnvironment(env: Environment): Promise<void> {
    return this.#run(() => {
      this.#insert('INSERT INTO environments (id, name, company_id, mfa_licensed, created_at) VALUES (?, ?, ?, ?, ?)',
        `environment ${env.name} exists`, env.id, env.name, env.companyId, env.mfaLicensed ? 1 : 0, env.createdAt);
    });
  }

  getEnvironment(id: string): Promise<Environment | undefined> {
    return this.#run(() => this.#one(toEnvironment, 'SELECT * FROM environments WHERE id = ?', id));
  }

  getEnvironmentByName(name: string): Promise<Environment | undefined> {
    return this.#run(() => this.#one(toEnvironment, 'SELECT * FROM environments WHERE name = ?', name));
  }

  listEnvironments(): Promise<Environment[]> {
    return this.#run(() => this.#all('SELECT * FROM environments ORDER BY created_at, name').map(toEnvironment));
  }

  createClient(c: Client): Promise<void> {
    return this.#run(() => {
      this.#insert(`INSERT INTO clients (env_id, client_id, name, type, secret_hash, grant_types, scopes, code_lifetime,
        poll_interval, token_lifetime, audience, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      `client ${c.clientId} exists`,
      c.envId, c.clientId, c.name, c.type, c.secretHash, JSON.stringify(c.grantTypes), JSON.stringify(c.scopes),
      c.codeLifetime, c.pollInterval, c.tokenLifetime, c.audience, c.createdAt);
    });
  }

  getClient(envId: string, clientId: string): Promise<Client | undefined> {
    return this.#run(() => this.#one(toClient, 'SELECT * FROM clients WHERE env_id = ? AND client_id = ?', envId, clientId));
  }

  listClients(envId: string): Promise<Client[]> {
    return this.#run(() => this.#all('SELECT * FROM clients WHERE env_id = ? ORDER BY created_at, client_id', envId).map(toClient));
  }

  deleteClient(envId: string, clientId: string): Promise<boolean> {
    return this.#run(() => this.#s('DELETE FROM clients WHERE env_id = ? AND client_id = ?').run(envId, clientId).changes > 0);
  }

  createUser(u: User): Promise<void> {
    return this.#run(() => {
      this.#insert(`INSERT INTO users (id, env_id, username, email, password_hash, disabled, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, 'username or email already in use',
      u.id, u.envId, u.username, u.email, u.passwordHash, u.disabled ? 1 : 0, u.createdAt, u.updatedAt);
    });
  }

  getUser(envId: string, id: string): Promise<User | undefined> {
    return this.#run(() => this.#one(toUser, 'SELECT * FROM users WHERE env_id = ? AND id = ?', envId, id));
  }

  getUserByUsername(envId: string, username: string): Promise<User | undefined> {
    return this.#run(() => this.#one(toUser, 'SELECT * FROM users WHERE env_id = ? AND username = ?', envId, username));
  }

  listUsers(envId: string): Promise<User[]> {
    return this.#run(() => this.#all('SELECT * FROM users WHERE env_id = ? ORDER BY created_at, username', envId).map(toUser));
  }

  setUserDisabled(envId: string, username: string, disabled: boolean, now: number): Promise<User | undefined> {
    return this.#run(() => this.#one(toUser,
      'UPDATE users SET disabled = ?, updated_at = ? WHERE env_id = ? AND username = ? RETURNING *',
      disabled ? 1 : 0, now, envId, username));
  }

  insertDeviceAuthorization(d: DeviceAuthorization): Promise<InsertDeviceResult> {
    return this.#run((): InsertDeviceResult => {
      try {
        this.#s(`INSERT INTO device_authorizations (id, env_id, client_id, device_code_hash, user_code_hash, scope, status,
          expires_at, interval, last_polled_at, user_id, created_at, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
          d.id, d.envId, d.clientId, d.deviceCodeHash, d.userCodeHash, d.scope, d.status, d.expiresAt, d.interval,
          d.lastPolledAt, d.userId, d.createdAt, d.decidedAt);
        return 'ok';
      } catch (err) {
        if (isUniqueViolation(err) && err.message.includes('user_code_hash')) return 'user_code_taken';
        throw err;
      }
    });
  }

  getDeviceByDeviceCodeHash(hash: string): Promise<DeviceAuthorization | undefined> {
    return this.#run(() => this.#one(toDevice, 'SELECT * FROM device_authorizations WHERE device_code_hash = ?', hash));
  }

  getDeviceByUserCodeHash(envId: string, hash: string): Promise<DeviceAuthorization | undefined> {
    return this.#run(() => this.#one(toDevice,
      `SELECT * FROM device_authorizations WHERE env_id = ? AND user_code_hash = ?
       ORDER BY (status = 'pending') DESC, created_at DESC LIMIT 1`, envId, hash));
  }

  recordPoll(id: string, expectedLastPolledAt: number | null, now: number, interval: number): Promise<boolean> {
    return this.#run(() => this.#s(
      'UPDATE device_authorizations SET last_polled_at = ?, interval = ? WHERE id = ? AND last_polled_at IS ?',
    ).run(now, interval, id, expectedLastPolledAt).changes === 1);
  }

  decideDevice(id: string, status: Extract<DeviceStatus, 'approved' | 'denied'>, userId: string, now: number): Promise<DeviceAuthorization | undefined> {
    return this.#run(() => this.#one(toDevice,
      `UPDATE device_authorizations SET status = ?, user_id = ?, decided_at = ?
       WHERE id = ? AND status = 'pending' AND expires_at > ? RETURNING *`, status, userId, now, id, now));
  }

  consumeDevice(id: string, now: number): Promise<DeviceAuthorization | undefined> {
    return this.#run(() => this.#one(toDevice,
      `UPDATE device_authorizations SET status = 'consumed'
       WHERE id = ? AND status = 'approved' AND expires_at > ? RETURNING *`, id, now));
  }

  getDevice(envId: string, id: string): Promise<DeviceAuthorization | undefined> {
    return this.#run(() => this.#one(toDevice, 'SELECT * FROM device_authorizations WHERE env_id = ? AND id = ?', envId, id));
  }

  createFlow(f: Flow): Promise<void> {
    return this.#run(() => {
      this.#insert(`INSERT INTO flows (id, env_id, client_id, status, browser_hash, user_id, device_id, user_code_enc,
        failed_attempts, created_at, updated_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, `flow ${f.id} exists`,
      f.id, f.envId, f.clientId, f.status, f.browserHash, f.userId, f.deviceId, f.userCodeEnc, f.failedAttempts,
      f.createdAt, f.updatedAt, f.expiresAt);
    });
  }

  getFlow(envId: string, id: string, now: number): Promise<Flow | undefined> {
    return this.#run(() => this.#one(toFlow, 'SELECT * FROM flows WHERE env_id = ? AND id = ? AND expires_at > ?', envId, id, now));
  }

  transitionFlow(id: string, from: FlowStatus, patch: { status: FlowStatus; userId?: string; deviceId?: string; userCodeEnc?: string }, now: number, expiresAt: number): Promise<Flow | undefined> {
    return this.#run(() => this.#one(toFlow,
      `UPDATE flows SET status = ?, user_id = coalesce(?, user_id), device_id = coalesce(?, device_id),
         user_code_enc = coalesce(?, user_code_enc), updated_at = ?, expires_at = ?
       WHERE id = ? AND status = ? AND expires_at > ? RETURNING *`,
      patch.status, patch.userId ?? null, patch.deviceId ?? null, patch.userCodeEnc ?? null, now, expiresAt, id, from, now));
  }

  recordFlowFailure(id: string, maxAttempts: number, now: number): Promise<Flow | undefined> {
    return this.#run(() => this.#one(toFlow,
      `UPDATE flows SET failed_attempts = failed_attempts + 1, updated_at = ?,
         status = CASE WHEN failed_attempts + 1 >= ? THEN 'FAILED' ELSE status END
       WHERE id = ? AND status = 'DAG_USER_CODE_REQUIRED' AND expires_at > ? RETURNING *`,
      now, maxAttempts, id, now));
  }

  decideFlow(flowId: string, accept: boolean, now: number): Promise<DecideFlowResult> {
    return this.#run(() => this.db.transaction((): DecideFlowResult => {
      const flow = this.#one(toFlow,
        `UPDATE flows SET status = ?, updated_at = ? WHERE id = ? AND status = 'DAG_CONSENT_REQUIRED' AND expires_at > ? RETURNING *`,
        accept ? 'COMPLETED' : 'FAILED', now, flowId, now);
      if (!flow?.deviceId || !flow.userId) return 'flow_changed';
      const device = this.#s(`UPDATE device_authorizations SET status = ?, user_id = ?, decided_at = ?
        WHERE id = ? AND status = 'pending' AND expires_at > ?`).run(accept ? 'approved' : 'denied', flow.userId, now, flow.deviceId, now);
      if (device.changes === 1) return 'ok';
      this.#s(`UPDATE flows SET status = 'FAILED' WHERE id = ?`).run(flowId);
      return 'device_unavailable';
    }).immediate());
  }

  countGuessFailures(source: string, since: number): Promise<{ count: number; oldest: number | null }> {
    return this.#run(() => {
      const r = this.#get('SELECT count(*) AS n, min(at) AS oldest FROM code_guess_failures WHERE source = ? AND at > ?', source, since);
      return { count: num(r?.n ?? 0), oldest: optNum(r?.oldest ?? null) };
    });
  }

  recordGuessFailure(source: string, now: number): Promise<void> {
    return this.#run(() => void this.#s('INSERT INTO code_guess_failures (source, at) VALUES (?, ?)').run(source, now));
  }

  listSigningKeys(envId: string): Promise<SigningKeyRecord[]> {
    return this.#run(() => this.#all('SELECT * FROM signing_keys WHERE env_id = ? ORDER BY created_at', envId).map(toKey));
  }

  insertSigningKey(k: SigningKeyRecord): Promise<void> {
    return this.#run(() => {
      this.#insert(`INSERT INTO signing_keys (kid, env_id, alg, public_jwk, private_jwk_enc, status, created_at, retired_until)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, `key ${k.kid} exists`,
      k.kid, k.envId, k.alg, k.publicJwk, k.privateJwkEnc, k.status, k.createdAt, k.retiredUntil);
    });
  }

  retireSigningKeys(envId: string, keepKid: string, retiredUntil: number): Promise<number> {
    return this.#run(() => this.#s(
      `UPDATE signing_keys SET status = 'retired', retired_until = ? WHERE env_id = ? AND status = 'active' AND kid <> ?`,
    ).run(retiredUntil, envId, keepKid).changes);
  }

  sweep(now: number): Promise<SweepResult> {
    return this.#run(() => {
      const devices = this.#s('DELETE FROM device_authorizations WHERE expires_at < ?').run(now - EXPIRED_RETENTION_MS);
      const flows = this.#s('DELETE FROM flows WHERE expires_at < ?').run(now);
      this.#s('DELETE FROM code_guess_failures WHERE at < ?').run(now - GUESS_RETENTION_MS);
      this.#s(`DELETE FROM signing_keys WHERE status = 'retired' AND retired_until < ?`).run(now);
      return { deviceAuthorizations: devices.changes, flows: flows.changes };
    });
  }
}
