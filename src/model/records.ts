// Records the engine works with. Times are epoch milliseconds; codes appear only as keyed hashes.

// The audit trail's, the verification flow's and the RSA facade's records live beside this file;
// everything imports them from here.
export * from './audit-records.ts';
export * from './flow-records.ts';
export * from './registration-records.ts';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

export interface Environment {
  id: string;
  name: string;
  companyId: string;
  mfaLicensed: boolean;
  /** What applies to the device logins of clients that set none themselves (README "Device policy"). */
  deviceDefaults: DeviceDefaults;
  /**
   * People may sign in on the verification page with a username and password (default true); off
   * when everyone signs in through the environment's identity providers (README "Command line").
   */
  passwordSignIn: boolean;
  /** How the verification page presents itself (README "Branding and languages"). */
  branding: Branding;
  createdAt: number;
}

/**
 * An environment's look on the verification page; each null: the product's own (the generic
 * heading, no logo, the default colour, no support link).
 */
export interface Branding {
  /** Shown as the page's heading and title, 1-100 characters. */
  displayName: string | null;
  /** An absolute https URL (http on loopback only); the page's CSP admits its origin for images. */
  logoUrl: string | null;
  /** `#rgb` or `#rrggbb`, lowercase: buttons and links. */
  primaryColor: string | null;
  /** An absolute https URL (http on loopback only), the "Need help?" link. */
  supportUrl: string | null;
}

export const NO_BRANDING: Readonly<Branding> = Object.freeze({ displayName: null, logoUrl: null, primaryColor: null, supportUrl: null });

/** An environment's device policy defaults; null: no limit. */
export interface DeviceDefaults {
  /** Canonical CIDRs device authorizations must come from. */
  networks: string[] | null;
  /** The most a device login may ask for. */
  scopes: string[] | null;
}

/**
 * Where a client's device logins may start and what they may ask for, against remote phishing
 * (RFC 8628 §5.4; README "Device policy"). `networks` and `scopes` null: the environment's default.
 */
export interface DevicePolicy {
  /** Canonical CIDRs a device authorization must come from (the request's source address). */
  networks: string[] | null;
  /** The most a device login may ask for; asking more is invalid_scope. */
  scopes: string[] | null;
  /** The approver must be on the device's network: the same IPv4 address or IPv6 /64 (src/core/networks.ts). */
  sameNetwork: boolean;
}

export const NO_DEVICE_POLICY: Readonly<DevicePolicy> = { networks: null, scopes: null, sameNetwork: false };

export type ClientType = 'public' | 'confidential';

export interface Client {
  envId: string;
  clientId: string;
  name: string;
  type: ClientType;
  /** Keyed hash of the secret (`hmac-sha256$…`, or an older `scrypt$…` until rewritten); null for public clients. */
  secretHash: string | null;
  grantTypes: string[];
  scopes: string[];
  /** Device and user code lifetime in seconds (1-3600). */
  codeLifetime: number;
  /** Initial polling interval in seconds (1-60). */
  pollInterval: number;
  /** Access-token lifetime in seconds. */
  tokenLifetime: number;
  /** `aud` of issued access tokens; the environment's issuer when null. */
  audience: string | null;
  /** Set on clients the server made for itself: `account` is the environment's Veeam account client (docs/vendors.md). */
  purpose: ClientPurpose | null;
  refresh: RefreshSettings;
  devicePolicy: DevicePolicy;
  createdAt: number;
}

/** Refresh tokens of a client (docs/protocol.md); the grant type `refresh_token` must be allowed too. */
export interface RefreshSettings {
  /** Issue a refresh token with every token, not only when `offline_access` was approved. */
  always: boolean;
  /** Rotate on every use. Public clients always rotate, whatever this says. */
  rotation: boolean;
  /** A grant unused this long ends. */
  idleSeconds: number;
  /** A grant ends this long after its approval, however much it is used. */
  absoluteSeconds: number;
}

export const REFRESH_TOKEN_GRANT = 'refresh_token';
export const DEFAULT_REFRESH: Readonly<RefreshSettings> = { always: false, rotation: true, idleSeconds: 30 * 86_400, absoluteSeconds: 90 * 86_400 };

export type ClientPurpose = 'account';

export interface User {
  id: string;
  envId: string;
  username: string;
  email: string;
  /** '' for a federated user: verifyPassword refuses a hash it cannot parse, so they never sign in with a password. */
  passwordHash: string;
  disabled: boolean;
  /** OpenID Connect profile attributes (OpenID Connect Core 1.0 §5.1): `name`, `given_name`, `family_name`; null when unset. */
  name: string | null;
  givenName: string | null;
  familyName: string | null;
  /** `email_verified`: someone vouched that `email` reaches this person. A new address starts unverified. */
  emailVerified: boolean;
  createdAt: number;
  /** Changes on every write of the user; OIDC's `updated_at` claim is read from it. */
  updatedAt: number;
  /**
   * A federated person is the pair (upstream issuer, upstream `sub`), never an email alone nor the
   * provider's local name (OpenID Connect Core §5.7: `sub` with its issuer is the only stable
   * identifier); both null for a password user.
   */
  idpIssuer: string | null;
  idpSubject: string | null;
}

