// Per-environment signing keys (so a token of one environment never validates in another), as a
// cache over the store. Keys are persisted, private halves encrypted with the server secret, so a
// restart keeps tokens valid; another process's rotation is seen within CACHE_MS, and at once by a
// verification that meets the new kid.
import type { CryptoKey, JWK } from 'jose';
import type { SigningKey } from '../crypto/jwt.ts';
import { generateSigningKey, importPrivateKey, importPublicKey, type PublicJwk } from '../crypto/keys.ts';
import type { SecretKeys } from '../crypto/secret.ts';
import type { Clock } from '../model/clock.ts';
import type { KeyAlg, SigningKeyRecord } from '../model/records.ts';
import { DatabaseUnavailableError, type AuditOf, type Store } from '../store/store.ts';

export interface VerificationKey {
  alg: KeyAlg;
  key: CryptoKey;
}

interface EnvKeys {
  /** The key that signs (jwt.ts signs with it). */
  active: SigningKey;
  jwks: { keys: PublicJwk[] };
  /** Public keys by kid, imported on first use. */
  verifying: Map<string, Promise<VerificationKey>>;
  loadedAt: number;
  /** When they were last read or tried to be (the database may have been unavailable). */
  triedAt: number;
}

/** How long a loaded key set is trusted before re-reading (another process may have rotated). */
const CACHE_MS = 60_000;
/** While the database is unavailable, how soon the keys held are tried to be read again. */
const STALE_RETRY_MS = 5000;
/** How often at most a token naming an unknown kid makes the keys be read again. */
const UNKNOWN_KID_RELOAD_MS = 1000;

export class KeyRing {
  readonly #store: Store;
  readonly #secrets: SecretKeys;
  readonly #clock: Clock;
  readonly #cache = new Map<string, Promise<EnvKeys>>();

  constructor(store: Store, secrets: SecretKeys, clock: Clock) {
    this.#store = store;
    this.#secrets = secrets;
    this.#clock = clock;
  }

  async activeKey(envId: string): Promise<SigningKey> {
    return (await this.#load(envId)).active;
  }

  async jwks(envId: string): Promise<{ keys: PublicJwk[] }> {
    return (await this.#load(envId)).jwks;
  }

  /** The public key a token names by `kid`, if it is one of the environment's live keys. */
  async verificationKey(envId: string, kid: string): Promise<VerificationKey | undefined> {
    let keys = await this.#load(envId);
    // A kid this process has not loaded may be a key another instance (or the CLI) created since:
    // read the keys again, at most once per UNKNOWN_KID_RELOAD_MS, so invented kids cannot turn
    // every request into a database read.
    const now = this.#clock.now();
    if (!keys.jwks.keys.some((k) => k.kid === kid) && now - keys.triedAt >= UNKNOWN_KID_RELOAD_MS) {
      keys = await this.#reload(envId, keys, now);
    }
    let found = keys.verifying.get(kid);
    if (!found) {
      const jwk = keys.jwks.keys.find((k) => k.kid === kid);
      if (!jwk) return undefined;
      const alg: KeyAlg = jwk.alg === 'RS256' ? 'RS256' : 'ES256';
      found = importPublicKey(jwk, alg).then((key) => ({ alg, key }));
      keys.verifying.set(kid, found);
    }
    return found;
  }

  /**
   * Creates the environment's first key when it has none (start-up and environment creation).
   * Atomic in the store: instances starting together on one database make one first key.
   */
  async ensureKey(envId: string, alg: KeyAlg = 'ES256'): Promise<void> {
    const keys = await this.#store.signingKeys.list(envId);
    if (keys.some((k) => k.status === 'active')) return;
    if (await this.#store.signingKeys.insertFirst(await this.#record(envId, alg))) this.#cache.delete(envId);
  }

  /** New active key; old ones stay in the JWKS until every token they signed has expired. */
  /** `audit`: the events of the new key (key.rotated), stored with it. */
  async rotate(envId: string, alg: KeyAlg, maxTokenLifetimeSeconds: number, audit?: AuditOf<SigningKeyRecord>): Promise<string> {
    const kid = await this.#create(envId, alg, audit);
    await this.#store.signingKeys.retire(envId, kid, this.#clock.now() + maxTokenLifetimeSeconds * 1000);
    this.#cache.delete(envId);
    return kid;
  }

  async #create(envId: string, alg: KeyAlg, audit?: AuditOf<SigningKeyRecord>): Promise<string> {
    const record = await this.#record(envId, alg);
    await this.#store.signingKeys.insert(record, audit);
    this.#cache.delete(envId);
    return record.kid;
  }

  /** A new active key's record, its private half encrypted. */
  async #record(envId: string, alg: KeyAlg): Promise<SigningKeyRecord> {
    const material = await generateSigningKey(alg);
    return {
      kid: material.kid,
      envId,
      alg,
      publicJwk: JSON.stringify(material.publicJwk),
      privateJwkEnc: this.#secrets.encrypt(JSON.stringify(material.privateJwk)),
      status: 'active',
      createdAt: this.#clock.now(),
      retiredUntil: null,
    };
  }

  #load(envId: string): Promise<EnvKeys> {
    const now = this.#clock.now();
    const cached = this.#cache.get(envId);
    if (cached) {
      return cached.then((k) => {
        if (now - k.loadedAt < CACHE_MS) return k;
        // Another caller is reading them again already: wait for that read.
        if (this.#cache.get(envId) !== cached) return this.#load(envId);
        return this.#reload(envId, k, now);
      });
    }
    const loading = this.#read(envId, now);
    this.#cache.set(envId, loading);
    loading.catch(() => this.#cache.delete(envId));
    return loading;
  }

  /**
   * Reads a key set past CACHE_MS again. While the database cannot answer (a restart, a failover)
   * the set held keeps signing and verifying, and is read again STALE_RETRY_MS later: a poll that
   * has just spent its device code must still get its token, and tokens issued before the outage
   * stay verifiable. Keys change only by rotation, whose new key this process then meets as an
   * unknown kid once the database is back.
   */
  #reload(envId: string, held: EnvKeys, now: number): Promise<EnvKeys> {
    const reading = this.#read(envId, now).catch((err: unknown) => {
      if (!(err instanceof DatabaseUnavailableError)) throw err;
      return { ...held, loadedAt: now - CACHE_MS + STALE_RETRY_MS, triedAt: now };
    });
    this.#cache.set(envId, reading);
    reading.catch(() => { if (this.#cache.get(envId) === reading) this.#cache.delete(envId); });
    return reading;
  }

  async #read(envId: string, now: number): Promise<EnvKeys> {
    let records = await this.#store.signingKeys.list(envId);
    if (!records.some((k) => k.status === 'active')) {
      await this.#store.signingKeys.insertFirst(await this.#record(envId, 'ES256'));
      records = await this.#store.signingKeys.list(envId);
    }
    const live = records.filter((k) => k.status === 'active' || (k.retiredUntil ?? 0) > now);
    // The newest active key signs; older active keys (a concurrent rotation) still verify.
    const newest = live.filter((k) => k.status === 'active').at(-1);
    if (!newest) throw new Error(`no active signing key for environment ${envId}`);
    const privateKey = importPrivateKey(JSON.parse(this.#secrets.decrypt(newest.privateJwkEnc)) as JWK, newest.alg);
    return {
      active: { kid: newest.kid, alg: newest.alg, privateKey },
      jwks: { keys: live.map((k) => JSON.parse(k.publicJwk) as PublicJwk) },
      verifying: new Map(),
      loadedAt: now,
      triedAt: now,
    };
  }
}
