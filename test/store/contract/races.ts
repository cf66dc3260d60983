// The contract under concurrency: many calls at once, spread over several stores on one database
// (for PostgreSQL: separate pools, so separate connections really race). Every rule that decides
// "exactly one" must hold: one token out of an approved code, one decision, one poll per
// interval, one pending holder of a user code, one device per user, one rotation per token, one
// grant per redeemed code.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { basics, client as newClient, device, flow, grant, hash, NOW, race, user as newUser, type OpenStores } from './fixtures.ts';
import { APP, code, phone, statuses } from './grants.ts';

const CALLS = 24;
const STORES = 3;

const count = <T>(xs: readonly T[], p: (x: T) => boolean): number => xs.filter(p).length;

export function raceContract(open: OpenStores): void {
  test('races: of many consumes of one approved code exactly one lets a token out; of many decisions exactly one applies', async (t) => {
    const stores = await open(t, STORES);
    const [store] = stores;
    assert.ok(store);
    const { env, client, user } = await basics(store);
    const d = device(env.id, client.clientId);
    assert.equal(await store.deviceAuthorizations.insert(d), 'ok');
    const decided = await race(stores, CALLS, (s, i) => s.deviceAuthorizations.decide(d.id, i % 2 === 0 ? 'approved' : 'denied', user.id, null, NOW));
    assert.equal(count(decided, (r) => r !== undefined), 1);
    const winner = decided.find((r) => r !== undefined);
    if (winner?.status !== 'approved') {
      // Denied won: race the consumption on a code that is approved.
      const other = device(env.id, client.clientId);
      assert.equal(await store.deviceAuthorizations.insert(other), 'ok');
      assert.ok(await store.deviceAuthorizations.decide(other.id, 'approved', user.id, null, NOW));
      d.id = other.id;
    }
    const consumed = await race(stores, CALLS, (s) => s.deviceAuthorizations.consume(d.id, NOW + 1));
    assert.equal(count(consumed, (r) => r !== undefined), 1, 'exactly one consume wins');
    assert.equal((await store.deviceAuthorizations.get(env.id, d.id))?.status, 'consumed');
  });

  test('races: many redeems of one approved code: exactly one spends it, and exactly one grant is stored', async (t) => {
    const stores = await open(t, STORES);
    const [store] = stores;
    assert.ok(store);
    const { env, client, user } = await basics(store);
    const d = device(env.id, client.clientId);
    assert.equal(await store.deviceAuthorizations.insert(d), 'ok');
    assert.ok(await store.deviceAuthorizations.decide(d.id, 'approved', user.id, null, NOW));
    const grants = Array.from({ length: CALLS }, () => grant(env.id, user.id, client.clientId));
    const results = await race(stores, CALLS, (s, i) => s.deviceAuthorizations.redeem(d.id, NOW + 1, grants[i] ?? grants[0] ?? grant(env.id, user.id, client.clientId), hash()));
    assert.equal(count(results, (r) => r !== undefined), 1, 'exactly one redeem wins');
    const stored = await Promise.all(grants.map((g) => store.grants.get(env.id, g.id)));
    assert.equal(count(stored, (g) => g !== undefined), 1, 'exactly one grant');
    assert.equal(results.findIndex((r) => r !== undefined), stored.findIndex((g) => g !== undefined), 'the winner\'s');
  });

  test('races: many first keys for one environment at once (instances starting together): exactly one is inserted', async (t) => {
    const stores = await open(t, STORES);
    const [store] = stores;
    assert.ok(store);
    const { env } = await basics(store);
    const keys = Array.from({ length: CALLS }, (_, i) => ({
      kid: randomUUID(), envId: env.id, alg: 'ES256' as const, publicJwk: '{"kty":"EC"}', privateJwkEnc: hash(), status: 'active' as const, createdAt: NOW + i, retiredUntil: null,
    }));
    const inserted = await race(stores, CALLS, (s, i) => s.signingKeys.insertFirst(keys[i] ?? keys[0] ?? assert.fail('no key')));
    assert.equal(count(inserted, (r) => r), 1, 'exactly one first key');
    assert.deepEqual((await store.signingKeys.list(env.id)).map((k) => k.kid), [keys[inserted.indexOf(true)]?.kid]);
    assert.equal(await store.signingKeys.insertFirst({ ...keys[0] ?? assert.fail('no key'), kid: randomUUID() }), false, 'an environment with an active key gets no other first key');
  });

  test('races: concurrent polls with one expected last_polled_at: exactly one compare-and-set succeeds, and it is the one stored', async (t) => {
    const stores = await open(t, STORES);
    const [store] = stores;
    assert.ok(store);
    const { env, client } = await basics(store);
    const d = device(env.id, client.clientId);
    assert.equal(await store.deviceAuthorizations.insert(d), 'ok');
    for (const expected of [null, NOW]) {
      if (expected !== null) assert.equal(await store.deviceAuthorizations.recordPoll(d.id, (await store.deviceAuthorizations.get(env.id, d.id))?.lastPolledAt ?? null, NOW, 5), true);
      const base = expected === null ? NOW - 1000 : NOW + 1000;
      const polls = await race(stores, CALLS, (s, i) => s.deviceAuthorizations.recordPoll(d.id, expected, base + i, 5 + i));
      assert.equal(count(polls, (ok) => ok), 1, 'exactly one poll recorded');
      const i = polls.indexOf(true);
      const after = await store.deviceAuthorizations.get(env.id, d.id);
      assert.deepEqual([after?.lastPolledAt, after?.interval], [base + i, 5 + i]);
    }
  });

  test('races: concurrent polls of one code: no two record a poll over the same previous one, and the last recorded is the one stored', async (t) => {
    const stores = await open(t, STORES);
    const [store] = stores;
    assert.ok(store);
    const { env, client } = await basics(store);
    const d = device(env.id, client.clientId);
    assert.equal(await store.deviceAuthorizations.insert(d), 'ok');
    const at = (i: number) => NOW + 1000 + i;
    const reads = await race(stores, CALLS, (s, i) => s.deviceAuthorizations.poll(d.deviceCodeHash, { envId: env.id, clientId: client.clientId, now: at(i), slowDownStep: 5 }));
    const recorded = reads.flatMap((r, i) => (r?.recorded === true ? [{ now: at(i), previous: r.device.lastPolledAt, interval: r.device.interval }] : []));
    assert.ok(recorded.length >= 1, 'at least the first poll is recorded');
    const previous = recorded.map((r) => r.previous);
    assert.equal(new Set(previous).size, previous.length, 'no two recorded over the same previous poll (compare-and-set)');
    // So the recorded polls are one chain from the first: each one's previous poll is the one recorded before it.
    const byPrevious = new Map(recorded.map((r) => [r.previous, r]));
    const chain = [];
    for (let link = byPrevious.get(null); link !== undefined; link = byPrevious.get(link.now)) chain.push(link);
    assert.equal(chain.length, recorded.length, 'every recorded poll is a link of the chain from the first');
    const after = await store.deviceAuthorizations.get(env.id, d.id);
    assert.equal(after?.lastPolledAt, chain.at(-1)?.now, 'the last link is stored');
    assert.equal(after?.interval, 5 + 5 * (recorded.length - 1), 'every poll after the first came too soon: one step each');
  });

  test('races: concurrent inserts of one user code: exactly one holds it while pending', async (t) => {
    const stores = await open(t, STORES);
    const [store] = stores;
    assert.ok(store);
    const { env, client } = await basics(store);
    const userCodeHash = hash();
    const results = await race(stores, CALLS, (s) => s.deviceAuthorizations.insert(device(env.id, client.clientId, { userCodeHash })));
    assert.equal(count(results, (r) => r === 'ok'), 1);
    assert.equal(count(results, (r) => r === 'user_code_taken'), CALLS - 1);
  });

  test('races: consent decided through many flows at once (two flows, one device): exactly one decides it', async (t) => {
    const stores = await open(t, STORES);
    const [store] = stores;
    assert.ok(store);
    const { env, client, user } = await basics(store);
    const d = device(env.id, client.clientId);
    assert.equal(await store.deviceAuthorizations.insert(d), 'ok');
    const flows = [flow(env.id), flow(env.id)].map((f) => ({ ...f, status: 'DAG_CONSENT_REQUIRED' as const, userId: user.id, deviceId: d.id }));
    for (const f of flows) await store.flows.create(f);
    const results = await race(stores, CALLS, (s, i) => s.flows.decide(flows[i % 2]?.id ?? '', i % 3 !== 0, NOW));
    assert.equal(count(results, (r) => r === 'ok'), 1);
    assert.notEqual((await store.deviceAuthorizations.get(env.id, d.id))?.status, 'pending');
  });

  test('races: many redemptions of one registration code: exactly one device is registered', async (t) => {
    const stores = await open(t, STORES);
    const [store] = stores;
    assert.ok(store);
    const { env, user } = await basics(store);
    const c = code(env.id, user.id);
    assert.equal(await store.registrationCodes.issue(c), 'ok');
    const results = await race(stores, CALLS, (s) => s.registrationCodes.redeem(c.codeHash, APP, phone(), NOW));
    assert.equal(count(results, (r) => r.outcome === 'ok'), 1);
    assert.equal(count(results, (r) => r.outcome === 'invalid_code'), CALLS - 1);
    const won = results.find((r) => r.outcome === 'ok');
    assert.deepEqual(await store.registeredDevices.listForUser(env.id, user.id), won?.outcome === 'ok' ? [won.device] : []);
  });

  test('races: codes issued and redeemed for one user at once: never more than one device, and every success is it', async (t) => {
    const stores = await open(t, STORES);
    const [store] = stores;
    assert.ok(store);
    const { env, user } = await basics(store);
    const results = await race(stores, CALLS, async (s) => {
      const c = code(env.id, user.id);
      const issued = await s.registrationCodes.issue(c);
      return issued === 'ok' ? (await s.registrationCodes.redeem(c.codeHash, APP, phone(), NOW)).outcome : issued;
    });
    const devices = await store.registeredDevices.listForUser(env.id, user.id);
    assert.equal(count(results, (r) => r === 'ok'), devices.length, results.join());
    assert.ok(devices.length <= 1, `${devices.length} devices for one user`);
  });

  test('races: many rotations of one refresh token: exactly one succeeds, and the grant has one active token', async (t) => {
    const stores = await open(t, STORES);
    const [store] = stores;
    assert.ok(store);
    const { env, client, user } = await basics(store);
    const g = grant(env.id, user.id, client.clientId);
    const first = hash();
    await store.grants.create(g, first);
    const next = Array.from({ length: CALLS }, () => hash());
    const results = await race(stores, CALLS, (s, i) => s.refreshTokens.rotate(first, next[i] ?? '', NOW + i, NOW + 1000, null));
    assert.equal(count(results, (ok) => ok), 1, 'exactly one rotation');
    const after = await statuses(store, [first, ...next]);
    assert.equal(after[0], 'rotated');
    assert.deepEqual(after.slice(1).filter((s) => s !== undefined), ['active'], 'only the winner\'s token exists');
    assert.equal(after[1 + results.indexOf(true)], 'active');
  });

  test('races: rotations and reissues of one grant at once leave exactly one active token', async (t) => {
    const stores = await open(t, STORES);
    const [store] = stores;
    assert.ok(store);
    const { env, client, user } = await basics(store);
    const g = grant(env.id, user.id, client.clientId);
    const first = hash();
    await store.grants.create(g, first);
    const next = Array.from({ length: CALLS }, () => hash());
    await race(stores, CALLS, (s, i) => (i % 2 === 0
      ? s.refreshTokens.rotate(first, next[i] ?? '', NOW + i, NOW + 1000, null)
      : s.refreshTokens.reissue(g.id, next[i] ?? '', NOW + i, NOW + 1000, null)));
    const all = await statuses(store, [first, ...next]);
    assert.equal(count(all, (s) => s === 'active'), 1, all.join());
  });

  test('races: the one account client per environment, and one user per username, under concurrent creates', async (t) => {
    const stores = await open(t, STORES);
    const [store] = stores;
    assert.ok(store);
    const { env } = await basics(store);
    const settle = (p: Promise<void>) => p.then(() => 'ok', (err: unknown) => (err instanceof Error ? err.name : 'error'));
    const accounts = await race(stores, CALLS, (s) => settle(s.clients.create(newClient(env.id, { purpose: 'account' }))));
    assert.equal(count(accounts, (r) => r === 'ok'), 1);
    assert.equal(count(accounts, (r) => r === 'StoreConflictError'), CALLS - 1);
    const username = `same-${randomUUID()}`;
    const users = await race(stores, CALLS, (s) => settle(s.users.create(newUser(env.id, { username }))));
    assert.equal(count(users, (r) => r === 'ok'), 1);
    assert.equal(count(users, (r) => r === 'StoreConflictError'), CALLS - 1);
  });
}
