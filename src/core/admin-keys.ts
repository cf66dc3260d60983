// RSA-style admin API keys (docs/vendors.md): the server makes an RSA key pair, stores the public
// half and hands the private half to the admin once, in a key file shaped like RSA's. Admins then
// sign their own short-lived JWTs; each request's token is checked against the key its `sub` names,
// and a revoked key is refused from the next request on (nothing is cached past the store).
import { createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { generateRsaKeyPair } from '../crypto/keys.ts';
import { verifyAdminToken } from '../crypto/admin-jwt.ts';
import type { Clock } from '../model/clock.ts';
import { ADMIN_ROLES, type AdminKey, type AdminRole, type Environment } from '../model/records.ts';
import type { Store } from '../store/store.ts';
import { ref, type AuditTrail } from './audit.ts';
import { CoreError } from './errors.ts';

/** RSA: `exp` at most one hour after `iat`. */
export const ADMIN_TOKEN_MAX_LIFETIME_SECONDS = 3600;

/** The key file, field for field as RSA's Cloud Administration API key files. */
export interface AdminKeyFile {
  customerName: string;
  accessID: string;
  description: string;
  /** PKCS#1 PEM private key: the only copy. */
  accessKey: string;
  adminRestApiUrl: string;
}

export interface AdminPrincipal {
  accessId: string;
  envId: string;
  role: AdminRole;
}

export interface AdminKeyDeps {
  store: Store;
  clock: Clock;
  /** The admin API base URL: the `aud` of admin tokens and the key file's adminRestApiUrl. */
  adminApiUrl: string;
  clockSkewSeconds: number;
  audit: AuditTrail;
}

export class AdminKeys {
  readonly #d: AdminKeyDeps;
  /** Parsed public keys by PEM (parsing is the costly part; the row is still read every time). */
  readonly #parsed = new Map<string, KeyObject>();

  constructor(deps: AdminKeyDeps) {
    this.#d = deps;
  }

  async create(env: Environment, role: string, description = ''): Promise<{ key: AdminKey; file: AdminKeyFile }> {
    if (!ADMIN_ROLES.includes(role as AdminRole)) throw new CoreError('invalid_request', `role must be one of: ${ADMIN_ROLES.join(', ')}`);
    const text = description.trim();
    if (text.length > 200 || text.includes('\0')) throw new CoreError('invalid_request', 'description: at most 200 characters');
    const pair = await generateRsaKeyPair();
    const key: AdminKey = {
      accessId: randomUUID(),
      envId: env.id,
      description: text,
      role: role as AdminRole,
      publicKeyPem: pair.publicPem,
      createdAt: this.#d.clock.now(),
      revokedAt: null,
    };
    await this.#d.store.adminKeys.create(key);
    await this.#changed(key, 'admin_key.created');
    return {
      key,
      file: {
        customerName: env.name,
        accessID: key.accessId,
        description: key.description,
        accessKey: pair.privatePem,
        // With the trailing slash RSA's files carry: clients append `v1/users/...` to it.
        adminRestApiUrl: `${this.#d.adminApiUrl}/`,
      },
    };
  }

  list(envId: string): Promise<AdminKey[]> {
    return this.#d.store.adminKeys.list(envId);
  }

  async revoke(envId: string, accessId: string): Promise<AdminKey> {
    const key = await this.#d.store.adminKeys.revoke(envId, accessId, this.#d.clock.now());
    if (!key) throw new CoreError('not_found', `no admin key ${accessId}`);
    await this.#changed(key, 'admin_key.revoked');
    return key;
  }

  #changed(key: AdminKey, action: string): Promise<void> {
    return this.#d.audit.record(this.#d.audit.event({
      envId: key.envId, type: 'admin.changed', actor: ref.cli, subject: ref.adminKey(key.accessId), details: { action, role: key.role },
    }));
  }

  /** The admin a bearer token speaks for; invalid_token for anything else (the reason goes to the log). */
  async authenticate(token: string): Promise<AdminPrincipal> {
    let found: AdminKey | undefined;
    const v = await verifyAdminToken(token, async (accessId) => {
      found = await this.#d.store.adminKeys.get(accessId);
      return found && found.revokedAt === null ? this.#publicKey(found.publicKeyPem) : undefined;
    }, {
      audience: this.#d.adminApiUrl,
      now: this.#d.clock.now(),
      clockSkewSeconds: this.#d.clockSkewSeconds,
      maxLifetimeSeconds: ADMIN_TOKEN_MAX_LIFETIME_SECONDS,
    });
    if (!v.ok || !found) throw new CoreError('invalid_token', 'the admin token is missing, invalid or expired', { logReason: v.ok ? 'no key' : v.reason });
    return { accessId: found.accessId, envId: found.envId, role: found.role };
  }

  #publicKey(pem: string): KeyObject {
    let key = this.#parsed.get(pem);
    if (!key) {
      key = createPublicKey(pem);
      this.#parsed.set(pem, key);
    }
    return key;
  }
}

/** Both roles issue codes and look users up; only super admins delete devices (as RSA's roles). */
export function requireSuperAdmin(principal: AdminPrincipal): void {
  if (principal.role !== 'super_admin') throw new CoreError('forbidden', 'only a super admin may do this');
}
