// Seeding the server's database before it starts, in this process, on the same DATA_DIR.
//
// Clients, grants, session tokens and the admin key go through the engine (openServices). Bulk rows
// (pending device codes, signed-in flows, users) are built exactly as the engine builds them
// (DeviceFlow.start, Verification.start + sign-in, Admin.createUser) and written through the
// store's own repository classes, but on a second connection and in transactions of 5,000: one
// engine start() is one autocommit (~0.5 ms with the table's four indexes), which would make 1M
// codes take ~8 minutes; batched it is ~20 s.
//
// With DATABASE_URL (the PostgreSQL phase) there is no second connection to share: the bulk rows go
// through the store's own repositories (the Store interfaces the server uses), BATCH writes in
// flight at a time over the pool's connections, so commits overlap (PostgreSQL group-commits
// concurrent ones) instead of waiting one by one.
import { randomBytes, randomUUID } from 'node:crypto';
import { createPrivateKey } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Config } from '../src/config.ts';
import { issueAccessToken } from '../src/core/access-tokens.ts';
import { passwordSignIn } from '../src/core/identity.ts';
import { FLOW_IDLE_MS } from '../src/core/verification.ts';
import { formatUserCode, generateDeviceCode, generateUserCode, timeOrderedUuid } from '../src/crypto/codes.ts';
import { hashPassword } from '../src/crypto/passwords.ts';
import type { Client, DeviceAuthorization, Environment, Flow, User } from '../src/model/records.ts';
import { openServices, type Services } from '../src/services.ts';
import type { DeviceAuthorizationStore, FlowStore, GrantStore, UserStore } from '../src/store/store.ts';
import { SqliteDb } from '../src/store/sqlite/db.ts';
import { SqliteDeviceAuthorizations } from '../src/store/sqlite/device-authorizations.ts';
import { SqliteFlows } from '../src/store/sqlite/flows.ts';
import { SqliteGrants } from '../src/store/sqlite/grants.ts';
import { SqliteUsers } from '../src/store/sqlite/users.ts';

export const RSA_APP_ID = '1f00c62b-a5c0-49d3-9ffb-92314d717187';
const BATCH = 5000;
const PASSWORD = 'correct horse battery staple';

export interface PendingCode {
  deviceCode: string;
  /** Display form, `XXXX-XXXX`. */
  userCode: string;
}

export class Seeder {
  readonly services: Services;
  readonly env: Environment;
  /** SQLite only: the second connection the bulk rows are written on. */
  readonly #raw: SqliteDb | undefined;
  readonly #devices: DeviceAuthorizationStore;
  readonly #flows: FlowStore;
  readonly #users: UserStore;
  readonly #grants: GrantStore;
  /** Canonical user codes handed out by this seeder: no two seeded codes collide (20^8 is only 2.6e10). */
  readonly #userCodes = new Set<string>();
  #passwordHash: string | undefined;

  private constructor(services: Services) {
    this.services = services;
    this.env = services.defaultEnv;
    if (services.config.databaseUrl === undefined) {
      const raw = new SqliteDb(services.config.databasePath);
      this.#raw = raw;
      this.#devices = new SqliteDeviceAuthorizations(raw);
      this.#flows = new SqliteFlows(raw);
      this.#users = new SqliteUsers(raw);
      this.#grants = new SqliteGrants(raw);
    } else {
      this.#raw = undefined;
      this.#devices = services.store.deviceAuthorizations;
      this.#flows = services.store.flows;
      this.#users = services.store.users;
      this.#grants = services.store.grants;
    }
  }

  static async open(config: Config): Promise<Seeder> {
    return new Seeder(await openServices(config));
  }

  async close(): Promise<void> {
    this.#raw?.close();
    await this.services.close();
  }

