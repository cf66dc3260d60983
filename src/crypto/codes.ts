// Code generation and user-code normalisation (RFC 8628 §5.1, §5.2, §6.1).
import { randomBytes, randomInt } from 'node:crypto';

export const DEVICE_CODE_PREFIX = 'dc_';
export const REFRESH_TOKEN_PREFIX = 'rt_';

/** 256 random bits, base64url, with a recognisable prefix (secret scanners, logs). */
export function generateDeviceCode(): string {
  return DEVICE_CODE_PREFIX + randomBytes(32).toString('base64url');
}

/** A refresh token (RFC 6749 §6): 256 random bits, base64url, `rt_` in front. */
export function generateRefreshToken(): string {
  return REFRESH_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/**
 * A UUIDv7 (RFC 9562 §5.7): 48 bits of Unix milliseconds, then 74 random bits. Rows keyed by it are
 * appended at the right edge of their primary-key index instead of landing on a random page, which
 * halves the pages a burst of inserts dirties. For record ids that are not secrets (they reveal
 * their creation time).
 */
export function timeOrderedUuid(now: number): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = 0x70 | ((bytes[6] ?? 0) & 0x0f);
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export interface UserCodeFormat {
  charset: string;
  length: number;
}

/** A canonical user code: `length` characters drawn uniformly (randomInt has no modulo bias). */
export function generateUserCode(format: UserCodeFormat): string {
  let code = '';
  for (let i = 0; i < format.length; i++) code += format.charset.charAt(randomInt(format.charset.length));
  return code;
}

/** Display form: groups of four joined by dashes (`WDJB-MJHT`). */
export function formatUserCode(canonical: string): string {
  return canonical.match(/.{1,4}/g)?.join('-') ?? canonical;
}

// Separators people type or paste: whitespace, every Unicode dash, dots and underscores.
const SEPARATORS = /[\s\p{Pd}._\u2212]/gu;

/**
 * Canonical form of what a person typed, or undefined when it cannot be a code. NFKC folds
 * fullwidth and compatibility letters; case and separators are ignored; anything else is kept so
 * that a stray character makes the code wrong rather than silently matching.
 */
export function normalizeUserCode(input: string, format: UserCodeFormat): string | undefined {
  if (input.length > 64) return undefined;
  const canonical = input.normalize('NFKC').toUpperCase().replace(SEPARATORS, '');
  if (canonical.length !== format.length) return undefined;
  for (const ch of canonical) if (!format.charset.includes(ch)) return undefined;
  return canonical;
}
