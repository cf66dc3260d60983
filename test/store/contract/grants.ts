// The contract for registration codes (one live code and one device per user) and for grants with
// their refresh-token families (rotation, the reuse grace, revocation).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { RegistrationCode } from '../../../src/model/records.ts';
import type { Store } from '../../../src/store/store.ts';
import { basics, device, flow, grant, hash, MINUTE, NOW, one, user, type OpenStores } from './fixtures.ts';

export const APP = '1f00c62b-a5c0-49d3-9ffb-92314d717187';

export const code = (envId: string, userId: string, o: Partial<RegistrationCode> = {}): RegistrationCode => ({
  userId, envId, codeHash: hash(), appId: APP, expiresAt: NOW + 5 * MINUTE, createdAt: NOW, ...o,
});

export const phone = (o: { id?: string } = {}) => ({ id: o.id ?? randomUUID(), appId: APP, deviceName: 'Pixel', platform: 'android', registeredAt: NOW + MINUTE });

/** The status of each of `hashes` in its grant's family (undefined: no such token). */
export async function statuses(store: Store, hashes: readonly string[]): Promise<(string | undefined)[]> {
  return Promise.all(hashes.map(async (h) => (await store.refreshTokens.find(h))?.token.status));
}

export function grantContract(open: OpenStores): void {
  test('registration codes: issue, redeem once into the one device; a new code replaces the old one', async (t) => {
    const store = await one(open, t);
    const { env, user: u } = await basics(store);
    const first = code(env.id, u.id);
    assert.equal(await store.registrationCodes.issue(first), 'ok');
    const second = code(env.id, u.id);
    assert.equal(await store.registrationCodes.issue(second), 'ok');
    const p = phone();
    assert.deepEqual(await store.registrationCodes.redeem(first.codeHash, APP, p, NOW), { outcome: 'invalid_code' }, 'replaced');
    assert.deepEqual(await store.registrationCodes.redeem(second.codeHash, randomUUID(), p, NOW), { outcome: 'invalid_code' }, 'for its app only');
    const registered = { ...p, envId: env.id, userId: u.id, appId: APP };
    assert.deepEqual(await store.registrationCodes.redeem(second.codeHash, APP, p, NOW), { outcome: 'ok', device: registered });
    assert.deepEqual(await store.registrationCodes.redeem(second.codeHash, APP, phone(), NOW), { outcome: 'invalid_code' }, 'one-time');
    assert.deepEqual(await store.registeredDevices.listForUser(env.id, u.id), [registered]);
    assert.equal(await store.registrationCodes.issue(code(env.id, u.id)), 'device_registered');
    assert.equal(await store.registeredDevices.delete(env.id, u.id, randomUUID()), false);
    assert.equal(await store.registeredDevices.delete(env.id, u.id, p.id), true);
    assert.deepEqual(await store.registeredDevices.listForUser(env.id, u.id), []);
    assert.equal(await store.registrationCodes.issue(code(env.id, u.id)), 'ok', 'once the device is gone, a new code');
  });

  test('registration codes: a hash another user holds is reported; expired codes and disabled users are refused', async (t) => {
    const store = await one(open, t);
    const { env, user: u } = await basics(store);
    const other = user(env.id);
    await store.users.create(other);
    const held = code(env.id, u.id);
    assert.equal(await store.registrationCodes.issue(held), 'ok');
    assert.equal(await store.registrationCodes.issue(code(env.id, other.id, { codeHash: held.codeHash })), 'code_taken');
    assert.deepEqual(await store.registrationCodes.redeem(held.codeHash, APP, phone(), held.expiresAt), { outcome: 'invalid_code' }, 'expired');
    await store.users.setDisabled(env.id, u.username, true, NOW);
    assert.deepEqual(await store.registrationCodes.redeem(held.codeHash, APP, phone(), NOW), { outcome: 'user_disabled' });
    await store.users.setDisabled(env.id, u.username, false, NOW);
    assert.equal((await store.registrationCodes.redeem(held.codeHash, APP, phone(), NOW)).outcome, 'ok', "a disabled user's code is kept");
  });

  test('grants: create (with and without a refresh token), get, listLive newest first; revoke ends it once', async (t) => {
    const store = await one(open, t);
    const { env, client: c, user: u } = await basics(store);
    const older = grant(env.id, u.id, c.clientId, { kind: 'session', createdAt: NOW - 2 });
    const newer = grant(env.id, u.id, c.clientId, { createdAt: NOW - 1 });
    const idle = grant(env.id, u.id, c.clientId, { idleExpiresAt: NOW });
    const old = grant(env.id, u.id, c.clientId, { absoluteExpiresAt: NOW });
    const token = hash();
    await store.grants.create(older, null);
    await store.grants.create(newer, token);
    await store.grants.create(idle, null);
    await store.grants.create(old, null);
    assert.deepEqual(await store.grants.get(env.id, newer.id), newer);
    assert.equal(await store.grants.get(randomUUID(), newer.id), undefined);
    assert.deepEqual(await store.grants.listLive(env.id, u.id, NOW), [newer, older]);
    assert.deepEqual(await store.refreshTokens.find(token), {
      token: { tokenHash: token, grantId: newer.id, status: 'active', createdAt: newer.createdAt, rotatedAt: null }, grant: newer,
    });
    assert.deepEqual(await store.grants.revoke(env.id, newer.id, NOW + 1), { ...newer, revokedAt: NOW + 1 });
    assert.deepEqual(await store.grants.revoke(env.id, newer.id, NOW + 2), { ...newer, revokedAt: NOW + 1 }, 'revoked once');
    assert.equal(await store.grants.revoke(randomUUID(), older.id, NOW), undefined);
    assert.deepEqual(await store.grants.listLive(env.id, u.id, NOW), [older]);
  });

  test('refresh tokens: rotate replaces the active token once; reissue supersedes; touch marks the grant used; none on a revoked grant', async (t) => {
    const store = await one(open, t);
    const { env, client: c, user: u } = await basics(store);
    const g = grant(env.id, u.id, c.clientId);
    const [t1, t2, t3, t4] = [hash(), hash(), hash(), hash()];
    await store.grants.create(g, t1);
    assert.equal(await store.refreshTokens.rotate(t1, t2, NOW + MINUTE, NOW + 100 * MINUTE, null), true);
    assert.deepEqual(await store.refreshTokens.find(t1), {
      token: { tokenHash: t1, grantId: g.id, status: 'rotated', createdAt: g.createdAt, rotatedAt: NOW + MINUTE },
      grant: { ...g, lastUsedAt: NOW + MINUTE, idleExpiresAt: NOW + 100 * MINUTE },
    });
    assert.deepEqual((await store.refreshTokens.find(t2))?.token, { tokenHash: t2, grantId: g.id, status: 'active', createdAt: NOW + MINUTE, rotatedAt: null });
    assert.equal(await store.refreshTokens.rotate(t1, t3, NOW + 2 * MINUTE, NOW, null), false, 'a rotated token does not rotate again');
    assert.equal(await store.refreshTokens.find(t3), undefined);

    assert.equal(await store.refreshTokens.reissue(g.id, t3, NOW + 3 * MINUTE, NOW + 200 * MINUTE, null), true);
    assert.deepEqual(await statuses(store, [t1, t2, t3]), ['rotated', 'superseded', 'active']);
    assert.equal((await store.refreshTokens.find(t2))?.token.rotatedAt, NOW + 3 * MINUTE);
    const from = { address: '192.0.2.7', userAgent: 'curl/8', country: 'DE', asn: 64500, network: 'Example' };
    assert.equal(await store.refreshTokens.touch(g.id, NOW + 4 * MINUTE, NOW + 300 * MINUTE, from), true);
    assert.deepEqual(await store.grants.get(env.id, g.id), { ...g, lastUsedAt: NOW + 4 * MINUTE, idleExpiresAt: NOW + 300 * MINUTE, lastUsedContext: from });

    await store.grants.revoke(env.id, g.id, NOW + 5 * MINUTE);
    assert.equal(await store.refreshTokens.rotate(t3, t4, NOW + 6 * MINUTE, NOW, null), false);
    assert.equal(await store.refreshTokens.reissue(g.id, t4, NOW + 6 * MINUTE, NOW, null), false);
    assert.equal(await store.refreshTokens.touch(g.id, NOW + 6 * MINUTE, NOW, null), false);
    assert.deepEqual(await statuses(store, [t3, t4]), ['active', undefined]);
    assert.equal(await store.refreshTokens.rotate(hash(), t4, NOW, NOW, null), false, 'unknown token');
    assert.equal(await store.refreshTokens.reissue(randomUUID(), t4, NOW, NOW, null), false, 'unknown grant');
  });

  test('a rotation that fails part-way changes nothing, and the writes started beside it still land', async (t) => {
    const store = await one(open, t);
    const { env, client: c, user: u } = await basics(store);
    const [g, other] = [grant(env.id, u.id, c.clientId), grant(env.id, u.id, c.clientId)];
    const [t1, taken] = [hash(), hash()];
    await store.grants.create(g, t1);
    await store.grants.create(other, taken);
    // The new token's hash is one the store holds already: its insert fails after the old token was
    // marked rotated. On SQLite both are in one group commit with the touch of the other grant.
    const [rotation, touched] = await Promise.allSettled([
      store.refreshTokens.rotate(t1, taken, NOW + MINUTE, NOW + 100 * MINUTE, null),
      store.refreshTokens.touch(other.id, NOW + MINUTE, NOW + 100 * MINUTE, null),
    ]);
    assert.equal(rotation.status, 'rejected');
    assert.deepEqual(touched, { status: 'fulfilled', value: true });
    assert.deepEqual(await store.refreshTokens.find(t1), { token: { tokenHash: t1, grantId: g.id, status: 'active', createdAt: g.createdAt, rotatedAt: null }, grant: g },
      'the old token is still the active one, and its grant untouched');
    assert.equal((await store.grants.get(env.id, other.id))?.lastUsedAt, NOW + MINUTE);
    assert.equal(await store.refreshTokens.rotate(t1, hash(), NOW + 2 * MINUTE, NOW + 100 * MINUTE, null), true, 'and it rotates afterwards');
  });

  test('sweep deletes exactly what no rule needs any more, reports each kind, and finds nothing the second time', async (t) => {
    const store = await one(open, t);
    const { env, client: c, user: u } = await basics(store);
    const hour = 60 * MINUTE;
    // Gone: expired more than an hour ago, expired flows and codes, old guesses, dead keys, ended grants, old denylist entries.
    assert.equal(await store.deviceAuthorizations.insert(device(env.id, c.clientId, { expiresAt: NOW - hour - 1 })), 'ok');
    await store.flows.create(flow(env.id, { expiresAt: NOW - 1 }));
    const stale = user(env.id);
    await store.users.create(stale);
    assert.equal(await store.registrationCodes.issue(code(env.id, stale.id, { expiresAt: NOW - 1 })), 'ok');
    await store.guesses.take('192.0.2.1', NOW - 24 * hour - 1, 0, 10);
    await store.signingKeys.insert({
      kid: randomUUID(), envId: env.id, alg: 'ES256', publicJwk: '{}', privateJwkEnc: hash(), status: 'retired', createdAt: NOW - hour, retiredUntil: NOW - 1,
    });
    const revoked = grant(env.id, u.id, c.clientId, { revokedAt: NOW - 1 });
    await store.grants.create(revoked, hash());
    await store.grants.create(grant(env.id, u.id, c.clientId, { idleExpiresAt: NOW - 1 }), null);
    await store.grants.create(grant(env.id, u.id, c.clientId, { absoluteExpiresAt: NOW - 1 }), null);
    await store.revokedAccessTokens.add(randomUUID(), env.id, NOW - 1);
    // Kept: the same kinds, still needed.
    const recent = device(env.id, c.clientId, { expiresAt: NOW - hour + 1 });
    assert.equal(await store.deviceAuthorizations.insert(recent), 'ok');
    const live = flow(env.id);
    await store.flows.create(live);
    const liveCode = code(env.id, u.id);
    assert.equal(await store.registrationCodes.issue(liveCode), 'ok');
    await store.guesses.take('192.0.2.1', NOW - 24 * hour + 1, 0, 10);
    const active = {
      kid: randomUUID(), envId: env.id, alg: 'ES256' as const, publicJwk: '{}', privateJwkEnc: hash(), status: 'retired' as const, createdAt: NOW, retiredUntil: NOW + 1,
    };
    await store.signingKeys.insert(active);
    const kept = grant(env.id, u.id, c.clientId);
    await store.grants.create(kept, null);
    const jti = randomUUID();
    await store.revokedAccessTokens.add(jti, env.id, NOW + 1);

    assert.deepEqual(await store.sweep(NOW), {
      deviceAuthorizations: 1, flows: 1, registrationCodes: 1, codeGuesses: 1, signingKeys: 1, grants: 3, revokedAccessTokens: 1, auditEvents: 0,
    });
    assert.deepEqual(await store.sweep(NOW), {
      deviceAuthorizations: 0, flows: 0, registrationCodes: 0, codeGuesses: 0, signingKeys: 0, grants: 0, revokedAccessTokens: 0, auditEvents: 0,
    });
    assert.deepEqual(await store.deviceAuthorizations.get(env.id, recent.id), recent);
    assert.deepEqual(await store.flows.get(env.id, live.id, NOW), live);
    assert.deepEqual(await store.guesses.count('192.0.2.1', 0), { count: 1, oldest: NOW - 24 * hour + 1 });
    assert.deepEqual((await store.signingKeys.list(env.id)).map((k) => k.kid), [active.kid]);
    assert.deepEqual(await store.grants.listLive(env.id, u.id, NOW), [kept]);
    assert.equal(await store.grants.get(env.id, revoked.id), undefined);
    assert.equal(await store.revokedAccessTokens.has(jti), true);
    assert.equal((await store.registrationCodes.redeem(liveCode.codeHash, APP, phone(), NOW)).outcome, 'ok');
  });
}
