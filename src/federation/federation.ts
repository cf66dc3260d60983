// Sign in with the organisation's identity provider (README "Sign in with your organisation"): the
// verification page's sign-in step done by an upstream OpenID Provider, with openid-client as the
// relying party. Authorization code flow with PKCE (S256), `state` and `nonce` (OpenID Connect Core
// §3.1); the upstream ID token is fully validated, its signature included (openid-client verifies
// token-endpoint ID tokens' signatures only with enableNonRepudiationChecks). The callback is bound
// to the flow and to the browser cookie that started it, and completes it once: the flow keeps the
// keyed hash of `state`, and the one callback that clears it wins (a replay, another browser or
// another flow's callback fails). A person is the pair (issuer, upstream `sub`), never an email
// alone nor the provider's local name; the first sign-in creates the local user, later ones refresh
// its attributes.
import * as oidc from 'openid-client';
import { ref, type AuditTrail } from '../core/audit.ts';
import { isLoopback } from '../core/identity-providers.ts';
import { CoreError, isCoreError, type FederationFailure } from '../core/errors.ts';
import type { Verification } from '../core/verification.ts';
import type { Urls } from '../core/urls.ts';
import type { SecretKeys } from '../crypto/secret.ts';
import type { Clock } from '../model/clock.ts';
import type { Authentication, Environment, Flow, IdentityProvider, RequestContext, User } from '../model/records.ts';
import { StoreConflictError, type Store } from '../store/store.ts';
import type { FlowView } from '../core/verification.ts';

/** How long an upstream may take to answer one request (discovery, token, JWKS, UserInfo). */
export const UPSTREAM_TIMEOUT_SECONDS = 10;
/** An upstream's discovery document is fetched again after this long. */
const METADATA_TTL_MS = 10 * 60_000;
/** Providers of an environment are read again after this long: `idp add`/`remove` reach running servers. */
const PROVIDERS_TTL_MS = 60_000;
/** An upstream sign-in must come back within the flow's life; this bounds its pending state too. */
const USERNAME_MAX = 64;

export interface FederationDeps {
  store: Store;
  secrets: SecretKeys;
  clock: Clock;
  audit: AuditTrail;
  verification: Verification;
  /** Redirect URIs are `PUBLIC_URL/{envID}/idp/{name}/callback`. */
  urls: Urls;
}

/** What rides along through the upstream sign-in to the page after it (as after a password). */
export interface AfterSignIn {
  /** The code the device showed, prefilled at the code step. */
  userCode?: string;
  /** "Your devices" rather than the code step. */
  toDevices?: boolean;
}

/** What the callback needs back, stored encrypted on the flow while the person is upstream. */
interface Pending {
  idp: string;
  state: string;
  nonce: string;
  verifier: string;
  then: AfterSignIn;
}

const fail = (reason: FederationFailure, detail: string): CoreError => new CoreError('federation_failed', detail, { federation: reason, logReason: detail });

/** A completed upstream sign-in: the flow, now at its code step, and where the page goes next. */
export interface Completed {
  flow: Flow;
  view: FlowView;
  then: AfterSignIn;
}

export class Federation {
  readonly #d: FederationDeps;
  readonly #configs = new Map<string, { config: Promise<oidc.Configuration>; until: number }>();
  readonly #providers = new Map<string, { list: Promise<IdentityProvider[]>; until: number }>();

  constructor(deps: FederationDeps) {
    this.#d = deps;
  }

