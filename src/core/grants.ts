// Grants and refresh tokens (RFC 6749 §6, RFC 9700 §4.14; docs/protocol.md). A grant is one
// approval (user + client + scope + environment); every access token carries its id, and its
// refresh tokens are one family. A refresh token is rotated on every use (public clients always;
// confidential ones by client setting), and a rotated-out token presented again revokes the whole
// grant, after an optional grace for a client that lost the answer to its refresh. The user, the
// client and the environment are re-checked at every refresh.
//   issue ──▶ active ──refresh (rotate)──▶ rotated ──presented again──▶ grant revoked
import { randomUUID } from 'node:crypto';
import { generateRefreshToken, REFRESH_TOKEN_PREFIX } from '../crypto/codes.ts';
import type { SecretKeys } from '../crypto/secret.ts';
import type { Clock } from '../model/clock.ts';
import { REFRESH_TOKEN_GRANT, type Authentication, type Client, type RequestContext, type Environment, type Grant, type GrantKind, type User } from '../model/records.ts';
import type { AuditOf, Store } from '../store/store.ts';
import { ref, type AuditTrail } from './audit.ts';
import { CoreError } from './errors.ts';
import { OFFLINE_ACCESS, parseScopeList } from './scopes.ts';
import { outcomeOf, type Telemetry } from './telemetry.ts';

export { OFFLINE_ACCESS };

export interface GrantsDeps {
  store: Store;
  clock: Clock;
  secrets: SecretKeys;
  telemetry: Telemetry;
  /** How long a rotated-out token may be presented again without revoking the grant (default 0). */
  reuseGraceSeconds: number;
  audit: AuditTrail;
}

export interface OpenedGrant {
  grant: Grant;
  /** Issued when the client may have one (see wantsRefreshToken). */
  refreshToken?: string;
}

export interface PreparedGrant extends OpenedGrant {
  /** What the store keeps of the refresh token (null when none is issued). */
  refreshTokenHash: string | null;
}

export interface Refreshed {
  grant: Grant;
  user: User;
  /** The scope of the new access token: the grant's, or narrower when asked. */
  scope: string;
  /** The token to use next time: a new one after a rotation, else the one presented. */
  refreshToken: string;
}

/** A refresh token goes with a token when the client may use the grant and asked for offline access (or always gets one). */
export function wantsRefreshToken(client: Client, scope: string): boolean {
  return client.grantTypes.includes(REFRESH_TOKEN_GRANT) && (client.refresh.always || parseScopeList(scope).includes(OFFLINE_ACCESS));
}

export class Grants {
  readonly #d: GrantsDeps;

  constructor(deps: GrantsDeps) {
    this.#d = deps;
  }

