// Admin-key tokens of the RSA facade (docs/vendors.md): JWTs the admin signs with the private half
// of an admin API key, verified by RSA's rules, which are not the server-signed kinds' (jwt.ts).
import { compactVerify, type KeyObject } from 'jose';
import { ADMIN_TOKEN_TYP, checkShape, fail, type Verified } from './jwt.ts';

/** Header parameters an admin token may carry: exactly these. */
const ADMIN_HEADER = new Set(['alg', 'typ']);

export interface AdminTokenRules {
  /** The admin API base URL; a trailing slash on either side does not matter. */
  audience: string;
  now: number;
  /** RSA allows ±60 s. */
  clockSkewSeconds: number;
  /** RSA: `exp` at most one hour after `iat`. */
  maxLifetimeSeconds: number;
}

export interface AdminTokenClaims {
  accessId: string;
  expiresAt: number;
}

/** The key that signed an admin token, found by the token's `sub` (the accessID). */
export type AdminKeyLookup = (accessId: string) => Promise<KeyObject | undefined>;

/**
 * RSA's rules (docs/vendors.md): header exactly {alg: RS256, typ: JWT}; `sub` names the key; `aud` is the
 * admin API; `iat` and `exp` may be numbers or numeric strings (RSA's own sample uses strings).
 */
export async function verifyAdminToken(token: string, lookup: AdminKeyLookup, rules: AdminTokenRules): Promise<Verified<AdminTokenClaims>> {
  const header = checkShape(token, ADMIN_HEADER);
  if (!header.ok) return header;
  if (header.claims.alg !== 'RS256') return fail(`alg ${header.claims.alg} is not RS256`);
  if (header.claims.typ !== ADMIN_TOKEN_TYP) return fail('typ is not JWT');
  // The key is chosen by `sub`, so the payload is read before the signature is checked; nothing
  // else in it is trusted until compactVerify succeeds.
  const unverified = decodePayload(token.split('.')[1] ?? '');
  const sub = unverified?.sub;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 128) return fail('sub missing');
  const key = await lookup(sub);
  if (!key) return fail('unknown or revoked access id');
  let payload: Record<string, unknown> | undefined;
  try {
    const verified = await compactVerify(token, key, { algorithms: ['RS256'] });
    payload = decodeJson(new TextDecoder('utf-8', { fatal: true }).decode(verified.payload));
  } catch (err) {
    return fail(err instanceof Error ? `${err.name}: ${err.message}` : 'bad signature');
  }
  if (!payload || payload.sub !== sub) return fail('payload unreadable');
  const trim = (s: string) => s.replace(/\/+$/, '');
  const auds = typeof payload.aud === 'string' ? [payload.aud] : Array.isArray(payload.aud) ? payload.aud : [];
  if (!auds.some((a) => typeof a === 'string' && trim(a) === trim(rules.audience))) return fail('wrong aud');
  const iat = numericDate(payload.iat);
  const exp = numericDate(payload.exp);
  if (iat === undefined || exp === undefined) return fail('iat or exp missing or not a number');
  const now = rules.now / 1000;
  const skew = rules.clockSkewSeconds;
  if (exp <= now - skew) return fail('expired');
  if (iat > now + skew) return fail('iat is in the future');
  if (exp <= iat || exp - iat > rules.maxLifetimeSeconds) return fail('exp must be after iat and at most one hour later');
  if (payload.nbf !== undefined) {
    const nbf = numericDate(payload.nbf);
    if (nbf === undefined || nbf > now + skew) return fail('not yet valid');
  }
  return { ok: true, claims: { accessId: sub, expiresAt: exp } };
}

function decodeJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function decodePayload(segment: string): Record<string, unknown> | undefined {
  return decodeJson(Buffer.from(segment, 'base64url').toString('utf8'));
}

/** A NumericDate (RFC 7519 §2), or a string of digits as in RSA's sample claims. */
function numericDate(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\d{1,12}$/.test(v)) return Number(v);
  return undefined;
}