  /**
   * Runs `write` for 0..n-1, BATCH at a time: on SQLite each batch in one transaction, on PostgreSQL
   * each batch in flight at once over the pool. `write` returns the repository's promise.
   */
  async #batched(n: number, write: (i: number) => Promise<unknown>): Promise<void> {
    for (let start = 0; start < n; start += BATCH) {
      const pending: Promise<unknown>[] = [];
      const batch = () => {
        for (let i = start; i < Math.min(n, start + BATCH); i++) pending.push(write(i));
      };
      if (this.#raw === undefined) batch();
      else this.#raw.immediate(batch);
      // Group-committed writes (the device authorizations) commit after this transaction, as one group.
      const results = await Promise.all(pending);
      if (results.some((r) => r !== undefined && r !== 'ok')) throw new Error(`seeding: a write answered ${String(results.find((r) => r !== 'ok'))}`);
    }
  }

  client(opts: { name: string; codeLifetime?: number; refreshTokens?: boolean }): Promise<Client> {
    return this.services.admin.createClient({ envId: this.env.id, ...opts }).then((r) => r.client);
  }

  /** A confidential client and its secret, as `client create --confidential` makes them. */
  async confidentialClient(opts: { name: string; codeLifetime?: number }): Promise<{ client: Client; secret: string }> {
    const r = await this.services.admin.createClient({ envId: this.env.id, confidential: true, ...opts });
    if (r.secret === undefined) throw new Error('no secret');
    return { client: r.client, secret: r.secret };
  }

  /** `n` pending device authorizations of `client`, as DeviceFlow.start makes them. */
  pendingCodes(client: Client, n: number): Promise<PendingCode[]> {
    return this.#codes(client, n);
  }

  /**
   * `n` device authorizations of `client` for `scope`, approved by `user` (signed in with a
   * password just now), as a consent leaves them: each one's first poll redeems it for tokens.
   */
  approvedCodes(client: Client, user: User, scope: string, n: number): Promise<PendingCode[]> {
    return this.#codes(client, n, { user, scope });
  }

  async #codes(client: Client, n: number, approved?: { user: User; scope: string }): Promise<PendingCode[]> {
    const secrets = this.services.secrets;
    const format = this.services.config.userCode;
    const now = Date.now();
    const out: PendingCode[] = [];
    // A user code can still collide with one already live in the database (at 1M codes among 20^8,
    // a few do): the engine draws again, and so does this.
    const insert = async (i: number): Promise<unknown> => {
      let userCode: string;
      do userCode = generateUserCode(format); while (this.#userCodes.has(userCode));
      this.#userCodes.add(userCode);
      const deviceCode = generateDeviceCode();
      out[i] = { deviceCode, userCode: formatUserCode(userCode) };
      const record: DeviceAuthorization = {
        id: timeOrderedUuid(now), envId: this.env.id, clientId: client.clientId,
        deviceCodeHash: secrets.hashCode('device', deviceCode), userCodeHash: secrets.hashCode('user', userCode),
        scope: approved?.scope ?? client.scopes.join(' '), status: approved === undefined ? 'pending' : 'approved', expiresAt: now + client.codeLifetime * 1000,
        interval: client.pollInterval, lastPolledAt: null, userId: approved?.user.id ?? null, createdAt: now,
        decidedAt: approved === undefined ? null : now, authentication: approved === undefined ? null : passwordSignIn(now),
        sourceNetwork: '127.0.0.1', grantId: null, requestContext: null, approverContext: null, locationMismatch: false, reportedAt: null,
      };
      const result = await this.#devices.insert(record);
      return result === 'user_code_taken' ? insert(i) : result;
    };
    await this.#batched(n, insert);
    return out;
  }

