// The embedded store: one SQLite file in WAL mode, one repository per kind of record. The only
// module tree that imports better-sqlite3, but for copy-store's reader of a SQLite file
// (postgres/copy-from-sqlite.ts, loaded only by that command).
import { closeSync, fchmodSync, openSync, rmSync } from 'node:fs';
import { EXPIRED_RETENTION_MS, GUESS_RETENTION_MS } from '../retention.ts';
import type { Store, SweepResult } from '../store.ts';
import { SqliteAdminKeys } from './admin-keys.ts';
import { SqliteAppIds } from './app-ids.ts';
import { SqliteAudit } from './audit.ts';
import { Checkpointer } from './checkpointer.ts';
import { SqliteClientCache } from './client-cache.ts';
import { SqliteClients } from './clients.ts';
import { SqliteDb } from './db.ts';
import { SqliteDeviceAuthorizations } from './device-authorizations.ts';
import { SqliteEnvironments } from './environments.ts';
import { SqliteFlows } from './flows.ts';
import { SqliteGrants } from './grants.ts';
import { SqliteGuesses } from './guesses.ts';
import { SqliteIdentityProviders } from './identity-providers.ts';
import { isMigrated, migrate } from './migrate.ts';
import { SqliteRefreshTokens } from './refresh-tokens.ts';
import { SqliteRegisteredDevices } from './registered-devices.ts';
import { SqliteRegistrationCodes } from './registration-codes.ts';
import { SqliteRevokedAccessTokens } from './revoked-access-tokens.ts';
import { SqliteSigningKeys } from './signing-keys.ts';
import { SqliteUsers } from './users.ts';

export { EXPIRED_RETENTION_MS, GUESS_RETENTION_MS };

/** better-sqlite3 clamps a step's page count to 0…2^31-1 (SQLite's "-1 = all" is not reachable). */
const ALL_PAGES = 0x7fffffff;

export interface SqliteStoreOptions {
  /** Path of the database file; ':memory:' is accepted for throwaway tools, never for tests of the store. */
  file: string;
  now: number;
  /** Apply pending migrations on open (the server does; `migrate` is the explicit form). */
  migrate?: boolean;
  /**
   * SQLite's synchronous setting (default normal). In WAL mode normal loses no commit when the
   * process dies, only when the machine does (the last commits since a checkpoint); full syncs the
   * WAL at every commit and survives a power loss too, at the cost of an fsync per write.
   */
  synchronous?: 'normal' | 'full';
  /** Audit events also go to the webhook's outbox (AUDIT_WEBHOOK_URL is set). */
  auditOutbox?: boolean;
  /**
   * Checkpoint the WAL from a thread of its own (checkpointer.ts) rather than in the commit that
   * crosses the threshold (default false): what a server does; a CLI command's few writes need not.
   */
  backgroundCheckpoints?: boolean;
  /** Keep clients in memory, checked against other connections' commits (client-cache.ts; default false): what a server does. */
  clientCache?: boolean;
}

export class SqliteStore implements Store {
  readonly #db: SqliteDb;
  /** The background checkpoints' thread, when asked for (a file, not ':memory:'). */
  readonly checkpointer: Checkpointer | undefined;
  /** A server instance's clients in memory (client-cache.ts), when asked for. */
  readonly clientCache: SqliteClientCache | undefined;
  readonly environments: SqliteEnvironments;
  readonly clients: SqliteClients;
  readonly users: SqliteUsers;
  readonly identityProviders: SqliteIdentityProviders;
  readonly deviceAuthorizations: SqliteDeviceAuthorizations;
  readonly flows: SqliteFlows;
  readonly guesses: SqliteGuesses;
  readonly signingKeys: SqliteSigningKeys;
  readonly adminKeys: SqliteAdminKeys;
  readonly appIds: SqliteAppIds;
  readonly registrationCodes: SqliteRegistrationCodes;
  readonly registeredDevices: SqliteRegisteredDevices;
  readonly grants: SqliteGrants;
  readonly refreshTokens: SqliteRefreshTokens;
  readonly revokedAccessTokens: SqliteRevokedAccessTokens;
  readonly audit: SqliteAudit;
  readonly auditOutbox: SqliteAudit;

