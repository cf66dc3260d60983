// Records for the store contract: complete, distinct on every call, at fixed times, so a test
// can compare what it wrote with what it reads back field by field.
import { randomBytes, randomUUID } from 'node:crypto';
import type { TestContext } from 'node:test';
import type {
  Client, DeviceAuthorization, Environment, Flow, Grant, IdentityProvider, User,
} from '../../../src/model/records.ts';
import type { Store } from '../../../src/store/store.ts';

/** Now, for every contract test. */
export const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
export const MINUTE = 60_000;

/** A keyed hash as the engine stores it (64 hex digits). */
export const hash = (): string => randomBytes(32).toString('hex');

let n = 0;
const next = (): number => ++n;

export function environment(o: Partial<Environment> = {}): Environment {
  const i = next();
  return {
    id: randomUUID(), name: `env-${i}`, companyId: randomUUID(), mfaLicensed: i % 2 === 0, deviceDefaults: { networks: null, scopes: null },
    passwordSignIn: true, branding: { displayName: null, logoUrl: null, primaryColor: null, supportUrl: null }, createdAt: NOW + i, ...o,
  };
}

export function client(envId: string, o: Partial<Client> = {}): Client {
  const i = next();
  return {
    envId,
    clientId: `client-${i}-${randomUUID()}`,
    name: `Living-room TV ${i}`,
    type: 'public',
    secretHash: null,
    grantTypes: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
    scopes: ['openid', 'profile', 'offline_access'],
    codeLifetime: 600,
    pollInterval: 5,
    tokenLifetime: 3600,
    audience: null,
    purpose: null,
    refresh: { always: false, rotation: true, idleSeconds: 30 * 86_400, absoluteSeconds: 90 * 86_400 },
    devicePolicy: { networks: null, scopes: null, sameNetwork: false },
    createdAt: NOW + i,
    ...o,
  };
}

export function user(envId: string, o: Partial<User> = {}): User {
  const i = next();
  return {
    id: randomUUID(), envId, username: `user${i}`, email: `User${i}@Example.test`, passwordHash: `scrypt$${hash()}`,
    disabled: false, name: null, givenName: null, familyName: null, emailVerified: false, createdAt: NOW + i, updatedAt: NOW + i,
    idpIssuer: null, idpSubject: null, ...o,
  };
}

/** A federated user: no password, the pair (provider, upstream `sub`) is who they are. */
export function federatedUser(envId: string, idpIssuer: string, o: Partial<User> = {}): User {
  return user(envId, { passwordHash: '', idpIssuer, idpSubject: `sub-${randomUUID()}`, ...o });
}

export function identityProvider(envId: string, o: Partial<IdentityProvider> = {}): IdentityProvider {
  const i = next();
  return {
    envId, name: `corp-${i}`, displayName: `Corp ${i}`, issuer: `https://idp${i}.example.test`, clientId: `client-${i}`,
    clientSecretEnc: `v1.${hash()}`, scope: 'openid email profile', claims: { username: 'preferred_username', email: 'email', name: 'name' },
    createdAt: NOW + i, ...o,
  };
}

export function device(envId: string, clientId: string, o: Partial<DeviceAuthorization> = {}): DeviceAuthorization {
  const i = next();
  return {
    id: randomUUID(), envId, clientId, deviceCodeHash: hash(), userCodeHash: hash(), scope: 'openid profile', status: 'pending',
    expiresAt: NOW + 10 * MINUTE, interval: 5, lastPolledAt: null, userId: null, createdAt: NOW + i, decidedAt: null, authentication: null,
    sourceNetwork: null, grantId: null, requestContext: null, approverContext: null, locationMismatch: false, reportedAt: null, ...o,
  };
}

export function flow(envId: string, o: Partial<Flow> = {}): Flow {
  const i = next();
  return {
    id: randomUUID(), envId, clientId: null, status: 'USERNAME_PASSWORD_REQUIRED', browserHash: hash(), userId: null, deviceId: null,
    userCodeEnc: null, authentication: null, idpStateHash: null, idpPendingEnc: null, failedAttempts: 0, createdAt: NOW + i, updatedAt: NOW + i, expiresAt: NOW + 15 * MINUTE, ...o,
  };
}

export function grant(envId: string, userId: string, clientId: string, o: Partial<Grant> = {}): Grant {
  const i = next();
  return {
    id: randomUUID(), envId, userId, clientId, kind: 'device', scope: 'openid offline_access', createdAt: NOW + i, lastUsedAt: NOW + i,
    idleExpiresAt: NOW + 30 * 86_400_000, absoluteExpiresAt: NOW + 90 * 86_400_000, revokedAt: null, authentication: null, requestContext: null, lastUsedContext: null, ...o,
  };
}

/** The records most tests start from: an environment with a client and a user. */
export async function basics(store: Store): Promise<{ env: Environment; client: Client; user: User }> {
  const env = environment();
  await store.environments.create(env);
  const c = client(env.id);
  await store.clients.create(c);
  const u = user(env.id);
  await store.users.create(u);
  return { env, client: c, user: u };
}

export interface OpenOptions {
  /** Audit events also go to the webhook's outbox, as when AUDIT_WEBHOOK_URL is set. */
  auditOutbox?: boolean;
}

/**
 * How a contract test gets its stores: `count` stores (each with its own connections) on one new,
 * empty, migrated database of its own, closed when the test ends.
 */
export type OpenStores = (t: TestContext, count?: number, opts?: OpenOptions) => Promise<Store[]>;

/** One store on a new database. */
export async function one(open: OpenStores, t: TestContext): Promise<Store> {
  const [store] = await open(t, 1);
  if (store === undefined) throw new Error('no store');
  return store;
}

/** `calls` concurrent calls of `fn`, spread over the stores in turn (different connections race). */
export function race<T>(stores: readonly Store[], calls: number, fn: (store: Store, i: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: calls }, (_, i) => {
    const store = stores[i % stores.length];
    if (store === undefined) throw new Error('no stores');
    return fn(store, i);
  }));
}