  /** `n` users sharing one password hash (scrypt once, not n times). */
  async users(prefix: string, n: number): Promise<User[]> {
    this.#passwordHash ??= await hashPassword(PASSWORD, this.services.config.passwordCost);
    const hash = this.#passwordHash;
    const now = Date.now();
    const out: User[] = [];
    await this.#batched(n, (i) => {
      const username = `${prefix}${String(i).padStart(6, '0')}`;
      const user: User = {
        id: randomUUID(), envId: this.env.id, username, email: `${username}@bench.test`,
        passwordHash: hash, disabled: false, name: null, givenName: null, familyName: null, emailVerified: false, createdAt: now, updatedAt: now,
        idpIssuer: null, idpSubject: null,
      };
      out[i] = user;
      return this.#users.create(user);
    });
    return out;
  }

  /**
   * `n` flows bound to the browser holding `browserSecret`, already past sign-in (status
   * DAG_USER_CODE_REQUIRED, as Verification.signIn leaves them), for `user`.
   */
  async signedInFlows(user: User, browserSecret: string, n: number): Promise<string[]> {
    const browserHash = this.services.secrets.hashCode('flow', browserSecret);
    const now = Date.now();
    const ids: string[] = [];
    await this.#batched(n, (i) => {
      const flow: Flow = {
        id: randomUUID(), envId: this.env.id, clientId: null, status: 'DAG_USER_CODE_REQUIRED', browserHash,
        userId: user.id, deviceId: null, userCodeEnc: null, authentication: passwordSignIn(now), idpStateHash: null, idpPendingEnc: null, failedAttempts: 0, createdAt: now, updatedAt: now,
        expiresAt: now + FLOW_IDLE_MS,
      };
      ids[i] = flow.id;
      return this.#flows.create(flow);
    });
    return ids;
  }

  /** `n` refresh tokens of fresh grants (the engine's Grants.open), each the head of its own rotation chain. */
  async refreshChains(client: Client, user: User, n: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const opened = await this.services.grants.open(client, user, 'openid offline_access', 'device', true, passwordSignIn(Date.now()), null);
      if (opened.refreshToken === undefined) throw new Error('seeding: no refresh token');
      out.push(opened.refreshToken);
    }
    return out;
  }

  /**
   * Access tokens of `n` grants of `client` (no refresh tokens), spread over `users`, for `scope`:
   * each grant made as the engine's Grants.prepare makes it, written in batches like the codes, and
   * its access token signed with the environment's key as the token endpoint signs it
   * (issueAccessToken), so the server verifies them as its own. Valid for the client's token
   * lifetime (an hour by default).
   */
  async accessTokens(client: Client, users: User[], scope: string, n: number): Promise<string[]> {
    if (users.length === 0) throw new Error('seeding: no users for the grants');
    const issuer = this.services.urls.of(this.env).issuer;
    const now = Date.now();
    const grants: { grantId: string; userId: string }[] = [];
    await this.#batched(n, (i) => {
      const user = users[i % users.length] as User;
      const { grant } = this.services.grants.prepare(client, user, scope, 'device', false, passwordSignIn(now));
      grants[i] = { grantId: grant.id, userId: user.id };
      return this.#grants.create(grant, null);
    });
    const out: string[] = [];
    for (const g of grants) {
      out.push((await issueAccessToken(this.services.keys, { env: this.env, client, scope, issuer, now, ...g })).accessToken);
    }
    return out;
  }

  /** Veeam session tokens (SessionTokens.start, what the password grant ends in), one per user. */
  async sessionTokens(users: User[]): Promise<string[]> {
    const urls = this.services.urls.of(this.env);
    const out: string[] = [];
    for (const u of users) out.push((await this.services.sessions.start(this.env, urls, u)).accessToken);
    return out;
  }

  /** An admin key (helpdesk role) and an admin JWT signed with it, valid for an hour, as RSA clients sign them. */
  async adminJwt(): Promise<string> {
    const { file } = await this.services.adminKeys.create(this.env, 'helpdesk_admin', 'benchmark');
    const iat = Math.floor(Date.now() / 1000);
    return new SignJWT({ sub: file.accessID, aud: file.adminRestApiUrl, iat, exp: iat + 3600 })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
      .sign(createPrivateKey(file.accessKey));
  }
}

/** A browser secret, as GET /device sets it in the dcs_browser cookie. */
export function browserSecret(): string {
  return randomBytes(32).toString('base64url');
}
