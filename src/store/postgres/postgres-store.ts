// The shared store for several instances (docs/architecture.md): one PostgreSQL database through a
// pg Pool, one repository per kind of record, hand-written SQL. The only module tree that imports pg.
import { EXPIRED_RETENTION_MS, GUESS_RETENTION_MS } from '../retention.ts';
import type { Store, SweepResult } from '../store.ts';
import { PgAdminKeys } from './admin-keys.ts';
import { PgAppIds } from './app-ids.ts';
import { PgAudit } from './audit.ts';
import { ClientCache } from './client-cache.ts';
import { PgClients } from './clients.ts';
import { PgDb } from './db.ts';
import { PgDeviceAuthorizations } from './device-authorizations.ts';
import { PgEnvironments } from './environments.ts';
import { PgFlows } from './flows.ts';
import { PgGrants } from './grants.ts';
import { PgGuesses } from './guesses.ts';
import { PgIdentityProviders } from './identity-providers.ts';
import { isMigrated, migrate } from './migrate.ts';
import { PgRefreshTokens } from './refresh-tokens.ts';
import { PgRegisteredDevices } from './registered-devices.ts';
import { PgRegistrationCodes } from './registration-codes.ts';
import { PgRevokedAccessTokens } from './revoked-access-tokens.ts';
import { PgSigningKeys } from './signing-keys.ts';
import { PgUsers } from './users.ts';

export interface PostgresStoreOptions {
  /** postgres:// or postgresql:// URL. */
  url: string;
  /** Connections this instance's pool may open. */
  poolSize: number;
  now: number;
  /** Apply pending migrations on open (the server does; `migrate` is the explicit form). */
  migrate?: boolean;
  /** Audit events also go to the webhook's outbox (AUDIT_WEBHOOK_URL is set). */
  auditOutbox?: boolean;
  /** Keep clients in memory, forgetting each as any process changes it (a server instance; client-cache.ts). */
  clientCache?: boolean;
}

export class PostgresStore implements Store {
  readonly #db: PgDb;
  readonly environments: PgEnvironments;
  readonly clients: PgClients;
  readonly users: PgUsers;
  readonly identityProviders: PgIdentityProviders;
  readonly deviceAuthorizations: PgDeviceAuthorizations;
  readonly flows: PgFlows;
  readonly guesses: PgGuesses;
  readonly signingKeys: PgSigningKeys;
  readonly adminKeys: PgAdminKeys;
  readonly appIds: PgAppIds;
  readonly registrationCodes: PgRegistrationCodes;
  readonly registeredDevices: PgRegisteredDevices;
  readonly grants: PgGrants;
  readonly refreshTokens: PgRefreshTokens;
  readonly revokedAccessTokens: PgRevokedAccessTokens;
  readonly audit: PgAudit;
  readonly auditOutbox: PgAudit;
  // No backup(): PostgreSQL has its own tools (pg_dump), and the `backup` command says so.

  readonly #clientCache: ClientCache | undefined;

  private constructor(db: PgDb, clientCache: ClientCache | undefined) {
    this.#db = db;
    this.#clientCache = clientCache;
    this.environments = new PgEnvironments(db);
    this.clients = new PgClients(db, clientCache);
    this.users = new PgUsers(db);
    this.identityProviders = new PgIdentityProviders(db);
    this.deviceAuthorizations = new PgDeviceAuthorizations(db);
    this.flows = new PgFlows(db);
    this.guesses = new PgGuesses(db);
    this.signingKeys = new PgSigningKeys(db);
    this.adminKeys = new PgAdminKeys(db);
    this.appIds = new PgAppIds(db);
    this.registrationCodes = new PgRegistrationCodes(db);
    this.registeredDevices = new PgRegisteredDevices(db);
    this.grants = new PgGrants(db);
    this.refreshTokens = new PgRefreshTokens(db);
    this.revokedAccessTokens = new PgRevokedAccessTokens(db);
    this.audit = new PgAudit(db);
    this.auditOutbox = this.audit;
  }

  /** Connects (the first connection proves the URL) and applies pending migrations. */
  static async open(opts: PostgresStoreOptions): Promise<PostgresStore> {
    const db = new PgDb({ url: opts.url, poolSize: opts.poolSize });
    db.auditOutbox = opts.auditOutbox ?? false;
    try {
      if (opts.migrate ?? true) await migrate(db, opts.now);
      else await db.run({ text: 'SELECT 1' });
    } catch (err) {
      await db.close();
      throw err;
    }
    let clientCache: ClientCache | undefined;
    if (opts.clientCache === true) {
      clientCache = new ClientCache(() => db.unboundedClient());
      clientCache.start();
    }
    return new PostgresStore(db, clientCache);
  }

  /** The pool, for tools that work on whole tables (copy-store). */
  get db(): PgDb {
    return this.#db;
  }

  async ping(): Promise<void> {
    await this.#db.run({ name: 'ping', text: 'SELECT 1' });
  }

  isMigrated(): Promise<boolean> {
    return isMigrated(this.#db);
  }

  async sweep(now: number, auditBefore?: number): Promise<SweepResult> {
    const db = this.#db;
    const del = (text: string, ...values: unknown[]) => db.run({ text, values });
    const deviceAuthorizations = await del('DELETE FROM device_authorizations WHERE expires_at < $1', now - EXPIRED_RETENTION_MS);
    const flows = await del('DELETE FROM flows WHERE expires_at < $1', now);
    const registrationCodes = await del('DELETE FROM registration_codes WHERE expires_at < $1', now);
    const codeGuesses = await del('DELETE FROM code_guess_failures WHERE at < $1', now - GUESS_RETENTION_MS);
    const signingKeys = await del(`DELETE FROM signing_keys WHERE status = 'retired' AND retired_until < $1`, now);
    // Ended grants go with their refresh tokens (ON DELETE CASCADE); their access tokens introspect as inactive either way.
    const grants = await del('DELETE FROM grants WHERE revoked_at IS NOT NULL OR idle_expires_at < $1 OR absolute_expires_at < $1', now);
    const revokedAccessTokens = await del('DELETE FROM revoked_access_tokens WHERE expires_at < $1', now);
    // An outbox row whose event is swept is dropped when its turn comes (PgAudit.deliverNext).
    const auditEvents = auditBefore === undefined ? 0 : await del('DELETE FROM audit_events WHERE at < $1', auditBefore);
    return { deviceAuthorizations, flows, registrationCodes, codeGuesses, signingKeys, grants, revokedAccessTokens, auditEvents };
  }

  async close(): Promise<void> {
    await this.#clientCache?.close();
    await this.#db.close();
  }
}
