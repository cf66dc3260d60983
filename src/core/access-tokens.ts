// The tokens of a grant, signed the same way whether they come from a device-code redemption or a
// refresh: the access token (RFC 9068 claims plus the grant id) and, when the scope holds `openid`,
// the ID token (OpenID Connect Core §2; on refresh §12.2: the same sub and auth_time).
import { signAccessToken } from '../crypto/jwt.ts';
import type { Client, Environment, Grant, User } from '../model/records.ts';
import { hasOpenId, issueIdToken } from './identity.ts';
import type { KeyRing } from './key-ring.ts';
import type { Telemetry } from './telemetry.ts';

export interface IssuedAccessToken {
  accessToken: string;
  expiresIn: number;
}

export interface IssuedTokens extends IssuedAccessToken {
  idToken?: string;
}

export async function issueAccessToken(
  keys: KeyRing,
  t: { env: Environment; client: Client; userId: string; scope: string; issuer: string; grantId: string; now: number },
): Promise<IssuedAccessToken> {
  const accessToken = await signAccessToken(await keys.activeKey(t.env.id), {
    issuer: t.issuer,
    subject: t.userId,
    audience: t.client.audience ?? t.issuer,
    clientId: t.client.clientId,
    scope: t.scope,
    grantId: t.grantId,
    lifetimeSeconds: t.client.tokenLifetime,
    now: t.now,
  });
  return { accessToken, expiresIn: t.client.tokenLifetime };
}

/** The access token of `grant` for `scope`, and its ID token when the scope holds `openid` (both signed at once). */
export async function issueGrantTokens(
  d: { keys: KeyRing; telemetry: Telemetry },
  t: { env: Environment; client: Client; user: User; grant: Grant; scope: string; issuer: string; now: number },
): Promise<IssuedTokens> {
  const [access, idToken] = await Promise.all([
    issueAccessToken(d.keys, { ...t, userId: t.user.id, grantId: t.grant.id }),
    hasOpenId(t.scope) ? issueIdToken(d.keys, t) : undefined,
  ]);
  d.telemetry.tokenIssued('access');
  if (idToken === undefined) return access;
  d.telemetry.tokenIssued('id');
  return { ...access, idToken };
}
