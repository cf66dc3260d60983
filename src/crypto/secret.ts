// The server secret: the root of the code-hash and key-encryption keys. It lives outside the
// database (a dump of the database alone yields no usable code and no private key).
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, hkdfSync, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fchmodSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { randomBytesPooled } from './random.ts';

export const SECRET_FILE_NAME = 'server-secret';

/** How a client secret's keyed hash is stored (SecretKeys.hashClientSecret). */
export const CLIENT_SECRET_PREFIX = 'hmac-sha256$';

export interface SecretSource {
  secret: string;
  /** Set when the secret was generated now (the caller warns once). */
  generatedAt?: string;
}

/**
 * The data directory, made 0700 when we create it (an existing one keeps the operator's mode). Like
 * store/sqlite/private-files.ts's ensurePrivateDir; crypto does not import the store, so it is repeated here.
 */
function ensurePrivateDir(dir: string): void {
  const target = path.resolve(dir);
  const created = mkdirSync(target, { recursive: true, mode: 0o700 });
  if (created === undefined) return;
  const first = path.resolve(created);
  for (let d = target; ; d = path.dirname(d)) {
    chmodSync(d, 0o700); // mkdir's mode went through the umask
    if (d === first || d === path.dirname(d)) break;
  }
}

/** Uses the configured secret, else reads or creates `<dataDir>/server-secret` with mode 0600 (whatever the umask). */
export function loadOrCreateServerSecret(configured: string | undefined, dataDir: string): SecretSource {
  if (configured !== undefined) return { secret: configured };
  const file = path.join(dataDir, SECRET_FILE_NAME);
  if (existsSync(file)) return { secret: readFileSync(file, 'utf8').trim() };
  ensurePrivateDir(dataDir);
  const secret = randomBytes(32).toString('base64url');
  // Written whole to a private temporary file, then linked into place: link() fails if another
  // process got there first (then theirs is used), and no reader ever sees a half-written secret.
  const temp = path.join(dataDir, `.${SECRET_FILE_NAME}.${process.pid}.${randomBytes(6).toString('hex')}`);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    // Exactly 0600 before the secret goes in: open's mode went through the umask.
    fchmodSync(fd, 0o600);
    writeSync(fd, `${secret}\n`);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { secret: readFileSync(file, 'utf8').trim() };
    throw err;
  } finally {
    unlinkSync(temp);
  }
  return { secret, generatedAt: file };
}

/** Purpose-bound keys derived from the server secret (HKDF-SHA-256). */
export class SecretKeys {
  // KeyObjects, made once: handing createHmac or a cipher a raw Buffer makes Node build a KeyObject
  // on every call, which cost a poll ~7x the HMAC itself (bench/RESULTS.md).
  readonly #codeKey: KeyObject;
  readonly #encKey: KeyObject;
  readonly #clientSecretKey: KeyObject;

  constructor(secret: string) {
    const ikm = Buffer.from(secret, 'utf8');
    const derive = (info: string) => createSecretKey(Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), info, 32)));
    this.#codeKey = derive('device-code-server/code-hmac/v1');
    this.#encKey = derive('device-code-server/key-encryption/v1');
    this.#clientSecretKey = derive('device-code-server/client-secret/v1');
  }

  /** Keyed hash of a code; `kind` separates domains so a user code never matches a device code. */
  hashCode(kind: 'device' | 'user' | 'registration' | 'flow' | 'refresh', value: string): string {
    return createHmac('sha256', this.#codeKey).update(`${kind}\0${value}`).digest('hex');
  }

  /**
   * The stored form of a client secret the server generated: `hmac-sha256$<base64url>`. A secret
   * of 256 random bits cannot be guessed whatever the hash costs, so a keyed hash, cheap enough for
   * every poll of a confidential client, protects it as well as a password KDF would; the key lives
   * outside the database, so a dump of it alone does not let anyone test guesses either.
   */
  hashClientSecret(secret: string): string {
    return CLIENT_SECRET_PREFIX + this.#clientSecretDigest(secret).toString('base64url');
  }

  /**
   * Whether `secret` is the one `stored` was made from (a hashClientSecret value), in constant
   * time. Anything else stored is no match, after the same work, so that a caller can check
   * against a decoy and take as long as a real check.
   */
  matchesClientSecret(secret: string, stored: string): boolean {
    const actual = this.#clientSecretDigest(secret);
    const expected = stored.startsWith(CLIENT_SECRET_PREFIX) ? Buffer.from(stored.slice(CLIENT_SECRET_PREFIX.length), 'base64url') : Buffer.alloc(0);
    return expected.length === actual.length && timingSafeEqual(actual, expected);
  }

  #clientSecretDigest(secret: string): Buffer {
    return createHmac('sha256', this.#clientSecretKey).update(secret, 'utf8').digest();
  }

  encrypt(plaintext: string): string {
    const iv = randomBytesPooled(12);
    const cipher = createCipheriv('aes-256-gcm', this.#encKey, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  decrypt(sealed: string): string {
    const [version, iv, body, tag] = sealed.split('.');
    if (version !== 'v1' || iv === undefined || body === undefined || tag === undefined) throw new Error('unsupported sealed value');
    const decipher = createDecipheriv('aes-256-gcm', this.#encKey, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }
}
