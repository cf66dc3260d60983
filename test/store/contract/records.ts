// The contract for the plain record kinds: environments, clients, users, signing keys, admin keys,
// app ids and revoked access tokens. Each is written, read back equal by every lookup the
// interface offers, and refused where a UNIQUE index says so.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { AdminKey, SigningKeyRecord, User } from '../../../src/model/records.ts';
import { StoreConflictError } from '../../../src/store/store.ts';
import { basics, client, device, environment, grant, hash, MINUTE, NOW, one, user, type OpenStores } from './fixtures.ts';

const conflict = (err: unknown): boolean => err instanceof StoreConflictError;

export function recordContract(open: OpenStores): void {
  test('environments: create, get by id and by name, list in creation order; a taken name conflicts', async (t) => {
    const store = await one(open, t);
    const a = environment();
    const b = environment();
    await store.environments.create(b);
    await store.environments.create({ ...a, createdAt: b.createdAt - 1 });
    assert.deepEqual(await store.environments.get(b.id), b);
    assert.deepEqual(await store.environments.getByName(b.name), b);
    assert.equal(await store.environments.get(randomUUID()), undefined);
    assert.equal(await store.environments.getByName('nope'), undefined);
    assert.deepEqual((await store.environments.list()).map((e) => e.id), [a.id, b.id]);
    await assert.rejects(store.environments.create(environment({ name: a.name })), conflict);
  });

  test('environments: device defaults round-trip from create; setDeviceDefaults replaces them and returns the environment', async (t) => {
    const store = await one(open, t);
    const a = environment({ deviceDefaults: { networks: ['192.0.2.0/24', '2001:db8::/32'], scopes: ['openid'] } });
    await store.environments.create(a);
    assert.deepEqual(await store.environments.get(a.id), a);
    const b = environment();
    await store.environments.create(b);
    const limited = { ...b, deviceDefaults: { networks: null, scopes: ['openid', 'profile'] } };
    assert.deepEqual(await store.environments.setDeviceDefaults(b.id, limited.deviceDefaults), limited);
    assert.deepEqual(await store.environments.getByName(b.name), limited);
    assert.deepEqual(await store.environments.setDeviceDefaults(a.id, { networks: null, scopes: null }), { ...a, deviceDefaults: { networks: null, scopes: null } });
    assert.deepEqual((await store.environments.list()).map((e) => e.deviceDefaults), [{ networks: null, scopes: null }, limited.deviceDefaults]);
    assert.equal(await store.environments.setDeviceDefaults(randomUUID(), { networks: null, scopes: null }), undefined);
  });

  test('clients: every field round-trips; get, getByPurpose, list; taken ids and a second account client conflict', async (t) => {
    const store = await one(open, t);
    const { env, client: pub } = await basics(store);
    const conf = client(env.id, {
      type: 'confidential', secretHash: `scrypt$${hash()}`, audience: 'https://api.example.test', grantTypes: ['client_credentials'],
      scopes: [], codeLifetime: 1, pollInterval: 60, tokenLifetime: 1,
      refresh: { always: true, rotation: false, idleSeconds: 1, absoluteSeconds: 2 },
      devicePolicy: { networks: ['10.0.0.0/8', '2001:db8:1::/48'], scopes: ['openid'], sameNetwork: true },
    });
    await store.clients.create(conf);
    const account = client(env.id, { purpose: 'account' });
    await store.clients.create(account);
    assert.deepEqual(await store.clients.get(env.id, pub.clientId), pub);
    assert.deepEqual(await store.clients.get(env.id, conf.clientId), conf);
    assert.deepEqual(await store.clients.getByPurpose(env.id, 'account'), account);
    assert.deepEqual((await store.clients.list(env.id)).map((c) => c.clientId), [pub.clientId, conf.clientId, account.clientId]);
    const other = environment();
    await store.environments.create(other);
    assert.equal(await store.clients.get(other.id, pub.clientId), undefined, 'a client belongs to one environment');
    assert.equal(await store.clients.getByPurpose(other.id, 'account'), undefined);
    assert.deepEqual(await store.clients.list(other.id), []);
    await assert.rejects(store.clients.create(client(other.id, { clientId: pub.clientId })), conflict);
    await assert.rejects(store.clients.create(client(env.id, { purpose: 'account' })), conflict);
    await store.clients.create(client(other.id, { purpose: 'account' }));
  });

  test('clients: update replaces the settings but not id, type or secret; unknown clients are not updated', async (t) => {
    const store = await one(open, t);
    const { env } = await basics(store);
    const c = client(env.id, { type: 'confidential', secretHash: `scrypt$${hash()}` });
    await store.clients.create(c);
    const changed = {
      ...c, name: 'Kitchen TV', grantTypes: ['refresh_token'], scopes: ['email'], codeLifetime: 3600, pollInterval: 1, tokenLifetime: 60,
      audience: 'aud', refresh: { always: true, rotation: false, idleSeconds: 10, absoluteSeconds: 20 },
      devicePolicy: { networks: ['198.51.100.7/32'], scopes: ['email'], sameNetwork: true },
    };
    assert.equal(await store.clients.update({ ...changed, type: 'public', secretHash: null }), true);
    assert.deepEqual(await store.clients.get(env.id, c.clientId), changed);
    const cleared = { ...changed, devicePolicy: { networks: null, scopes: null, sameNetwork: false } };
    assert.equal(await store.clients.update(cleared), true);
    assert.deepEqual(await store.clients.get(env.id, c.clientId), cleared, 'a policy is dropped as it is set');
    assert.equal(await store.clients.update(client(env.id)), false);
  });

  test('clients: setSecretHash replaces the secret hash only while it is still the one read', async (t) => {
    const store = await one(open, t);
    const { env } = await basics(store);
    const old = `scrypt$${hash()}`;
    const c = client(env.id, { type: 'confidential', secretHash: old });
    await store.clients.create(c);
    assert.equal(await store.clients.setSecretHash(env.id, c.clientId, old, 'hmac-sha256$new'), true);
    assert.equal(await store.clients.setSecretHash(env.id, c.clientId, old, 'hmac-sha256$stale'), false, 'a second rewrite from the old hash changes nothing');
    assert.deepEqual(await store.clients.get(env.id, c.clientId), { ...c, secretHash: 'hmac-sha256$new' });
    assert.equal(await store.clients.setSecretHash(env.id, 'no-such-client', old, 'x'), false);
  });

  test('clients: delete takes the device authorizations and grants with it, once', async (t) => {
    const store = await one(open, t);
    const { env, client: c, user: u } = await basics(store);
    const kept = client(env.id);
    await store.clients.create(kept);
    const d = device(env.id, c.clientId);
    const d2 = device(env.id, kept.clientId);
    assert.equal(await store.deviceAuthorizations.insert(d), 'ok');
    assert.equal(await store.deviceAuthorizations.insert(d2), 'ok');
    const g = grant(env.id, u.id, c.clientId);
    const token = hash();
    await store.grants.create(g, token);
    assert.equal(await store.clients.delete(env.id, c.clientId), true);
    assert.equal(await store.clients.get(env.id, c.clientId), undefined);
    assert.equal(await store.deviceAuthorizations.get(env.id, d.id), undefined);
    assert.equal(await store.grants.get(env.id, g.id), undefined);
    assert.equal(await store.refreshTokens.find(token), undefined);
    assert.deepEqual(await store.deviceAuthorizations.get(env.id, d2.id), d2, 'other clients keep theirs');
    assert.equal(await store.clients.delete(env.id, c.clientId), false);
  });

  test('users: create, get by id, username and email (any case), list; taken usernames and emails conflict per environment', async (t) => {
    const store = await one(open, t);
    const env = environment();
    await store.environments.create(env);
    // Profile attributes round-trip as given, non-BMP characters included; b has none (null, unverified).
    const a = user(env.id, { disabled: true, name: 'Alice Liddell 𝒜', givenName: 'Alice', familyName: 'Liddell', emailVerified: true });
    const b = user(env.id);
    await store.users.create(a);
    await store.users.create(b);
    assert.deepEqual(await store.users.get(env.id, a.id), a);
    assert.deepEqual(await store.users.getByUsername(env.id, b.username), b);
    assert.deepEqual(await store.users.getByEmail(env.id, b.email.toUpperCase()), b);
    assert.deepEqual(await store.users.getByEmail(env.id, b.email.toLowerCase()), b);
    assert.equal(await store.users.getByUsername(env.id, b.username.toUpperCase()), undefined, 'usernames are exact');
    assert.deepEqual((await store.users.list(env.id)).map((u) => u.id), [a.id, b.id]);
    await assert.rejects(store.users.create(user(env.id, { username: a.username })), conflict);
    await assert.rejects(store.users.create(user(env.id, { email: a.email.toLowerCase() })), conflict);
    const other = environment();
    await store.environments.create(other);
    await store.users.create(user(other.id, { username: a.username, email: a.email }));
    assert.equal(await store.users.get(other.id, a.id), undefined);
  });

  test('users: setDisabled returns the changed user; setPasswordHash only replaces the expected hash', async (t) => {
    const store = await one(open, t);
    const { env, user: u } = await basics(store);
    assert.deepEqual(await store.users.setDisabled(env.id, u.username, true, NOW + MINUTE), { ...u, disabled: true, updatedAt: NOW + MINUTE });
    assert.equal((await store.users.setDisabled(env.id, u.username, false, NOW + 2 * MINUTE))?.disabled, false);
    assert.equal(await store.users.setDisabled(env.id, 'nobody', true, NOW), undefined);
    assert.equal(await store.users.setPasswordHash(env.id, u.id, 'stale', 'new', NOW), false);
    assert.equal(await store.users.setPasswordHash(env.id, u.id, u.passwordHash, 'new', NOW + 3 * MINUTE), true);
    assert.equal(await store.users.setPasswordHash(env.id, u.id, u.passwordHash, 'newer', NOW), false, 'a concurrent change wins');
    assert.deepEqual(await store.users.get(env.id, u.id), { ...u, passwordHash: 'new', updatedAt: NOW + 3 * MINUTE });
  });

  test('users: disabling revokes the user\'s live grants and denies their unredeemed approvals, in one go; enabling brings none back', async (t) => {
    const store = await one(open, t);
    const { env, client: c, user: u } = await basics(store);
    const bob = user(env.id);
    await store.users.create(bob);
    const live = grant(env.id, u.id, c.clientId);
    const token = hash();
    await store.grants.create(live, token);
    const ended = grant(env.id, u.id, c.clientId, { revokedAt: NOW - MINUTE });
    await store.grants.create(ended, null);
    const bobs = grant(env.id, bob.id, c.clientId);
    await store.grants.create(bobs, null);
    const insert = async () => {
      const d = device(env.id, c.clientId);
      assert.equal(await store.deviceAuthorizations.insert(d), 'ok');
      return d;
    };
    const approved = await insert();
    assert.ok(await store.deviceAuthorizations.decide(approved.id, 'approved', u.id, null, NOW));
    const redeemed = await insert();
    assert.ok(await store.deviceAuthorizations.decide(redeemed.id, 'approved', u.id, null, NOW));
    assert.ok(await store.deviceAuthorizations.redeem(redeemed.id, NOW, grant(env.id, u.id, c.clientId), null));
    const pending = await insert();
    const bobsApproval = await insert();
    assert.ok(await store.deviceAuthorizations.decide(bobsApproval.id, 'approved', bob.id, null, NOW));

    const at = NOW + MINUTE;
    assert.equal((await store.users.setDisabled(env.id, u.username, true, at))?.disabled, true);
    assert.equal((await store.grants.get(env.id, live.id))?.revokedAt, at);
    assert.equal((await store.grants.get(env.id, ended.id))?.revokedAt, NOW - MINUTE, 'an ended grant keeps when it ended');
    assert.equal((await store.grants.get(env.id, bobs.id))?.revokedAt, null, 'other users keep theirs');
    assert.deepEqual(await store.grants.listLive(env.id, u.id, at), []);
    const statusOf = async (id: string) => (await store.deviceAuthorizations.get(env.id, id))?.status;
    assert.equal(await statusOf(approved.id), 'denied');
    assert.equal((await store.deviceAuthorizations.get(env.id, approved.id))?.decidedAt, at);
    assert.equal(await statusOf(redeemed.id), 'consumed');
    assert.equal(await statusOf(pending.id), 'pending');
    assert.equal(await statusOf(bobsApproval.id), 'approved');

    assert.equal((await store.users.setDisabled(env.id, u.username, false, at + MINUTE))?.disabled, false);
    assert.equal((await store.grants.get(env.id, live.id))?.revokedAt, at, 'still ended after the enable');
    assert.equal(await statusOf(approved.id), 'denied');
    assert.deepEqual(await store.grants.listLive(env.id, u.id, at + MINUTE), []);
  });

  test('users: updateProfile writes the given fields and updated_at, clears names set to null, returns the user; unknown users are undefined', async (t) => {
    const store = await one(open, t);
    const { env, user: u } = await basics(store);
    let expected: User = { ...u, name: 'Alice Liddell', updatedAt: NOW + MINUTE };
    assert.deepEqual(await store.users.updateProfile(env.id, u.id, { name: 'Alice Liddell' }, NOW + MINUTE), expected);
    expected = { ...expected, givenName: 'Alice', familyName: 'Liddell', emailVerified: true, updatedAt: NOW + 2 * MINUTE };
    assert.deepEqual(await store.users.updateProfile(env.id, u.id, { givenName: 'Alice', familyName: 'Liddell', emailVerified: true }, NOW + 2 * MINUTE),
      expected, 'the name given before stays');
    expected = { ...expected, name: null, familyName: null, updatedAt: NOW + 3 * MINUTE };
    assert.deepEqual(await store.users.updateProfile(env.id, u.id, { name: null, familyName: null }, NOW + 3 * MINUTE), expected);
    expected = { ...expected, updatedAt: NOW + 4 * MINUTE };
    assert.deepEqual(await store.users.updateProfile(env.id, u.id, {}, NOW + 4 * MINUTE), expected, 'an empty patch still moves updated_at');
    assert.deepEqual(await store.users.get(env.id, u.id), expected);
    assert.deepEqual(await store.users.getByUsername(env.id, u.username), expected);

    assert.equal(await store.users.updateProfile(env.id, 'no-such-id', { name: 'X' }, NOW), undefined);
    const other = environment();
    await store.environments.create(other);
    assert.equal(await store.users.updateProfile(other.id, u.id, { name: 'X' }, NOW), undefined, 'another environment\'s user is not found');
    assert.deepEqual(await store.users.get(env.id, u.id), expected, 'neither touched the user');
  });

  test('users: updateProfile of the email: a new address is unverified unless the patch says so; the old one is free; a taken one conflicts', async (t) => {
    const store = await one(open, t);
    const { env, user: u } = await basics(store);
    const verified = await store.users.updateProfile(env.id, u.id, { emailVerified: true }, NOW + MINUTE);
    assert.equal(verified?.emailVerified, true);
    assert.equal((await store.users.updateProfile(env.id, u.id, { email: u.email }, NOW + 2 * MINUTE))?.emailVerified, true,
      'the same address stays verified');
    // Any other string is another address, a change of case included (RFC 5321 §2.4: a local part may be case-sensitive).
    const recased = await store.users.updateProfile(env.id, u.id, { email: u.email.toLowerCase() }, NOW + 3 * MINUTE);
    assert.deepEqual(recased, { ...u, email: u.email.toLowerCase(), emailVerified: false, updatedAt: NOW + 3 * MINUTE });
    const moved = await store.users.updateProfile(env.id, u.id, { email: 'alice@new.example.test', emailVerified: true }, NOW + 4 * MINUTE);
    assert.deepEqual(moved, { ...u, email: 'alice@new.example.test', emailVerified: true, updatedAt: NOW + 4 * MINUTE });
    const unverified = await store.users.updateProfile(env.id, u.id, { email: 'alice@newer.example.test' }, NOW + 5 * MINUTE);
    assert.deepEqual(unverified, { ...u, email: 'alice@newer.example.test', emailVerified: false, updatedAt: NOW + 5 * MINUTE });
    assert.deepEqual(await store.users.getByEmail(env.id, 'ALICE@NEWER.example.test'), unverified);
    assert.equal(await store.users.getByEmail(env.id, u.email), undefined);
    await store.users.create(user(env.id, { email: u.email }));

    const b = user(env.id);
    await store.users.create(b);
    await assert.rejects(store.users.updateProfile(env.id, u.id, { email: b.email.toUpperCase(), name: 'Taken' }, NOW + 6 * MINUTE), conflict);
    assert.deepEqual(await store.users.get(env.id, u.id), unverified, 'a refused update changes nothing');
    const elsewhere = environment();
    await store.environments.create(elsewhere);
    const c = user(elsewhere.id);
    await store.users.create(c);
    assert.equal((await store.users.updateProfile(elsewhere.id, c.id, { email: b.email }, NOW + 7 * MINUTE))?.email, b.email,
      'emails are unique per environment');
  });

  test('signing keys: insert and list; retire marks every other active key of the environment; a taken kid conflicts', async (t) => {
    const store = await one(open, t);
    const { env } = await basics(store);
    const other = environment();
    await store.environments.create(other);
    const key = (envId: string, createdAt: number, o: Partial<SigningKeyRecord> = {}): SigningKeyRecord => ({
      kid: randomUUID(), envId, alg: 'ES256', publicJwk: '{"kty":"EC"}', privateJwkEnc: hash(), status: 'active', createdAt, retiredUntil: null, ...o,
    });
    const k1 = key(env.id, NOW);
    const k2 = key(env.id, NOW + 1, { alg: 'RS256' });
    const k3 = key(env.id, NOW + 2);
    const old = key(env.id, NOW - 1, { status: 'retired', retiredUntil: NOW + 5 });
    const elsewhere = key(other.id, NOW);
    for (const k of [k1, k2, k3, old, elsewhere]) await store.signingKeys.insert(k);
    assert.deepEqual(await store.signingKeys.list(env.id), [old, k1, k2, k3]);
    assert.equal(await store.signingKeys.retire(env.id, k3.kid, NOW + MINUTE), 2);
    assert.deepEqual(await store.signingKeys.list(env.id), [
      old, { ...k1, status: 'retired', retiredUntil: NOW + MINUTE }, { ...k2, status: 'retired', retiredUntil: NOW + MINUTE }, k3,
    ]);
    assert.deepEqual(await store.signingKeys.list(other.id), [elsewhere]);
    await assert.rejects(store.signingKeys.insert(key(env.id, NOW, { kid: k1.kid })), conflict);
  });

  test('admin keys: create, get across environments, list; revoke sets revoked_at once; a taken access id conflicts', async (t) => {
    const store = await one(open, t);
    const { env } = await basics(store);
    const key = (createdAt: number, o: Partial<AdminKey> = {}): AdminKey => ({
      accessId: randomUUID(), envId: env.id, description: 'ops', role: 'super_admin', publicKeyPem: '-----BEGIN PUBLIC KEY-----',
      createdAt, revokedAt: null, ...o,
    });
    const a = key(NOW + 1);
    const b = key(NOW, { role: 'helpdesk_admin', description: '' });
    await store.adminKeys.create(a);
    await store.adminKeys.create(b);
    assert.deepEqual(await store.adminKeys.get(a.accessId), a);
    assert.deepEqual(await store.adminKeys.list(env.id), [b, a]);
    assert.deepEqual(await store.adminKeys.revoke(env.id, a.accessId, NOW + MINUTE), { ...a, revokedAt: NOW + MINUTE });
    assert.deepEqual(await store.adminKeys.revoke(env.id, a.accessId, NOW + 2 * MINUTE), { ...a, revokedAt: NOW + MINUTE });
    const other = environment();
    await store.environments.create(other);
    assert.equal(await store.adminKeys.revoke(other.id, b.accessId, NOW), undefined);
    assert.equal((await store.adminKeys.get(b.accessId))?.revokedAt, null);
    await assert.rejects(store.adminKeys.create(key(NOW, { accessId: a.accessId })), conflict);
  });

  test('app ids: add, get, list per environment; a known app id conflicts', async (t) => {
    const store = await one(open, t);
    const { env } = await basics(store);
    const a = { envId: env.id, appId: randomUUID(), name: 'Authenticator', createdAt: NOW };
    const b = { envId: env.id, appId: randomUUID(), name: 'Other', createdAt: NOW - 1 };
    await store.appIds.add(a);
    await store.appIds.add(b);
    assert.deepEqual(await store.appIds.get(env.id, a.appId), a);
    assert.deepEqual(await store.appIds.list(env.id), [b, a]);
    const other = environment();
    await store.environments.create(other);
    assert.equal(await store.appIds.get(other.id, a.appId), undefined);
    await store.appIds.add({ ...a, envId: other.id });
    await assert.rejects(store.appIds.add({ ...a, name: 'again' }), conflict);
  });

  test('revoked access tokens: add (twice) and has', async (t) => {
    const store = await one(open, t);
    const { env } = await basics(store);
    const jti = randomUUID();
    assert.equal(await store.revokedAccessTokens.has(jti), false);
    await store.revokedAccessTokens.add(jti, env.id, NOW + MINUTE);
    await store.revokedAccessTokens.add(jti, env.id, NOW + 2 * MINUTE);
    assert.equal(await store.revokedAccessTokens.has(jti), true);
  });

  test('ping answers and the schema is migrated', async (t) => {
    const store = await one(open, t);
    await store.ping();
    assert.equal(await store.isMigrated(), true);
  });
}