  /** The environment's providers, for the sign-in step's buttons (read again at most every 60 s). */
  providers(envId: string): Promise<IdentityProvider[]> {
    const now = this.#d.clock.now();
    const cached = this.#providers.get(envId);
    if (cached !== undefined && cached.until > now) return cached.list;
    const list = this.#d.store.identityProviders.list(envId);
    this.#providers.set(envId, { list, until: now + PROVIDERS_TTL_MS });
    list.catch(() => { this.#providers.delete(envId); });
    return list;
  }

  async #provider(envId: string, name: string): Promise<IdentityProvider> {
    const p = (await this.providers(envId)).find((x) => x.name === name);
    if (!p) throw fail('unknown_provider', `no identity provider ${name}`);
    return p;
  }

  /** The upstream's configuration from its discovery document, cached; a failure is not cached. */
  #config(p: IdentityProvider): Promise<oidc.Configuration> {
    // Re-added (a new secret, say) is another entry: its creation time is part of the key.
    const key = `${p.envId}|${p.name}|${p.createdAt}`;
    const now = this.#d.clock.now();
    const cached = this.#configs.get(key);
    if (cached !== undefined && cached.until > now) return cached.config;
    const secret = p.clientSecretEnc === null ? undefined : this.#d.secrets.decrypt(p.clientSecretEnc);
    const issuer = new URL(p.issuer);
    const config = oidc.discovery(issuer, p.clientId, undefined, secret === undefined ? oidc.None() : oidc.ClientSecretBasic(secret), {
      timeout: UPSTREAM_TIMEOUT_SECONDS,
      execute: [
        // The ID token's signature is checked against the upstream's JWKS, not taken on TLS's word.
        oidc.enableNonRepudiationChecks,
        // Plain http to this machine only (checkIssuer refuses it elsewhere): a provider run for development or a test.
        // eslint-disable-next-line @typescript-eslint/no-deprecated -- deprecated only to stand out; it is confined to loopback here
        ...(issuer.protocol === 'http:' && isLoopback(issuer) ? [oidc.allowInsecureRequests] : []),
      ],
    }).then((c) => {
      c.timeout = UPSTREAM_TIMEOUT_SECONDS;
      return c;
    });
    this.#configs.set(key, { config, until: now + METADATA_TTL_MS });
    config.catch(() => { this.#configs.delete(key); });
    return config;
  }

  /**
   * Starts an upstream sign-in for a flow this browser holds (the caller loaded it with the
   * browser's secret): a fresh state, nonce and PKCE verifier kept on the flow; the URL to send the
   * browser to.
   */
  async start(env: Environment, flow: Flow, name: string, then: AfterSignIn = {}): Promise<URL> {
    const p = await this.#provider(env.id, name);
    if (flow.status !== 'USERNAME_PASSWORD_REQUIRED') throw new CoreError('flow_wrong_state', `the flow is ${flow.status}`);
    const config = await this.#config(p).catch((err: unknown) => { throw upstreamFailure(err, 'the provider\'s discovery document'); });
    const pending: Pending = { idp: p.name, state: oidc.randomState(), nonce: oidc.randomNonce(), verifier: oidc.randomPKCECodeVerifier(), then };
    const now = this.#d.clock.now();
    const begun = await this.#d.store.flows.beginFederation(flow.id, this.#stateHash(pending.state), this.#d.secrets.encrypt(JSON.stringify(pending)), now);
    if (!begun) throw new CoreError('flow_wrong_state', 'the flow no longer awaits a sign-in');
    return oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.#d.urls.idpCallback(env.id, p.name),
      scope: p.scope,
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(pending.verifier),
      code_challenge_method: 'S256',
    });
  }

