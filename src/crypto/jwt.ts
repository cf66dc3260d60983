// JWTs of every kind, signed and verified side by side. Each kind has its own `typ`, algorithm
// allow-list, issuer, audience and lifetime rule, so none can stand in for another (RFC 8725 §3.12):
//   device access token  typ at+jwt (RFC 9068), ES256|RS256, signed by the environment's key
//   session token        typ session+jwt (Veeam facade), ES256|RS256, signed by the environment's key
//   admin-key token      typ JWT, RS256 only, signed by an RSA admin API key the admin holds (docs/vendors.md;
//                        verified in admin-jwt.ts, by RSA's own rules)
//   ID token             typ JWT (OpenID Connect Core §2), ES256|RS256, signed by the environment's key; only
//                        ever signed here, never accepted: relying parties verify it, and no endpoint
//                        takes it as a credential (its typ is no access or session token's; its kid
//                        header is refused by the admin-key rules)
// Verification returns a result instead of throwing; the reason is for logs, never for the caller.
import type { KeyObject } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify, type CryptoKey, type JWTPayload } from 'jose';
import { nanoid } from 'nanoid';
import type { Authentication, KeyAlg } from '../model/records.ts';
import { signCompact } from './jws.ts';
import { KEY_ALGS } from './keys.ts';

export const ACCESS_TOKEN_TYP = 'at+jwt';
export const SESSION_TOKEN_TYP = 'session+jwt';
export const ADMIN_TOKEN_TYP = 'JWT';
export const ID_TOKEN_TYP = 'JWT';

/** Longer than any token this server signs or RSA clients send; refused before any parsing. */
export const MAX_TOKEN_LENGTH = 8192;
/** Header parameters we accept; jwk, jku, x5u, x5c, crit and the rest are refused outright. */
const SERVER_HEADER = new Set(['alg', 'typ', 'kid']);
const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export type Verified<T> = { ok: true; claims: T } | { ok: false; reason: string };

export interface SigningKey {
  kid: string;
  alg: KeyAlg;
  /** Of the kind `alg` names (keys.ts, importPrivateKey); it signs through jws.ts. */
  privateKey: KeyObject;
}

/** Finds a public key by `kid` among the issuing environment's live keys. */
export type KeyLookup = (kid: string) => Promise<{ alg: KeyAlg; key: CryptoKey } | undefined>;

export const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });
const seconds = (ms: number): number => Math.floor(ms / 1000);

// ---- device access tokens -------------------------------------------------------------------

export interface AccessTokenInput {
  issuer: string;
  subject: string;
  audience: string;
  clientId: string;
  scope: string;
  /** The grant the token belongs to: revoking the grant makes the token inactive. */
  grantId: string;
  lifetimeSeconds: number;
  now: number;
}

export function signAccessToken(key: SigningKey, c: AccessTokenInput): Promise<string> {
  return signServerToken(key, ACCESS_TOKEN_TYP, { client_id: c.clientId, scope: c.scope, gid: c.grantId }, c);
}

export interface AccessTokenClaims {
  subject: string;
  clientId: string;
  scope: string;
  grantId: string | undefined;
  issuer: string;
  audience: string[];
  issuedAt: number;
  expiresAt: number;
  jti: string;
}

export interface ServerTokenRules {
  /** The issuer, or any of them (the default environment answers at the root and under /{envID}/as). */
  issuer: string | string[];
  /** Any of these audiences; omitted, any audience (resource servers check their own). */
  audience?: string;
  now: number;
  clockToleranceSeconds: number;
  /** The longest `exp - iat` this kind is ever issued with. */
  maxLifetimeSeconds: number;
}

export async function verifyAccessToken(token: string, lookup: KeyLookup, rules: ServerTokenRules): Promise<Verified<AccessTokenClaims>> {
  const v = await verifyServerToken(token, ACCESS_TOKEN_TYP, lookup, rules);
  if (!v.ok) return v;
  const p = v.claims;
  if (typeof p.client_id !== 'string' || typeof p.scope !== 'string') return fail('client_id or scope missing');
  return {
    ok: true,
    claims: {
      subject: p.sub ?? '',
      clientId: p.client_id,
      scope: p.scope,
      grantId: typeof p.gid === 'string' ? p.gid : undefined,
      issuer: p.iss ?? '',
      audience: typeof p.aud === 'string' ? [p.aud] : (p.aud ?? []),
      issuedAt: p.iat ?? 0,
      expiresAt: p.exp ?? 0,
      jti: p.jti ?? '',
    },
  };
}

// ---- ID tokens (OpenID Connect) ---------------------------------------------------------------

export interface IdTokenInput {
  issuer: string;
  /** The audience and the authorized party (`aud`, `azp`). */
  clientId: string;
  authentication: Authentication;
  /** `sid`: the grant the token belongs to. */
  sessionId: string;
  /** `sub` and the scope's claims (core/identity.ts). */
  claims: Record<string, string | number | boolean> & { sub: string };
  lifetimeSeconds: number;
  now: number;
}

