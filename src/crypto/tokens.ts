// Access tokens: JWTs per RFC 9068 (`typ: at+jwt`), signed by the environment's active key.
import { SignJWT } from 'jose';
import { nanoid } from 'nanoid';
import type { KeyRing } from './keys.ts';

export const ACCESS_TOKEN_TYP = 'at+jwt';

export interface AccessTokenClaims {
  envId: string;
  issuer: string;
  subject: string;
  audience: string;
  clientId: string;
  scope: string;
  lifetimeSeconds: number;
  now: number;
}

export async function signAccessToken(keys: KeyRing, c: AccessTokenClaims): Promise<string> {
  const key = await keys.activeKey(c.envId);
  const iat = Math.floor(c.now / 1000);
  return new SignJWT({ client_id: c.clientId, scope: c.scope })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: ACCESS_TOKEN_TYP })
    .setIssuer(c.issuer)
    .setSubject(c.subject)
    .setAudience(c.audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + c.lifetimeSeconds)
    .setJti(nanoid())
    .sign(key.privateKey);
}