  /**
   * The upstream's answer at `callbackUrl`: the flow whose state it carries, if this browser holds
   * it, is taken (once), the code exchanged and the ID token validated; the person is linked or
   * created, and the flow moves on to the code step. Returns the flow's view.
   */
  async callback(env: Environment, name: string, callbackUrl: URL, browserSecret: string | undefined, viewer: RequestContext | null): Promise<Completed> {
    const params = callbackUrl.searchParams;
    const state = params.get('state');
    if (state === null || state === '' || state.length > 512) throw fail('stale', 'the callback carries no state');
    const now = this.#d.clock.now();
    const stateHash = this.#stateHash(state);
    const found = await this.#d.store.flows.getByFederationState(env.id, stateHash, now);
    if (!found || found.idpPendingEnc === null) throw fail('stale', 'no flow awaits this state (replayed, expired or forged)');
    // The browser that started the sign-in, and only it (a callback opened elsewhere fails).
    const flow = await this.#d.verification.load(env, found.id, browserSecret).catch(() => { throw fail('stale', 'the callback came to another browser'); });
    try {
      return await this.#complete(env, name, flow, found.idpPendingEnc, state, stateHash, params, viewer);
    } catch (err) {
      // From here on the browser holds the flow: the page offers the way back to its sign-in step.
      if (isCoreError(err) && err.code === 'federation_failed') err.details.flowId = flow.id;
      throw err;
    }
  }

  async #complete(
    env: Environment, name: string, flow: Flow, pendingEnc: string, state: string, stateHash: string, params: URLSearchParams, viewer: RequestContext | null,
  ): Promise<Completed> {
    const now = this.#d.clock.now();
    const pending = JSON.parse(this.#d.secrets.decrypt(pendingEnc)) as Pending;
    if (pending.idp !== name || pending.state !== state) throw fail('stale', 'the callback is for another provider');
    if (!(await this.#d.store.flows.takeFederation(flow.id, stateHash, now))) throw fail('stale', 'the callback was already used');
    const error = params.get('error');
    if (error !== null) throw fail(error === 'access_denied' ? 'cancelled' : 'denied', `the provider answered ${error.slice(0, 100)}`);
    const p = await this.#provider(env.id, name);
    const config = await this.#config(p).catch((err: unknown) => { throw upstreamFailure(err, 'the provider\'s discovery document'); });
    const checks = { pkceCodeVerifier: pending.verifier, expectedState: pending.state, expectedNonce: pending.nonce };
    const redirect = new URL(this.#d.urls.idpCallback(env.id, p.name));
    // openid-client takes the answer's parameters from the URL it came to, and the redirect URI of
    // the token request from its origin and path: ours as PUBLIC_URL spells it (a proxy may not).
    redirect.search = params.toString();
    const tokens = await oidc.authorizationCodeGrant(config, redirect, checks).catch((err: unknown) => { throw upstreamFailure(err, 'the token request'); });
    const idToken = tokens.claims();
    if (idToken === undefined) throw fail('invalid_response', 'the provider sent no ID token');
    const claims = await this.#claims(config, p, idToken, tokens.access_token);
    const user = await this.#link(env, p, idToken.sub, claims);
    const authentication: Authentication = {
      time: typeof idToken.auth_time === 'number' ? idToken.auth_time * 1000 : now,
      amr: Array.isArray(idToken.amr) ? idToken.amr.filter((x): x is string => typeof x === 'string') : [],
      acr: typeof idToken.acr === 'string' ? idToken.acr : null,
    };
    const view = await this.#d.verification.signInFederated(flow, user, authentication, viewer, (f) => [this.#d.audit.event({
      envId: f.envId, type: 'signin.federated', actor: ref.user(user.id), subject: ref.flow(f.id), source: viewer,
      details: { provider: p.name, username: user.username, acr: authentication.acr, amr: authentication.amr },
    })]);
    return { flow, view, then: pending.then };
  }

  /** The mapped claims, from the ID token, or from UserInfo for those it lacks (OpenID Connect Core §5.3). */
  async #claims(config: oidc.Configuration, p: IdentityProvider, idToken: oidc.IDToken, accessToken: string): Promise<Record<string, unknown>> {
    // The mapped claims decide; given_name, family_name and email_verified come along when UserInfo is asked.
    const wanted = [p.claims.username, p.claims.email, p.claims.name];
    if (wanted.every((c) => idToken[c] !== undefined) || config.serverMetadata().userinfo_endpoint === undefined) return idToken;
    const info = await oidc.fetchUserInfo(config, accessToken, idToken.sub).catch((err: unknown) => { throw upstreamFailure(err, 'the UserInfo request'); });
    return { ...info, ...idToken };
  }

  /** The local user of (issuer, sub): refreshed from the claims, or created at the first sign-in. */
  async #link(env: Environment, p: IdentityProvider, sub: string, claims: Record<string, unknown>): Promise<User> {
    const text = (name: string): string | null => {
      const v = claims[name];
      return typeof v === 'string' && v.trim() !== '' ? v.trim().slice(0, 200) : null;
    };
    const email = text(p.claims.email) ?? '';
    const attrs = {
      email,
      // An address the upstream has not verified is kept as unverified (OpenID Connect Core §5.1).
      emailVerified: email !== '' && claims.email_verified === true,
      name: text(p.claims.name),
      givenName: text('given_name'),
      familyName: text('family_name'),
    };
    const now = this.#d.clock.now();
    const existing = await this.#d.store.users.getByIdentity(env.id, p.issuer, sub);
    if (existing) {
      if (existing.disabled) throw fail('disabled', 'the local account is disabled');
      return (await this.#d.store.users.updateFederated(env.id, existing.id, attrs, now)) ?? existing;
    }
    const base = usernameFrom(text(p.claims.username) ?? (email.includes('@') ? email.slice(0, email.indexOf('@')) : null) ?? sub);
    for (let attempt = 0; attempt < 20; attempt++) {
      const username = attempt === 0 ? base : `${base.slice(0, USERNAME_MAX - 4)}-${attempt + 1}`;
      const user: User = {
        id: crypto.randomUUID(), envId: env.id, username, passwordHash: '', disabled: false, ...attrs,
        idpIssuer: p.issuer, idpSubject: sub, createdAt: now, updatedAt: now,
      };
      try {
        await this.#d.store.users.create(user);
        await this.#d.audit.record(this.#d.audit.event({
          envId: env.id, type: 'admin.changed', actor: `idp:${p.name}`, subject: ref.user(user.id), details: { action: 'user.created', username, provider: p.name },
        }));
        return user;
      } catch (err) {
        if (!(err instanceof StoreConflictError)) throw err;
        // The same person signing in twice at once: the other sign-in created them.
        const raced = await this.#d.store.users.getByIdentity(env.id, p.issuer, sub);
        if (raced) return raced;
      }
    }
    throw fail('invalid_response', 'no free username for this person');
  }

  #stateHash(state: string): string {
    return this.#d.secrets.hashCode('flow', `idp-state:${state}`);
  }
}