  /**
   * A new grant for an approval, with its first refresh token when `withRefreshToken`, not yet
   * stored: the caller writes it in the same transaction as what it depends on (the device code
   * consumed, DeviceAuthorizationStore.redeem). The grant's lifetimes are the client's (a session
   * grant uses the same defaults through its client).
   */
  prepare(
    client: Client, user: User, scope: string, kind: GrantKind, withRefreshToken: boolean, authentication: Authentication | null,
    requestContext: RequestContext | null = null,
  ): PreparedGrant {
    const now = this.#d.clock.now();
    const absoluteExpiresAt = now + client.refresh.absoluteSeconds * 1000;
    const grant: Grant = {
      id: randomUUID(),
      envId: client.envId,
      userId: user.id,
      clientId: client.clientId,
      kind,
      scope,
      createdAt: now,
      lastUsedAt: now,
      idleExpiresAt: Math.min(now + client.refresh.idleSeconds * 1000, absoluteExpiresAt),
      absoluteExpiresAt,
      revokedAt: null,
      authentication,
      requestContext,
      lastUsedContext: null,
    };
    if (!withRefreshToken) return { grant, refreshTokenHash: null };
    const refreshToken = generateRefreshToken();
    return { grant, refreshToken, refreshTokenHash: this.#hash(refreshToken) };
  }

  /** A new grant (see prepare), stored on its own. */
  async open(
    client: Client, user: User, scope: string, kind: GrantKind, withRefreshToken: boolean, authentication: Authentication | null,
    requestContext: RequestContext | null, audit?: AuditOf<Grant>,
  ): Promise<OpenedGrant> {
    const prepared = this.prepare(client, user, scope, kind, withRefreshToken, authentication, requestContext);
    await this.#d.store.grants.create(prepared.grant, prepared.refreshTokenHash, audit);
    return prepared;
  }

  /** `grant_type=refresh_token` (RFC 6749 §6) for an authenticated client; `kind` is what the endpoint issues. */
  /** `from`: where the refresh came from, kept as the grant's last use ("Your devices"). */
  async refresh(
    env: Environment, client: Client, presented: string, requestedScope: string | undefined, kind: GrantKind, from: RequestContext | null = null,
  ): Promise<Refreshed> {
    try {
      const result = await this.#refresh(env, client, presented, requestedScope, kind, from);
      this.#d.telemetry.refresh('ok');
      return result;
    } catch (err) {
      this.#d.telemetry.refresh(outcomeOf(err));
      throw err;
    }
  }

  async #refresh(
    env: Environment, client: Client, presented: string, requestedScope: string | undefined, kind: GrantKind, from: RequestContext | null,
  ): Promise<Refreshed> {
    const invalid = (why: string) => new CoreError('invalid_grant', why);
    if (!presented.startsWith(REFRESH_TOKEN_PREFIX) || presented.length > 100) throw invalid('unknown refresh token');
    const hash = this.#hash(presented);
    const found = await this.#d.store.refreshTokens.find(hash);
    // Another client's or environment's token is unknown here: nothing about it is revealed or changed.
    if (!found || found.grant.envId !== env.id || found.grant.clientId !== client.clientId || found.grant.kind !== kind) {
      throw invalid('unknown refresh token');
    }
    const { token, grant } = found;
    const now = this.#d.clock.now();
    if (grant.revokedAt !== null) throw invalid('the grant has been revoked');
    if (now >= grant.idleExpiresAt || now >= grant.absoluteExpiresAt) throw invalid('the grant has expired');
    const grace = this.#d.reuseGraceSeconds * 1000;
    // With no grace (the default) any second presentation is reuse, even in the same millisecond.
    const inGrace = (rotatedAt: number | null) => grace > 0 && rotatedAt !== null && now - rotatedAt <= grace;
    // A superseded token was the answer a retry replaced: whoever presents it had it after all.
    if (token.status === 'superseded' || (token.status === 'rotated' && !inGrace(token.rotatedAt))) throw await this.#reused(grant);

    // Re-checked at every refresh: the approval does not outlive the user or the client's rights.
    const user = await this.#d.store.users.get(env.id, grant.userId);
    if (!user || user.disabled) throw invalid('the user is no longer active');
    if (!client.grantTypes.includes(REFRESH_TOKEN_GRANT)) throw new CoreError('unauthorized_client', 'this client may not use refresh tokens');
    const granted = parseScopeList(grant.scope);
    if (granted.some((s) => !client.scopes.includes(s))) throw invalid('the client may no longer use this scope');
    const scope = narrowed(granted, requestedScope);

    const idleExpiresAt = Math.min(now + client.refresh.idleSeconds * 1000, grant.absoluteExpiresAt);
    const rotates = client.type === 'public' || client.refresh.rotation;
    const refreshed = () => [this.#d.audit.event({
      envId: env.id, type: 'token.refreshed', actor: ref.client(client.clientId), subject: ref.grant(grant.id),
      details: { user_id: grant.userId, scope, rotated: rotates },
    })];
    if (!rotates) {
      if (!(await this.#d.store.refreshTokens.touch(grant.id, now, idleExpiresAt, from, refreshed))) throw invalid('the grant has been revoked');
      return { grant, user, scope, refreshToken: presented };
    }
    const next = generateRefreshToken();
    const nextHash = this.#hash(next);
    if (token.status === 'rotated') {
      // Within the grace: the client lost the answer; the token it never received is rotated out.
      if (!(await this.#d.store.refreshTokens.reissue(grant.id, nextHash, now, idleExpiresAt, from, refreshed))) throw invalid('the grant has been revoked');
    } else if (!(await this.#d.store.refreshTokens.rotate(hash, nextHash, now, idleExpiresAt, from, refreshed))) {
      // A concurrent refresh rotated it first: this presentation is a reuse like any other.
      const again = await this.#d.store.refreshTokens.find(hash);
      if (again?.token.status !== 'rotated' || !inGrace(again.token.rotatedAt)) throw await this.#reused(grant);
      if (!(await this.#d.store.refreshTokens.reissue(grant.id, nextHash, now, idleExpiresAt, from, refreshed))) throw invalid('the grant has been revoked');
    }
    return { grant, user, scope, refreshToken: next };
  }

  /** RFC 9700 §4.14.2: a refresh token used twice means it was copied; the whole family ends. */
  async #reused(grant: Grant): Promise<CoreError> {
    await this.#d.store.grants.revoke(grant.envId, grant.id, this.#d.clock.now(), (g) => [this.#d.audit.event({
      envId: g.envId, type: 'token.reuse_detected', actor: ref.client(g.clientId), subject: ref.grant(g.id), outcome: 'failure',
      details: { user_id: g.userId, grant_revoked: true },
    })]);
    this.#d.telemetry.refreshReuse();
    return new CoreError('invalid_grant', 'this refresh token was already used; the grant has been revoked');
  }

  /** The user's live grants (signed-in devices), newest first. */
  listLive(env: Environment, userId: string): Promise<Grant[]> {
    return this.#d.store.grants.listLive(env.id, userId, this.#d.clock.now());
  }

  /**
   * Ends a grant: its refresh tokens stop working and its access tokens introspect as inactive.
   * `userId`: only a grant of this user; `by`: what ended it, for the metric (a refresh token
   * revoked at the revocation endpoint, or the grant itself from the page or the CLI).
   */
  async revoke(env: Environment, grantId: string, o: { userId?: string; by?: 'grant' | 'refresh_token'; actor?: string } = {}): Promise<Grant> {
    const grant = await this.#d.store.grants.get(env.id, grantId);
    if (!grant || (o.userId !== undefined && grant.userId !== o.userId)) throw new CoreError('not_found', `no grant ${grantId}`);
    const revoked = await this.#d.store.grants.revoke(env.id, grantId, this.#d.clock.now(), (g) => [this.#d.audit.event({
      envId: g.envId, type: 'grant.revoked', actor: o.actor ?? (o.userId === undefined ? ref.cli : ref.user(o.userId)), subject: ref.grant(g.id),
      details: { user_id: g.userId, client_id: g.clientId, via: o.by === 'refresh_token' ? 'revocation_endpoint' : o.userId === undefined ? 'admin' : 'your_devices' },
    })]);
    if (!revoked) throw new CoreError('not_found', `no grant ${grantId}`);
    this.#d.telemetry.revocation(o.by ?? 'grant');
    return revoked;
  }

  /** A grant that still stands: not revoked, not expired (access tokens of other grants are inactive). */
  async live(envId: string, grantId: string): Promise<Grant | undefined> {
    const grant = await this.#d.store.grants.get(envId, grantId);
    const now = this.#d.clock.now();
    return grant && grant.revokedAt === null && now < grant.idleExpiresAt && now < grant.absoluteExpiresAt ? grant : undefined;
  }

  /**
   * The live grant of `envId` a refresh token belongs to: only while it is the grant's live token,
   * or (`anyIssued`) any token the grant ever issued, a rotated-out one included, which ends the
   * grant when revoked as when it is reused (RFC 9700 §4.14.2).
   */
  async liveByRefreshToken(envId: string, presented: string, o: { anyIssued?: boolean } = {}): Promise<Grant | undefined> {
    if (!presented.startsWith(REFRESH_TOKEN_PREFIX) || presented.length > 100) return undefined;
    const found = await this.#d.store.refreshTokens.find(this.#hash(presented));
    if (!found || (found.token.status !== 'active' && o.anyIssued !== true) || found.grant.envId !== envId) return undefined;
    return this.live(envId, found.grant.id);
  }

  #hash(token: string): string {
    return this.#d.secrets.hashCode('refresh', token);
  }
}

/** RFC 6749 §6: the requested scope may narrow the grant's, never widen it. */
function narrowed(granted: string[], requested: string | undefined): string {
  if (requested === undefined || requested.trim() === '') return granted.join(' ');
  const asked = parseScopeList(requested);
  const extra = asked.filter((s) => !granted.includes(s));
  if (extra.length > 0) throw new CoreError('invalid_scope', `scope not granted: ${extra.join(' ').slice(0, 200)}`);
  return asked.join(' ');
}
