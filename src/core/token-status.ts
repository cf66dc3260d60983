// Revocation (RFC 7009) and introspection (RFC 7662) of this server's tokens, for an
// authenticated client. A refresh token ends its grant; an access token is remembered by jti until
// it expires. An access token is active only while its signature, issuer, lifetime, its grant and
// its user all still stand, so revoking a grant makes every access token of it inactive at once.
import { REFRESH_TOKEN_PREFIX } from '../crypto/codes.ts';
import { verifyAccessToken, type AccessTokenClaims, type Verified } from '../crypto/jwt.ts';
import type { Clock } from '../model/clock.ts';
import type { Client, Environment, User } from '../model/records.ts';
import type { Store } from '../store/store.ts';
import { CoreError } from './errors.ts';
import { ref } from './audit.ts';
import type { Grants } from './grants.ts';
import { hasOpenId, OPENID, userClaims, type UserClaims } from './identity.ts';
import type { KeyRing } from './key-ring.ts';
import { outcomeOf, type Telemetry } from './telemetry.ts';

/** The longest access-token lifetime a client can be given (Admin.createClient's range). */
const MAX_ACCESS_TOKEN_SECONDS = 86_400;

export interface TokenStatusDeps {
  store: Store;
  clock: Clock;
  keys: KeyRing;
  grants: Grants;
  telemetry: Telemetry;
  clockToleranceSeconds: number;
}

export type Introspection =
  | { active: false }
  | {
    active: true;
    token_type: 'Bearer' | 'refresh_token';
    client_id: string;
    scope: string;
    sub: string;
    username: string;
    iat: number;
    exp: number;
    iss?: string;
    aud?: string[];
    jti?: string;
  };

/** A grant ended by someone else meanwhile: revocation answers 200 all the same (RFC 7009 §2.2). */
function alreadyEnded(err: unknown): void {
  if (!(err instanceof CoreError && err.code === 'not_found')) throw err;
}

export class TokenStatus {
  readonly #d: TokenStatusDeps;

  constructor(deps: TokenStatusDeps) {
    this.#d = deps;
  }

  /**
   * RFC 7009 §2.2: the answer is the same whether the token was valid, unknown, expired or someone
   * else's; only the client that holds a token can end it.
   */
  async revoke(env: Environment, client: Client, token: string, issuers: string[]): Promise<void> {
    if (token.startsWith(REFRESH_TOKEN_PREFIX)) {
      // A rotated-out token of the client's own grant ends it too, as its reuse at the token endpoint would.
      const grant = await this.#d.grants.liveByRefreshToken(env.id, token, { anyIssued: true });
      if (grant?.clientId === client.clientId) await this.#d.grants.revoke(env, grant.id, { by: 'refresh_token', actor: ref.client(client.clientId) }).catch(alreadyEnded);
      return;
    }
    const v = await this.#verify(env, token, issuers);
    const claims = v.ok ? v.claims : undefined;
    if (claims?.clientId !== client.clientId) return;
    await this.#d.store.revokedAccessTokens.add(claims.jti, env.id, claims.expiresAt * 1000);
    this.#d.telemetry.revocation('access_token');
  }

  /** RFC 7662 for resource servers: only confidential clients may ask (they authenticate). */
  async introspect(env: Environment, client: Client, token: string, issuers: string[]): Promise<Introspection> {
    if (client.type !== 'confidential') throw new CoreError('invalid_client', 'introspection is for confidential clients');
    return token.startsWith(REFRESH_TOKEN_PREFIX) ? this.#refreshToken(env, token) : this.#accessToken(env, token, issuers);
  }

  async #refreshToken(env: Environment, token: string): Promise<Introspection> {
    const grant = await this.#d.grants.liveByRefreshToken(env.id, token);
    const user = grant && (await this.#d.store.users.get(env.id, grant.userId));
    if (!grant || !user || user.disabled) return { active: false };
    return {
      active: true,
      token_type: 'refresh_token',
      client_id: grant.clientId,
      scope: grant.scope,
      sub: user.id,
      username: user.username,
      iat: Math.floor(grant.createdAt / 1000),
      exp: Math.floor(Math.min(grant.idleExpiresAt, grant.absoluteExpiresAt) / 1000),
    };
  }

  async #accessToken(env: Environment, token: string, issuers: string[]): Promise<Introspection> {
    const active = await this.#active(env, token, issuers);
    if (typeof active === 'string') return { active: false };
    const { claims, user } = active;
    return {
      active: true,
      token_type: 'Bearer',
      client_id: claims.clientId,
      scope: claims.scope,
      sub: claims.subject,
      username: user.username,
      iat: claims.issuedAt,
      exp: claims.expiresAt,
      iss: claims.issuer,
      aud: claims.audience,
      jti: claims.jti,
    };
  }

  /**
   * UserInfo (OpenID Connect Core §5.3): the claims of the person an active access token speaks
   * for, as its scope releases them; the token must have been granted `openid`. Anything inactive
   * (expired, revoked, its grant ended, its user disabled, another environment's, not an access
   * token at all) is invalid_token, as introspection would call it inactive.
   */
  async userInfo(env: Environment, token: string, issuers: string[]): Promise<UserClaims> {
    try {
      const active = await this.#active(env, token, issuers);
      if (typeof active === 'string') throw new CoreError('invalid_token', 'the access token is not active', { logReason: active });
      if (!hasOpenId(active.claims.scope)) {
        throw new CoreError('insufficient_scope', 'the access token was not granted the openid scope', { requiredScope: OPENID });
      }
      const claims = userClaims(active.user, active.claims.scope);
      this.#d.telemetry.userInfo('ok');
      return claims;
    } catch (err) {
      this.#d.telemetry.userInfo(outcomeOf(err));
      throw err;
    }
  }

  /** An access token's claims and user while it is active; otherwise why not (for logs). */
  async #active(env: Environment, token: string, issuers: string[]): Promise<{ claims: AccessTokenClaims; user: User } | string> {
    const v = await this.#verify(env, token, issuers);
    if (!v.ok) return v.reason;
    const claims = v.claims;
    // One indexed lookup each: the grant (by the id the token carries), the denylist, the user.
    const grant = claims.grantId === undefined ? undefined : await this.#d.grants.live(env.id, claims.grantId);
    if (!grant) return 'grant ended';
    if (await this.#d.store.revokedAccessTokens.has(claims.jti)) return 'revoked';
    const user = await this.#d.store.users.get(env.id, claims.subject);
    if (!user || user.disabled) return 'user disabled or gone';
    return { claims, user };
  }

  /** The signature, issuer and lifetime of an access token of this environment. */
  #verify(env: Environment, token: string, issuers: string[]): Promise<Verified<AccessTokenClaims>> {
    return verifyAccessToken(token, (kid) => this.#d.keys.verificationKey(env.id, kid), {
      issuer: issuers,
      now: this.#d.clock.now(),
      clockToleranceSeconds: this.#d.clockToleranceSeconds,
      maxLifetimeSeconds: MAX_ACCESS_TOKEN_SECONDS,
    });
  }
}
