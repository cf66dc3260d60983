// scrypt password hashes from node:crypto, compared in constant time (and the scrypt hashes client
// secrets had before keyed hashes, core/client-auth.ts, until each is rewritten). Hashes
// are self-describing (`scrypt$N$r$p$salt$hash`), so the cost can grow and older hashes be
// recognised and upgraded.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptCost {
  N: number;
  r: number;
  p: number;
}

/** OWASP's minimum for scrypt (Password Storage Cheat Sheet): N=2^17, r=8, p=1. The default for passwords. */
export const OWASP_MINIMUM: ScryptCost = { N: 2 ** 17, r: 8, p: 1 };
const KEYLEN = 32;

function scryptAsync(password: string, salt: Buffer, keylen: number, cost: ScryptCost): Promise<Buffer> {
  // scrypt needs 128·N·r bytes; twice that leaves room without inviting a memory blow-up.
  const opts: ScryptOptions = { N: cost.N, r: cost.r, p: cost.p, maxmem: 256 * cost.N * cost.r };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, keylen, opts, (err, key) => {
      if (err) reject(err);
      else resolve(key);
    });
  });
}

export async function hashPassword(password: string, cost: ScryptCost): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, KEYLEN, cost);
  return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

// A well-formed hash of a random password at a given cost: verifying against it takes as long as a
// real check, so an unknown username or client takes as long to refuse as a wrong password.
const decoys = new Map<string, Promise<string>>();
export function decoyHash(cost: ScryptCost): Promise<string> {
  const key = `${cost.N}:${cost.r}:${cost.p}`;
  let decoy = decoys.get(key);
  if (!decoy) {
    decoy = hashPassword(randomBytes(16).toString('base64url'), cost);
    decoys.set(key, decoy);
  }
  return decoy;
}

function parse(stored: string): { cost: ScryptCost; salt: Buffer; expected: Buffer } | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const cost = { N: Number(parts[1]), r: Number(parts[2]), p: Number(parts[3]) };
  const expected = Buffer.from(parts[5] ?? '', 'base64url');
  if (![cost.N, cost.r, cost.p].every(Number.isSafeInteger) || expected.length === 0) return undefined;
  return { cost, salt: Buffer.from(parts[4] ?? '', 'base64url'), expected };
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const h = parse(stored);
  if (!h) return false;
  const actual = await scryptAsync(password, h.salt, h.expected.length, h.cost);
  return timingSafeEqual(actual, h.expected);
}

/** True when `stored` was hashed with less work than `cost` asks for (it should be upgraded). */
export function isWeakerThan(stored: string, cost: ScryptCost): boolean {
  const h = parse(stored);
  return h === undefined || h.cost.N * h.cost.r * h.cost.p < cost.N * cost.r * cost.p;
}