export function signIdToken(key: SigningKey, c: IdTokenInput): Promise<string> {
  const iat = seconds(c.now);
  const { sub, ...claims } = c.claims;
  const a = c.authentication;
  return signCompact(key.alg, key.privateKey, { alg: key.alg, kid: key.kid, typ: ID_TOKEN_TYP }, {
    ...claims,
    azp: c.clientId,
    auth_time: seconds(a.time),
    ...(a.acr === null ? {} : { acr: a.acr }),
    ...(a.amr.length === 0 ? {} : { amr: a.amr }),
    sid: c.sessionId,
    iss: c.issuer,
    sub,
    aud: c.clientId,
    iat,
    exp: iat + c.lifetimeSeconds,
  });
}

// ---- session tokens (Veeam facade) -------------------------------------------------------------

export interface SessionTokenInput {
  issuer: string;
  subject: string;
  audience: string;
  /** The session's grant: revoking it ends the session at once. */
  grantId: string;
  lifetimeSeconds: number;
  now: number;
}

export function signSessionToken(key: SigningKey, c: SessionTokenInput): Promise<string> {
  return signServerToken(key, SESSION_TOKEN_TYP, { gid: c.grantId }, c);
}

export interface SessionTokenClaims {
  subject: string;
  grantId: string | undefined;
  expiresAt: number;
}

export async function verifySessionToken(token: string, lookup: KeyLookup, rules: ServerTokenRules & { audience: string }): Promise<Verified<SessionTokenClaims>> {
  const v = await verifyServerToken(token, SESSION_TOKEN_TYP, lookup, rules);
  if (!v.ok) return v;
  const gid = v.claims.gid;
  return { ok: true, claims: { subject: v.claims.sub ?? '', grantId: typeof gid === 'string' ? gid : undefined, expiresAt: v.claims.exp ?? 0 } };
}

// ---- the two server-signed kinds share their mechanics ---------------------------------------

function signServerToken(key: SigningKey, typ: string, extra: Record<string, string>, c: { issuer: string; subject: string; audience: string; lifetimeSeconds: number; now: number }): Promise<string> {
  const iat = seconds(c.now);
  return signCompact(key.alg, key.privateKey, { alg: key.alg, kid: key.kid, typ }, {
    ...extra, iss: c.issuer, sub: c.subject, aud: c.audience, iat, exp: iat + c.lifetimeSeconds, jti: nanoid(),
  });
}

async function verifyServerToken(token: string, typ: string, lookup: KeyLookup, rules: ServerTokenRules): Promise<Verified<JWTPayload>> {
  const header = checkShape(token, SERVER_HEADER);
  if (!header.ok) return header;
  const { alg, kid } = header.claims;
  if (header.claims.typ !== typ) return fail(`typ is not ${typ}`);
  if (!KEY_ALGS.includes(alg as KeyAlg)) return fail(`alg ${alg} is not allowed`);
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > 128) return fail('kid missing');
  const key = await lookup(kid);
  if (!key) return fail('unknown kid');
  if (key.alg !== alg) return fail('alg does not match the key');
  try {
    const { payload } = await jwtVerify(token, key.key, {
      algorithms: [key.alg],
      typ,
      issuer: rules.issuer,
      ...(rules.audience === undefined ? {} : { audience: rules.audience }),
      currentDate: new Date(rules.now),
      clockTolerance: rules.clockToleranceSeconds,
      requiredClaims: ['sub', 'iat', 'exp', 'jti'],
    });
    const iat = payload.iat ?? 0;
    const exp = payload.exp ?? 0;
    if (iat > seconds(rules.now) + rules.clockToleranceSeconds) return fail('iat is in the future');
    if (exp - iat > rules.maxLifetimeSeconds) return fail('lifetime too long');
    if (typeof payload.sub !== 'string' || payload.sub === '') return fail('sub missing');
    return { ok: true, claims: payload };
  } catch (err) {
    return fail(err instanceof Error ? `${err.name}: ${err.message}` : 'verification failed');
  }
}

// ---- shared parsing -----------------------------------------------------------------------

/** Size and compact form first (an unsigned `alg: none` token has no third part), then the header. */
export function checkShape(token: string, allowedHeader: ReadonlySet<string>): Verified<{ alg: string; typ: unknown; kid: unknown }> {
  if (token.length > MAX_TOKEN_LENGTH) return fail('token too long');
  if (!COMPACT.test(token)) return fail('not a compact JWS');
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return fail('header unreadable');
  }
  const extra = Object.keys(header).find((k) => !allowedHeader.has(k));
  if (extra !== undefined) return fail(`header parameter ${extra} is not accepted`);
  if (typeof header.alg !== 'string') return fail('alg missing');
  return { ok: true, claims: { alg: header.alg, typ: header.typ, kid: header.kid } };
}
