// RSA-style device registration (docs/vendors.md): an admin gets a one-time 9-digit code for a
// user; the user's authenticator app redeems it once to register the user's one device. Codes are
// stored only as keyed hashes; one live code per user; the one-device rule is a UNIQUE index.
import { randomInt, randomUUID } from 'node:crypto';
import type { SecretKeys } from '../crypto/secret.ts';
import type { Clock } from '../model/clock.ts';
import type { AppId, Environment, RegisteredDevice, User } from '../model/records.ts';
import { StoreConflictError, type Store } from '../store/store.ts';
import { UUID } from './admin.ts';
import { ref, type AuditTrail } from './audit.ts';
import { CoreError } from './errors.ts';
import type { GuessBudget } from './guess-budget.ts';
import type { Telemetry } from './telemetry.ts';

/** RSA Authenticator for iOS and Android: known in every environment (the appId RSA documents). */
export const RSA_AUTHENTICATOR: Readonly<Pick<AppId, 'appId' | 'name'>> = {
  appId: '1f00c62b-a5c0-49d3-9ffb-92314d717187',
  name: 'RSA Authenticator (iOS and Android)',
};
const CODE_ATTEMPTS = 5;
export const REGISTRATION_CODE_PATTERN = /^\d{9}$/;

/** Who a registration code is for: RSA bodies name the user by email or by username. */
export type UserRef = { email: string } | { username: string };

export interface RegistrationDeps {
  store: Store;
  clock: Clock;
  secrets: SecretKeys;
  guesses: GuessBudget;
  telemetry: Telemetry;
  audit: AuditTrail;
  lifetimeSeconds: number;
}

export interface IssuedRegistrationCode {
  /** Nine digits, leading zeros kept. */
  code: string;
  expiresAt: number;
  user: User;
}

export interface NewDevice {
  code: string;
  appId: string;
  deviceName: string;
  platform: string;
}

/** Nine uniformly random digits: randomInt draws without modulo bias. */
export function generateRegistrationCode(): string {
  return String(randomInt(0, 1_000_000_000)).padStart(9, '0');
}

export class Registration {
  readonly #d: RegistrationDeps;

  constructor(deps: RegistrationDeps) {
    this.#d = deps;
  }

  async findUser(env: Environment, who: UserRef): Promise<User | undefined> {
    return 'email' in who ? this.#d.store.users.getByEmail(env.id, who.email) : this.#d.store.users.getByUsername(env.id, who.username);
  }

  /** A new code for the user, replacing any code they hold; refused as RSA documents (docs/vendors.md). */
  /** `actor`: who asked (the admin key), for the audit trail. */
  async issue(env: Environment, who: UserRef, requestedAppId: string, actor: string | null = null): Promise<IssuedRegistrationCode> {
    const appId = requestedAppId.toLowerCase();
    if (!(await this.isKnownApp(env.id, appId))) throw new CoreError('invalid_request', 'unknown appId', { target: 'appId' });
    const named = 'email' in who ? who.email : who.username;
    const refuse = (reason: 'not_licensed' | 'user_not_found' | 'user_disabled' | 'device_registered', why: string) =>
      new CoreError('registration_refused', why, { reason, subject: named });
    if (!env.mfaLicensed) throw refuse('not_licensed', 'the environment is not licensed for MFA');
    const user = await this.findUser(env, who);
    if (!user) throw refuse('user_not_found', 'no such user');
    if (user.disabled) throw refuse('user_disabled', 'the user is disabled');
    const now = this.#d.clock.now();
    const expiresAt = now + this.#d.lifetimeSeconds * 1000;
    for (let attempt = 0; attempt < CODE_ATTEMPTS; attempt++) {
      const code = generateRegistrationCode();
      const result = await this.#d.store.registrationCodes.issue({
        userId: user.id, envId: env.id, codeHash: this.#hash(code), appId, expiresAt, createdAt: now,
      }, (c) => [this.#d.audit.event({ envId: c.envId, type: 'registration.issued', actor, subject: ref.user(c.userId), details: { app_id: c.appId, expires_at: c.expiresAt } })]);
      if (result === 'ok') {
        this.#d.telemetry.registrationCode('issued');
        return { code, expiresAt, user };
      }
      if (result === 'device_registered') throw refuse('device_registered', 'the user already has a registered device');
    }
    throw new Error('could not allocate a unique registration code');
  }

