// Code generation and user-code normalisation (RFC 8628 §5.1, §5.2, §6.1).
import { randomInt } from 'node:crypto';
import { randomBytesPooled } from './random.ts';

export const DEVICE_CODE_PREFIX = 'dc_';
export const REFRESH_TOKEN_PREFIX = 'rt_';

/** 256 random bits, base64url, with a recognisable prefix (secret scanners, logs). */
export function generateDeviceCode(): string {
  return DEVICE_CODE_PREFIX + randomBytesPooled(32).toString('base64url');
}

/** A refresh token (RFC 6749 §6): 256 random bits, base64url, `rt_` in front. */
export function generateRefreshToken(): string {
  return REFRESH_TOKEN_PREFIX + randomBytesPooled(32).toString('base64url');
}

// The last timestamp and counter this process used: ids made in one millisecond (or under a clock
// that does not move, as in tests) still sort in the order they were made (RFC 9562 §6.2, method 1).
let lastMs = 0;
let counter = 0;

/**
 * A UUIDv7 (RFC 9562 §5.7): 48 bits of Unix milliseconds, a 12-bit counter, then 62 random bits.
 * Rows keyed by it are appended at the right edge of their primary-key index instead of landing on
 * a random page, which halves the pages a burst of inserts dirties, and the ids of one process sort
 * in the order they were made (the audit trail lists by them). For record ids that are not secrets
 * (they reveal their creation time).
 */
export function timeOrderedUuid(now: number): string {
  const bytes = randomBytesPooled(16);
  // A clock set far back (another clock in the same process) starts over rather than lend it our time.
  if (now > lastMs || now < lastMs - 1000) {
    lastMs = now;
    // A random start leaves room to count up within the millisecond.
    counter = (bytes[6] ?? 0) & 0x07;
  } else if (++counter > 0xfff) {
    lastMs++;
    counter = 0;
  }
  bytes.writeUIntBE(lastMs, 0, 6);
  bytes[6] = 0x70 | (counter >> 8);
  bytes[7] = counter & 0xff;
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
