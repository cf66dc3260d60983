// User administration (the `user` commands): people are created with a password, their profile
// changed, disabled and enabled again, and looked up by username. Every change is an
// `admin.changed` audit event, recorded by the Admin that owns this (admin.ts).
import { randomUUID } from 'node:crypto';
import { hashPassword } from '../crypto/passwords.ts';
import type { User } from '../model/records.ts';
import { StoreConflictError, type UserProfilePatch } from '../store/store.ts';
import type { AdminDeps, RecordChange } from './admin.ts';
import { profileName, usernamePattern, validEmail, type NewUser, type UserUpdate } from './admin-input.ts';
import { ref } from './audit.ts';
import { CoreError } from './errors.ts';

export class UserAdmin {
  readonly #d: Pick<AdminDeps, 'store' | 'clock' | 'passwordCost'>;
  readonly #changed: RecordChange;

  constructor(deps: Pick<AdminDeps, 'store' | 'clock' | 'passwordCost'>, changed: RecordChange) {
    this.#d = deps;
    this.#changed = changed;
  }

  async create(input: NewUser): Promise<User> {
    const username = input.username.normalize('NFKC').trim();
    if (!usernamePattern.test(username)) throw new CoreError('invalid_request', 'username: 1-128 letters, digits or . _ @ + -');
    const email = validEmail(input.email);
    const name = profileName('name', 'name', input.name) ?? null;
    const givenName = profileName('given name', 'given_name', input.givenName) ?? null;
    const familyName = profileName('family name', 'family_name', input.familyName) ?? null;
    if (input.password.length < 8 || input.password.length > 1024) throw new CoreError('invalid_request', 'password must be 8-1024 characters');
    const now = this.#d.clock.now();
    const user: User = {
      id: randomUUID(),
      envId: input.envId,
      username,
      email,
      passwordHash: await hashPassword(input.password, this.#d.passwordCost),
      disabled: false,
      name,
      givenName,
      familyName,
      emailVerified: input.emailVerified === true,
      createdAt: now,
      updatedAt: now,
      idpIssuer: null,
      idpSubject: null,
    };
    try {
      await this.#d.store.users.create(user);
    } catch (err) {
      if (err instanceof StoreConflictError) throw new CoreError('conflict', 'username or email already in use');
      throw err;
    }
    await this.#changed(user.envId, ref.user(user.id), 'user.created', { username: user.username });
    return user;
  }

  /**
   * Changes a user's profile; `updated_at` moves whatever changed. A new email without
   * `emailVerified` is unverified (UserStore.updateProfile): nobody has vouched for that address.
   */
  async update(envId: string, username: string, patch: UserUpdate): Promise<User> {
    const name = profileName('name', 'name', patch.name);
    const givenName = profileName('given name', 'given_name', patch.givenName);
    const familyName = profileName('family name', 'family_name', patch.familyName);
    const clean: UserProfilePatch = {
      ...(name === undefined ? {} : { name }),
      ...(givenName === undefined ? {} : { givenName }),
      ...(familyName === undefined ? {} : { familyName }),
      ...(patch.email === undefined ? {} : { email: validEmail(patch.email) }),
      ...(patch.emailVerified === undefined ? {} : { emailVerified: patch.emailVerified }),
    };
    if (Object.keys(clean).length === 0) throw new CoreError('invalid_request', 'nothing to change');
    const user = await this.#d.store.users.getByUsername(envId, username);
    let updated: User | undefined;
    try {
      updated = user && await this.#d.store.users.updateProfile(envId, user.id, clean, this.#d.clock.now());
    } catch (err) {
      if (err instanceof StoreConflictError) throw new CoreError('conflict', 'email already in use', { target: 'email' });
      throw err;
    }
    if (!updated) throw new CoreError('not_found', `no user ${username}`);
    await this.#changed(envId, ref.user(updated.id), 'user.updated', { username, fields: Object.keys(clean) });
    return updated;
  }

  /**
   * Disabling ends what the user had given, in the same transaction (UserStore.setDisabled): their
   * grants are revoked and their unredeemed approvals denied, so enabling them again brings none
   * of it back: the devices sign in again.
   */
  async setDisabled(envId: string, username: string, disabled: boolean): Promise<User> {
    const user = await this.#d.store.users.setDisabled(envId, username, disabled, this.#d.clock.now());
    if (!user) throw new CoreError('not_found', `no user ${username}`);
    await this.#changed(envId, ref.user(user.id), disabled ? 'user.disabled' : 'user.enabled', { username });
    return user;
  }

  async getByUsername(envId: string, username: string): Promise<User> {
    const user = await this.#d.store.users.getByUsername(envId, username);
    if (!user) throw new CoreError('not_found', `no user ${username}`);
    return user;
  }

  list(envId: string): Promise<User[]> {
    return this.#d.store.users.list(envId);
  }
}