  /**
   * The authenticator app's redemption. Wrong codes draw on the same per-source budget as wrong
   * user codes: nine digits are few enough to be worth guessing.
   */
  async redeem(input: NewDevice, source: string): Promise<RegisteredDevice> {
    const result = await this.#d.guesses.spend(source, 'registration_code', async () => {
      const now = this.#d.clock.now();
      const redeemed = REGISTRATION_CODE_PATTERN.test(input.code)
        ? await this.#d.store.registrationCodes.redeem(this.#hash(input.code), input.appId.toLowerCase(), {
          id: randomUUID(), appId: input.appId.toLowerCase(), deviceName: input.deviceName, platform: input.platform, registeredAt: now,
        }, now, (d) => [this.#d.audit.event({
          envId: d.envId, type: 'registration.redeemed', actor: ref.user(d.userId), subject: `registered-device:${d.id}`,
          details: { app_id: d.appId, device_name: d.deviceName, platform: d.platform },
        })])
        : { outcome: 'invalid_code' as const };
      if (redeemed.outcome === 'invalid_code') {
        throw new CoreError('invalid_registration_code', 'the registration code is invalid, expired or already used', { target: 'deviceRegistrationCode' });
      }
      return redeemed;
    });
    switch (result.outcome) {
      case 'ok':
        this.#d.telemetry.registrationCode('redeemed');
        return result.device;
      case 'user_disabled':
        throw new CoreError('registration_refused', 'the user is disabled', { reason: 'user_disabled' });
      case 'device_registered':
        throw new CoreError('conflict', 'the user already has a registered device');
    }
  }

  async devices(env: Environment, userId: string): Promise<RegisteredDevice[]> {
    const user = await this.#d.store.users.get(env.id, userId);
    if (!user) throw new CoreError('not_found', 'User not found.');
    return this.#d.store.registeredDevices.listForUser(env.id, userId);
  }

  /** Unregisters a device, after which a new code can be issued for the user. */
  async unregister(env: Environment, userId: string, deviceId: string): Promise<void> {
    if (!(await this.#d.store.registeredDevices.delete(env.id, userId, deviceId))) {
      throw new CoreError('not_found', 'User and/or device is not found.');
    }
  }

  async isKnownApp(envId: string, appId: string): Promise<boolean> {
    const id = appId.toLowerCase();
    return id === RSA_AUTHENTICATOR.appId || (await this.#d.store.appIds.get(envId, id)) !== undefined;
  }

  /** The built-in RSA Authenticator first, then the environment's own. */
  async listApps(env: Environment): Promise<(Pick<AppId, 'appId' | 'name'> & { builtIn: boolean })[]> {
    const own = await this.#d.store.appIds.list(env.id);
    return [{ ...RSA_AUTHENTICATOR, builtIn: true }, ...own.map((a) => ({ appId: a.appId, name: a.name, builtIn: false }))];
  }

  async addApp(env: Environment, name: string, appId: string = randomUUID()): Promise<AppId> {
    const text = name.trim();
    if (text.length === 0 || text.length > 200) throw new CoreError('invalid_request', 'name must be 1-200 characters');
    if (!UUID.test(appId)) throw new CoreError('invalid_request', 'an app id is a UUID');
    const id = appId.toLowerCase();
    if (id === RSA_AUTHENTICATOR.appId) throw new CoreError('conflict', 'that is the built-in RSA Authenticator app id');
    const app: AppId = { envId: env.id, appId: id, name: text, createdAt: this.#d.clock.now() };
    try {
      await this.#d.store.appIds.add(app);
    } catch (err) {
      if (err instanceof StoreConflictError) throw new CoreError('conflict', `app id ${id} is already known`);
      throw err;
    }
    await this.#d.audit.record(this.#d.audit.event({
      envId: env.id, type: 'admin.changed', actor: ref.cli, subject: `app:${id}`, details: { action: 'app.added', name: text },
    }));
    return app;
  }

  #hash(code: string): string {
    return this.#d.secrets.hashCode('registration', code);
  }
}
