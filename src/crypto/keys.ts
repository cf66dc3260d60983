// Per-environment signing keys (so a token of one environment never validates in another). Keys are
// persisted, private halves encrypted with the server secret, so a restart keeps tokens valid.
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { Clock } from '../core/clock.ts';
import type { KeyAlg, SigningKeyRecord } from '../core/model.ts';
import type { Store } from '../store/store.ts';
import type { SecretKeys } from './secret.ts';

export interface ActiveKey {
  kid: string;
  alg: KeyAlg;
  privateKey: CryptoKey;
}

export type PublicJwk = JWK & { kty: string; kid: string };

interface EnvKeys {
  active: ActiveKey;
  jwks: { keys: PublicJwk[] };
  loadedAt: number;
}

/** How long a loaded key set is trusted before re-reading (another process may have rotated). */
const CACHE_MS = 60_000;

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

  async activeKey(envId: string): Promise<ActiveKey> {
    return (await this.#load(envId)).active;
  }

  async jwks(envId: string): Promise<{ keys: PublicJwk[] }> {
    return (await this.#load(envId)).jwks;
  }

  /** Creates the environment's first key when it has none (start-up and environment creation). */
  async ensureKey(envId: string, alg: KeyAlg = 'ES256'): Promise<void> {
    const keys = await this.#store.listSigningKeys(envId);
    if (!keys.some((k) => k.status === 'active')) await this.#create(envId, alg);
  }

  /** New active key; old ones stay in the JWKS until every token they signed has expired. */
  async rotate(envId: string, alg: KeyAlg, maxTokenLifetimeSeconds: number): Promise<string> {
    const kid = await this.#create(envId, alg);
    await this.#store.retireSigningKeys(envId, kid, this.#clock.now() + maxTokenLifetimeSeconds * 1000);
    this.#cache.delete(envId);
    return kid;
  }

  async #create(envId: string, alg: KeyAlg): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const record: SigningKeyRecord = {
      kid,
      envId,
      alg,
      publicJwk: JSON.stringify({ ...publicJwk, kid, alg, use: 'sig' }),
      privateJwkEnc: this.#secrets.encrypt(JSON.stringify(await exportJWK(privateKey))),
      status: 'active',
      createdAt: this.#clock.now(),
      retiredUntil: null,
    };
    await this.#store.insertSigningKey(record);
    this.#cache.delete(envId);
    return kid;
  }

  #load(envId: string): Promise<EnvKeys> {
    const now = this.#clock.now();
    const cached = this.#cache.get(envId);
    if (cached) {
      return cached.then((k) => {
        if (now - k.loadedAt < CACHE_MS) return k;
        this.#cache.delete(envId);
        return this.#load(envId);
      });
    }
    const loading = this.#read(envId, now);
    this.#cache.set(envId, loading);
    loading.catch(() => this.#cache.delete(envId));
    return loading;
  }

  async #read(envId: string, now: number): Promise<EnvKeys> {
    let records = await this.#store.listSigningKeys(envId);
    if (!records.some((k) => k.status === 'active')) {
      await this.#create(envId, 'ES256');
      records = await this.#store.listSigningKeys(envId);
    }
    const live = records.filter((k) => k.status === 'active' || (k.retiredUntil ?? 0) > now);
    // The newest active key signs; older active keys (a concurrent rotation) still verify.
    const newest = live.filter((k) => k.status === 'active').at(-1);
    if (!newest) throw new Error(`no active signing key for environment ${envId}`);
    const privateJwk = JSON.parse(this.#secrets.decrypt(newest.privateJwkEnc)) as JWK;
    const privateKey = await importJWK(privateJwk, newest.alg);
    if (privateKey instanceof Uint8Array) throw new Error('unexpected symmetric signing key');
    return {
      active: { kid: newest.kid, alg: newest.alg, privateKey },
      jwks: { keys: live.map((k) => JSON.parse(k.publicJwk) as PublicJwk) },
      loadedAt: now,
    };
  }
}
