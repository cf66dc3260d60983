// Session tokens for the Veeam-compatible API (SPEC S5): a person signs in with a password (or an
// admin mints one with the CLI) and gets a JWT of kind `session+jwt`, signed by the environment's
// key, whose audience is that environment's session API. Nothing else is accepted as a session.
import { signSessionToken, verifySessionToken } from '../crypto/jwt.ts';
import type { Clock } from '../model/clock.ts';
import type { Environment, User } from '../model/records.ts';
import type { Store } from '../store/store.ts';
import { CoreError } from './errors.ts';
import type { KeyRing } from './key-ring.ts';
import type { PasswordSignIn } from './sign-in.ts';
import type { Telemetry } from './telemetry.ts';
import type { EnvironmentUrls } from './urls.ts';

export interface SessionDeps {
  store: Store;
  clock: Clock;
  keys: KeyRing;
  passwords: PasswordSignIn;
  telemetry: Telemetry;
  lifetimeSeconds: number;
  clockToleranceSeconds: number;
}

export interface IssuedSession {
  accessToken: string;
  expiresIn: number;
  issuedAt: number;
  expiresAt: number;
}

type SessionUrls = Pick<EnvironmentUrls, 'issuer' | 'sessionApi'>;

export class SessionTokens {
  readonly #d: SessionDeps;

  constructor(deps: SessionDeps) {
    this.#d = deps;
  }

  /** The password grant: invalid_credentials for a wrong password, an unknown or a disabled user alike. */
  async passwordGrant(env: Environment, urls: SessionUrls, username: string, password: string): Promise<IssuedSession> {
    return this.mint(env, urls, await this.#d.passwords.signIn(env.id, username, password));
  }

  async mint(env: Environment, urls: SessionUrls, user: User): Promise<IssuedSession> {
    if (user.disabled || user.envId !== env.id) throw new CoreError('invalid_credentials', 'this user cannot sign in');
    const now = this.#d.clock.now();
    const lifetime = this.#d.lifetimeSeconds;
    const accessToken = await signSessionToken(await this.#d.keys.activeKey(env.id), {
      issuer: urls.issuer, subject: user.id, audience: urls.sessionApi, lifetimeSeconds: lifetime, now,
    });
    this.#d.telemetry.tokenIssued('session');
    const issuedAt = Math.floor(now / 1000) * 1000;
    return { accessToken, expiresIn: lifetime, issuedAt, expiresAt: issuedAt + lifetime * 1000 };
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
    if (!v.ok) throw new CoreError('invalid_token', 'the access token is missing, invalid or expired', { logReason: v.reason });
    // The session ends with the account: a disabled or deleted user's token stops working at once.
    const user = await this.#d.store.users.get(env.id, v.claims.subject);
    if (!user || user.disabled) throw new CoreError('invalid_token', 'the access token is missing, invalid or expired', { logReason: 'the user is disabled or gone' });
    return user;
  }
}
