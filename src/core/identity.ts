// Who signed in, as OpenID Connect says it (OpenID Connect Core 1.0): the claims a scope releases
// (§5.4), how a person signed in (§2: auth_time, amr, acr), and the ID token of a grant. The same
// claims go into the ID token and the UserInfo answer, so a relying party reads one person in both.
import { signIdToken } from '../crypto/jwt.ts';
import type { Authentication, Client, Environment, Grant, User } from '../model/records.ts';
import type { KeyRing } from './key-ring.ts';
import { parseScopeList } from './scopes.ts';

export const OPENID = 'openid';

/**
 * The `acr` of a password sign-in: level of assurance 1, a single factor (the numbering of
 * ISO/IEC 29115 that Keycloak and others use). A federated sign-in carries the upstream's own.
 */
export const PASSWORD_ACR = '1';

/** Every acr this server issues of its own. */
export const ACR_VALUES_SUPPORTED = [PASSWORD_ACR];

/** How a person who typed their password on our page signed in (RFC 8176: `pwd`). */
export function passwordSignIn(now: number): Authentication {
  return { time: now, amr: ['pwd'], acr: PASSWORD_ACR };
}

/** The claims each scope releases (OpenID Connect Core §5.4), in the order discovery lists them. */
const SCOPE_CLAIMS = {
  profile: ['name', 'given_name', 'family_name', 'preferred_username', 'updated_at'],
  email: ['email', 'email_verified'],
} as const;

/** Every claim an ID token or UserInfo may carry, for discovery's claims_supported. */
export const CLAIMS_SUPPORTED = [
  'sub', 'iss', 'aud', 'azp', 'exp', 'iat', 'auth_time', 'acr', 'amr', 'sid', ...SCOPE_CLAIMS.profile, ...SCOPE_CLAIMS.email,
];

/** `sub` and the claims a scope releases. */
export type UserClaims = Record<string, string | number | boolean> & { sub: string };

/** `sub` and the claims of `scope`; unset attributes are left out, not sent as null. */
export function userClaims(user: User, scope: string): UserClaims {
  const scopes = new Set(parseScopeList(scope));
  const claims: UserClaims = { sub: user.id };
  if (scopes.has('profile')) {
    if (user.name !== null) claims.name = user.name;
    if (user.givenName !== null) claims.given_name = user.givenName;
    if (user.familyName !== null) claims.family_name = user.familyName;
    claims.preferred_username = user.username;
    claims.updated_at = Math.floor(user.updatedAt / 1000);
  }
  if (scopes.has('email')) {
    claims.email = user.email;
    claims.email_verified = user.emailVerified;
  }
  return claims;
}

export function hasOpenId(scope: string): boolean {
  return parseScopeList(scope).includes(OPENID);
}

/**
 * The ID token of a grant (OpenID Connect Core §2), for the scope being issued: signed by the
 * environment's active key, for the client, with the person's sign-in as the grant recorded it and
 * `sid` the grant's id. Its lifetime is the access token's. The device flow has no nonce.
 */
export async function issueIdToken(
  keys: KeyRing,
  t: { env: Environment; client: Client; user: User; grant: Pick<Grant, 'id' | 'authentication' | 'createdAt'>; scope: string; issuer: string; now: number },
): Promise<string> {
  // A grant from before sign-ins were recorded: its approval is the latest sign-in we know of.
  const authentication = t.grant.authentication ?? { time: t.grant.createdAt, amr: [], acr: null };
  return signIdToken(await keys.activeKey(t.env.id), {
    issuer: t.issuer,
    clientId: t.client.clientId,
    authentication,
    sessionId: t.grant.id,
    claims: userClaims(t.user, t.scope),
    lifetimeSeconds: t.client.tokenLifetime,
    now: t.now,
  });
}
