// The server secret: the root of the code-hash and key-encryption keys. It lives outside the
// database (a dump of the database alone yields no usable code and no private key).
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const SECRET_FILE_NAME = 'server-secret';

export interface SecretSource {
  secret: string;
  /** Set when the secret was generated now (the caller warns once). */
  generatedAt?: string;
}

/** Uses the configured secret, else reads or creates `<dataDir>/server-secret` with mode 0600. */
export function loadOrCreateServerSecret(configured: string | undefined, dataDir: string): SecretSource {
  if (configured !== undefined) return { secret: configured };
  const file = path.join(dataDir, SECRET_FILE_NAME);
  if (existsSync(file)) return { secret: readFileSync(file, 'utf8').trim() };
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  // 'wx' fails if another process created it in between; then read theirs.
  try {
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { secret: readFileSync(file, 'utf8').trim() };
    throw err;
  }
  return { secret, generatedAt: file };
}

/** Purpose-bound keys derived from the server secret (HKDF-SHA-256). */
export class SecretKeys {
  readonly #codeKey: Buffer;
  readonly #encKey: Buffer;

  constructor(secret: string) {
    const ikm = Buffer.from(secret, 'utf8');
    this.#codeKey = Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), 'device-code-server/code-hmac/v1', 32));
    this.#encKey = Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), 'device-code-server/key-encryption/v1', 32));
  }

  /** Keyed hash of a code; `kind` separates domains so a user code never matches a device code. */
  hashCode(kind: 'device' | 'user' | 'registration' | 'flow', value: string): string {
    return createHmac('sha256', this.#codeKey).update(`${kind}\0${value}`).digest('hex');
  }

  encrypt(plaintext: string): string {
    const iv = randomBytes(12);
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