  constructor(opts: SqliteStoreOptions) {
    const db = new SqliteDb(opts.file, opts.synchronous ?? 'normal');
    db.auditOutbox = opts.auditOutbox ?? false;
    this.#db = db;
    try {
      if (opts.migrate ?? true) migrate(db.db, opts.now);
    } catch (err) {
      db.close();
      throw err;
    }
    this.environments = new SqliteEnvironments(db);
    const clientCache = opts.clientCache === true ? new SqliteClientCache() : undefined;
    if (clientCache !== undefined) db.onVersion = (version) => { clientCache.observe(version); };
    this.clientCache = clientCache;
    this.clients = new SqliteClients(db, clientCache);
    this.users = new SqliteUsers(db);
    this.identityProviders = new SqliteIdentityProviders(db);
    this.deviceAuthorizations = new SqliteDeviceAuthorizations(db);
    this.flows = new SqliteFlows(db);
    this.guesses = new SqliteGuesses(db);
    this.signingKeys = new SqliteSigningKeys(db);
    this.adminKeys = new SqliteAdminKeys(db);
    this.appIds = new SqliteAppIds(db);
    this.registrationCodes = new SqliteRegistrationCodes(db);
    this.registeredDevices = new SqliteRegisteredDevices(db);
    this.grants = new SqliteGrants(db);
    this.refreshTokens = new SqliteRefreshTokens(db);
    this.revokedAccessTokens = new SqliteRevokedAccessTokens(db);
    this.audit = new SqliteAudit(db);
    this.auditOutbox = this.audit;
    // Last, once nothing above can throw: a store that fails to open leaves no thread behind.
    this.checkpointer = (opts.backgroundCheckpoints ?? false) && opts.file !== ':memory:'
      ? new Checkpointer(opts.file, opts.synchronous ?? 'normal')
      : undefined;
  }

  ping(): Promise<void> {
    return this.#db.async(() => void this.#db.get('SELECT 1'));
  }

  isMigrated(): Promise<boolean> {
    return this.#db.async(() => isMigrated(this.#db.db));
  }

  sweep(now: number, auditBefore?: number): Promise<SweepResult> {
    const db = this.#db;
    return db.async(() => {
      const deviceAuthorizations = db.run('DELETE FROM device_authorizations WHERE expires_at < ?', now - EXPIRED_RETENTION_MS);
      const flows = db.run('DELETE FROM flows WHERE expires_at < ?', now);
      const registrationCodes = db.run('DELETE FROM registration_codes WHERE expires_at < ?', now);
      const codeGuesses = db.run('DELETE FROM code_guess_failures WHERE at < ?', now - GUESS_RETENTION_MS);
      const signingKeys = db.run(`DELETE FROM signing_keys WHERE status = 'retired' AND retired_until < ?`, now);
      // Ended grants go with their refresh tokens; their access tokens introspect as inactive either way.
      // One DELETE per way a grant ends, each on its index: SQLite plans the three as one OR as a scan.
      const grants = db.run('DELETE FROM grants WHERE revoked_at IS NOT NULL')
        + db.run('DELETE FROM grants WHERE idle_expires_at < ?', now)
        + db.run('DELETE FROM grants WHERE absolute_expires_at < ?', now);
      const revokedAccessTokens = db.run('DELETE FROM revoked_access_tokens WHERE expires_at < ?', now);
      // An outbox row whose event is swept is dropped when its turn comes (SqliteAudit.deliverNext).
      const auditEvents = auditBefore === undefined ? 0 : db.run('DELETE FROM audit_events WHERE at < ?', auditBefore);
      return { deviceAuthorizations, flows, registrationCodes, codeGuesses, signingKeys, grants, revokedAccessTokens, auditEvents };
    });
  }

  /**
   * SQLite's online backup API. Every step after the first copies all pages at once, in one read
   * transaction: a consistent snapshot that (in WAL mode) never blocks writers. A write by another
   * connection between steps makes SQLite restart the copy, and the next step is again all of it:
   * with small steps, a large database under constant writes could restart for ever.
   */
  async backup(file: string): Promise<void> {
    // Created here, exclusively and 0600 whatever the umask; SQLite writes into the empty file.
    const fd = openSync(file, 'wx', 0o600);
    try {
      fchmodSync(fd, 0o600);
    } finally {
      closeSync(fd);
    }
    try {
      this.#db.endRead();
      await this.#db.db.backup(file, { progress: () => ALL_PAGES });
    } catch (err) {
      for (const f of [file, `${file}-journal`]) rmSync(f, { force: true });
      throw err;
    }
  }

  /** The synchronous setting this connection runs with, as SQLite reports it. */
  get synchronous(): 'normal' | 'full' | 'other' {
    const level = this.#db.db.pragma('synchronous', { simple: true });
    return level === 1 ? 'normal' : level === 2 ? 'full' : 'other';
  }

  /**
   * SQLite's max_page_count on this connection: the file may not grow past `pages` pages (never less
   * than it holds now; 0 only reads the cap). Writes that need room then fail with SQLITE_FULL, as
   * on a full disk. A lever for tests (test/reliability/full-disk.test.ts); nothing configures it.
   */
  maxPageCount(pages: number): number {
    if (!Number.isSafeInteger(pages) || pages < 0) throw new RangeError(`not a page count: ${pages}`);
    this.#db.endRead();
    return this.#db.db.pragma(`max_page_count = ${pages}`, { simple: true }) as number;
  }

  /**
   * The SQL of every statement this store has run so far. A lever for tests: the store contract on
   * SQLite collects them and checks each one's query plan (test/store/sqlite.test.ts).
   */
  preparedSql(): string[] {
    return this.#db.prepared;
  }

  async close(): Promise<void> {
    // The thread first: the server's connection, closing last, checkpoints what is left and removes the WAL.
    await this.checkpointer?.stop();
    await this.#db.async(() => {
      this.#db.close();
    });
  }
}