/** A username our rules accept (letters, digits and . _ @ + -), from what the upstream calls the person. */
function usernameFrom(raw: string): string {
  const cleaned = raw.normalize('NFKC').replace(/[^\p{L}\p{N}._@+-]+/gu, '-').replace(/^-+|-+$/g, '').slice(0, USERNAME_MAX);
  return cleaned === '' ? 'user' : cleaned;
}

/** An upstream that could not be reached or answered wrongly, as the page's clear message, never a 500. */
function upstreamFailure(err: unknown, what: string): CoreError {
  if (isCoreError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  const failure = fail(unreachable(err) ? 'unreachable' : 'invalid_response', `${what} failed: ${message.slice(0, 200)}`);
  failure.cause = err;
  return failure;
}

/**
 * No answer (refused, reset, timed out) or a server error (5xx) is the provider being down; any other
 * failure (a bad signature, nonce, issuer or body) is an answer we must not trust. openid-client wraps
 * the cause (the network error, or the Response) a level or two down.
 */
function unreachable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if (e instanceof Response) return e.status >= 500;
    if (!(e instanceof Error)) return false;
    if (e.name === 'TimeoutError' || e.name === 'AbortError' || e.message === 'fetch failed') return true;
    const status = (e as { status?: unknown }).status;
    if (typeof status === 'number') return status >= 500;
    e = e.cause;
  }
  return false;
}
