// Access tokens of device grants, signed the same way whether they come from a device-code
// redemption or a refresh: RFC 9068 claims plus the grant id.
import { signAccessToken } from '../crypto/jwt.ts';
import type { Client, Environment } from '../model/records.ts';
import type { KeyRing } from './key-ring.ts';

export interface IssuedAccessToken {
  accessToken: string;
  expiresIn: number;
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
