// Session tokens for the Veeam-compatible API (docs/vendors.md): a person signs in with a password
// (or an admin mints one with the CLI) and gets a JWT of kind `session+jwt`, signed by the
// environment's key, whose audience is that environment's session API. Nothing else is accepted as
// a session.
import { signSessionToken, verifySessionToken } from '../crypto/jwt.ts';
import type { Clock } from '../model/clock.ts';
import type { Client, Environment, RequestContext, User } from '../model/records.ts';
import type { Store } from '../store/store.ts';
import { ref, type AuditTrail } from './audit.ts';
import { CoreError } from './errors.ts';
import type { Grants } from './grants.ts';
import { passwordSignIn } from './identity.ts';
import type { KeyRing } from './key-ring.ts';
import type { PasswordSignIn } from './sign-in.ts';
import type { Telemetry } from './telemetry.ts';
import type { EnvironmentUrls } from './urls.ts';

export interface SessionDeps {
  store: Store;
  clock: Clock;
  keys: KeyRing;
  passwords: PasswordSignIn;
  grants: Grants;
  /** The environment's account client: session grants belong to it. */
  accountClient: (env: Environment) => Promise<Client>;
  telemetry: Telemetry;
  audit: AuditTrail;
  lifetimeSeconds: number;
  clockToleranceSeconds: number;
}

export interface IssuedSession {
  accessToken: string;
  expiresIn: number;
  issuedAt: number;
  expiresAt: number;
  /** Renews the session (grant_type=Refresh_token), rotated on every use. */
  refreshToken: string;
}

type SessionUrls = Pick<EnvironmentUrls, 'issuer' | 'sessionApi'>;

const INVALID = 'the access token is missing, invalid or expired';

export class SessionTokens {
  readonly #d: SessionDeps;

  constructor(deps: SessionDeps) {
    this.#d = deps;
  }

  /** The password grant: invalid_credentials for a wrong password, an unknown or a disabled user alike. */
  /** `from`: where the request came from, kept with the session's grant ("Your devices") and its audit event. */
  async passwordGrant(env: Environment, urls: SessionUrls, username: string, password: string, from: RequestContext | null = null): Promise<IssuedSession> {
    return this.start(env, urls, await this.#d.passwords.signIn(env.id, username, password), from);
  }

  /** A new session for the user: a grant of its own (listed and revocable like a device's) and its first token. */
  async start(env: Environment, urls: SessionUrls, user: User, from: RequestContext | null = null): Promise<IssuedSession> {
    if (user.disabled || user.envId !== env.id) throw new CoreError('invalid_credentials', 'this user cannot sign in');
    const opened = await this.#d.grants.open(await this.#d.accountClient(env), user, '', 'session', true, passwordSignIn(this.#d.clock.now()), from,
      (g) => [this.#d.audit.event({
        envId: g.envId, type: 'signin.succeeded', actor: ref.user(user.id), subject: ref.grant(g.id), source: from,
        details: { username: user.username, method: 'password', via: 'session_api' },
      })]);
    return this.#sign(env, urls, user, opened.grant.id, opened.refreshToken ?? '');
  }

  /** grant_type=Refresh_token: the session's refresh token, rotated, for a new session token (Grants.refresh's rules). */
  async refresh(env: Environment, urls: SessionUrls, refreshToken: string, from: RequestContext | null = null): Promise<IssuedSession> {
    // No account client yet means no session was ever started here: nothing to renew, nothing created.
    const client = await this.#d.store.clients.getByPurpose(env.id, 'account');
    if (!client) throw new CoreError('invalid_grant', 'unknown refresh token');
    const r = await this.#d.grants.refresh(env, client, refreshToken, undefined, 'session', from);
    return this.#sign(env, urls, r.user, r.grant.id, r.refreshToken);
  }

  async #sign(env: Environment, urls: SessionUrls, user: User, grantId: string, refreshToken: string): Promise<IssuedSession> {
    const now = this.#d.clock.now();
    const lifetime = this.#d.lifetimeSeconds;
    const accessToken = await signSessionToken(await this.#d.keys.activeKey(env.id), {
      issuer: urls.issuer, subject: user.id, audience: urls.sessionApi, grantId, lifetimeSeconds: lifetime, now,
    });
    this.#d.telemetry.tokenIssued('session');
    const issuedAt = Math.floor(now / 1000) * 1000;
    return { accessToken, expiresIn: lifetime, issuedAt, expiresAt: issuedAt + lifetime * 1000, refreshToken };
  }

  /** The user a bearer session token speaks for; invalid_token for anything else, with the reason logged by the caller. */
  async authenticate(env: Environment, urls: SessionUrls, token: string): Promise<User> {
    const v = await verifySessionToken(token, (kid) => this.#d.keys.verificationKey(env.id, kid), {
      issuer: urls.issuer,
      audience: urls.sessionApi,
      now: this.#d.clock.now(),
      clockToleranceSeconds: this.#d.clockToleranceSeconds,
      maxLifetimeSeconds: this.#d.lifetimeSeconds,
    });
    if (!v.ok) throw new CoreError('invalid_token', INVALID, { logReason: v.reason });
    // The session ends with its grant (signed out) and with the account (disabled or deleted), at once.
    if (v.claims.grantId === undefined || !(await this.#d.grants.live(env.id, v.claims.grantId))) {
      throw new CoreError('invalid_token', INVALID, { logReason: 'the session was ended' });
    }
    const user = await this.#d.store.users.get(env.id, v.claims.subject);
    if (!user || user.disabled) throw new CoreError('invalid_token', INVALID, { logReason: 'the user is disabled or gone' });
    return user;
  }
}