/**
 * An upstream OpenID Provider the people of an environment may sign in with on the verification
 * page (README "Command line"): this server is its relying party (OpenID Connect Core §3.1).
 */
export interface IdentityProvider {
  envId: string;
  /** A slug ([a-z0-9-], 1-40 chars, unique in the environment): the redirect URI and /device?idp=<name> use it. */
  name: string;
  /** The button's label: "Continue with <displayName>" (default: the name). */
  displayName: string;
  /** The upstream issuer URL (https, or http on loopback only). */
  issuer: string;
  clientId: string;
  /** The upstream client secret, AES-GCM encrypted with the server secret (SecretKeys.encrypt); null for a public client (PKCE only). */
  clientSecretEnc: string | null;
  /** Scopes asked of the upstream, space-separated (default "openid email profile"). */
  scope: string;
  /** Which upstream claims fill our username, email and name (defaults preferred_username, email, name). */
  claims: { username: string; email: string; name: string };
  createdAt: number;
}

/**
 * How the person who approved signed in (OpenID Connect Core §2): when (`auth_time`), by which
 * methods (`amr`, RFC 8176 values such as `pwd`) and at which level (`acr`). Recorded at sign-in,
 * carried to the device authorization the person approves and to its grant, so every ID token of
 * the grant says the same.
 */
export interface Authentication {
  time: number;
  amr: string[];
  acr: string | null;
}

/**
 * Where a request came from, as the server saw it (RFC 8628 §5.4: the context that lets a person
 * tell their own request from a phisher's): the source address (the socket's, or the client
 * address under TRUST_PROXY), the shortened User-Agent, and the address's country (ISO 3166-1
 * alpha-2) and network (autonomous system number and name) from the offline IP database. Every
 * field is null when unknown.
 */
export interface RequestContext {
  address: string | null;
  userAgent: string | null;
  country: string | null;
  asn: number | null;
  network: string | null;
}

export type DeviceStatus = 'pending' | 'approved' | 'denied' | 'consumed';

export interface DeviceAuthorization {
  id: string;
  envId: string;
  clientId: string;
  deviceCodeHash: string;
  userCodeHash: string;
  scope: string;
  status: DeviceStatus;
  expiresAt: number;
  /** Current polling interval in seconds; grows by 5 on each slow_down. */
  interval: number;
  lastPolledAt: number | null;
  userId: string | null;
  createdAt: number;
  decidedAt: number | null;
  /** How the approver signed in; set with the approval. */
  authentication: Authentication | null;
  /** The network key of the requester's address (src/core/networks.ts), for same-network approval; null when unknown. */
  sourceNetwork: string | null;
  /** The grant its redemption opened: a consumed code presented again ends it (RFC 6749 §4.1.2). */
  grantId: string | null;
  /**
   * Where the device's request came from (RFC 8628 §5.4), recorded when it was made: shown on the
   * consent screen and compared with where the approver is. Null for requests from before it was
   * recorded, or when nothing about the source was known.
   */
  requestContext: RequestContext | null;
  /** Where the person who decided was when they decided (the verification page or flow API); null otherwise. */
  approverContext: RequestContext | null;
  /** The approver was in another country or network than the request (the consent screen warned them). */
  locationMismatch: boolean;
  /** When the approver reported the request as one they did not start ("I didn't start this"); it was denied then. */
  reportedAt: number | null;
}

export type KeyAlg = 'ES256' | 'RS256';

export interface SigningKeyRecord {
  kid: string;
  envId: string;
  alg: KeyAlg;
  publicJwk: string;
  /** The private JWK, AES-256-GCM encrypted with a key derived from the server secret. */
  privateJwkEnc: string;
  status: 'active' | 'retired';
  createdAt: number;
  /** For retired keys: when the last token they signed expires; they leave the JWKS after that. */
  retiredUntil: number | null;
}

/** Who approved what for which client (RFC 9700 §4.14): the family of its refresh tokens. */
export type GrantKind = 'device' | 'session';

export interface Grant {
  id: string;
  envId: string;
  userId: string;
  clientId: string;
  /** `device`: a device-code approval; `session`: a Veeam session signed in with a password. */
  kind: GrantKind;
  scope: string;
  createdAt: number;
  lastUsedAt: number;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
  revokedAt: number | null;
  /** How the person signed in to approve (null for grants from before it was recorded). */
  authentication: Authentication | null;
  /** Where the device's request came from ("Your devices"); null when not known. */
  requestContext: RequestContext | null;
  /** Where the grant was last used from (its latest refresh); null until then. */
  lastUsedContext: RequestContext | null;
}

export interface RefreshTokenRecord {
  tokenHash: string;
  grantId: string;
  /**
   * Only the newest token of a grant is `active`; those refreshes replaced are `rotated`; one that
   * a retry within the reuse grace replaced (its answer never arrived) is `superseded`.
   */
  status: 'active' | 'rotated' | 'superseded';
  createdAt: number;
  rotatedAt: number | null;
}
