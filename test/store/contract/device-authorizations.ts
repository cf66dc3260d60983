// The contract for device authorizations and verification flows: every conditional transition
// applies only from its state and before expiry, and refuses otherwise.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { DeviceAuthorization, RequestContext } from '../../../src/model/records.ts';
import type { Store } from '../../../src/store/store.ts';
import { basics, device, flow, grant, hash, MINUTE, NOW, one, type OpenStores } from './fixtures.ts';

async function pendingDevice(store: Store, o: Partial<DeviceAuthorization> = {}) {
  const b = await basics(store);
  const d = device(b.env.id, b.client.clientId, o);
  assert.equal(await store.deviceAuthorizations.insert(d), 'ok');
  return { ...b, device: d };
}

export function deviceContract(open: OpenStores): void {
  test('device authorizations: insert, then get by id, by device code and by user code, equal', async (t) => {
    const store = await one(open, t);
    const { env, device: d } = await pendingDevice(store, { sourceNetwork: '2001:db8:1:2::/64' });
    assert.deepEqual(await store.deviceAuthorizations.get(env.id, d.id), d);
    assert.deepEqual(await store.deviceAuthorizations.getByDeviceCodeHash(d.deviceCodeHash), d);
    assert.deepEqual(await store.deviceAuthorizations.getByUserCodeHash(env.id, d.userCodeHash), d);
    assert.equal(await store.deviceAuthorizations.get(randomUUID(), d.id), undefined, 'another environment sees nothing');
    assert.equal(await store.deviceAuthorizations.getByUserCodeHash(randomUUID(), d.userCodeHash), undefined);
    assert.equal(await store.deviceAuthorizations.getByDeviceCodeHash('0'.repeat(64)), undefined);
  });

  test('device authorizations: a user code is unique among pending ones only; lookup prefers the pending, then the newest', async (t) => {
    const store = await one(open, t);
    const { env, client, device: first } = await pendingDevice(store);
    assert.equal(await store.deviceAuthorizations.insert(device(env.id, client.clientId, { userCodeHash: first.userCodeHash })), 'user_code_taken');
    assert.ok(await store.deviceAuthorizations.decide(first.id, 'denied', randomUUID(), null, NOW));
    const second = device(env.id, client.clientId, { userCodeHash: first.userCodeHash, createdAt: first.createdAt - 5 });
    assert.equal(await store.deviceAuthorizations.insert(second), 'ok', 'a decided code no longer holds its user code');
    assert.equal((await store.deviceAuthorizations.getByUserCodeHash(env.id, first.userCodeHash))?.id, second.id, 'the pending one, though older');
    assert.ok(await store.deviceAuthorizations.decide(second.id, 'approved', randomUUID(), null, NOW));
    assert.equal((await store.deviceAuthorizations.getByUserCodeHash(env.id, first.userCodeHash))?.id, first.id, 'then the newest');
  });

  test('device authorizations: recordPoll is a compare-and-set on last_polled_at and sets the interval', async (t) => {
    const store = await one(open, t);
    const { env, device: d } = await pendingDevice(store);
    assert.equal(await store.deviceAuthorizations.recordPoll(d.id, NOW, NOW + 1000, 5), false, 'never polled: only null matches');
    assert.equal(await store.deviceAuthorizations.recordPoll(d.id, null, NOW + 1000, 5), true);
    assert.equal(await store.deviceAuthorizations.recordPoll(d.id, null, NOW + 2000, 10), false, 'a concurrent poll won');
    assert.equal(await store.deviceAuthorizations.recordPoll(d.id, NOW + 1000, NOW + 3000, 10), true);
    assert.deepEqual(await store.deviceAuthorizations.get(env.id, d.id), { ...d, lastPolledAt: NOW + 3000, interval: 10 });
    assert.equal(await store.deviceAuthorizations.recordPoll(randomUUID(), null, NOW, 5), false);
  });

  test('device authorizations: poll reads the code and records a due poll: slow_down grows the interval, and only a pending, unexpired code of the client is polled', async (t) => {
    const store = await one(open, t);
    const { env, client, user, device: d } = await pendingDevice(store);
    const as = { envId: env.id, clientId: client.clientId, slowDownStep: 5 };
    const polls = store.deviceAuthorizations;
    assert.equal(await polls.poll(hash(), { ...as, now: NOW }), undefined, 'an unknown code');
    assert.deepEqual(await polls.poll(d.deviceCodeHash, { ...as, now: NOW + 1000 }), { device: d, recorded: true }, 'the first poll: the row as read, before it');
    const first = { ...d, lastPolledAt: NOW + 1000 };
    assert.deepEqual(await polls.get(env.id, d.id), first, 'never too soon: the interval stays');
    assert.deepEqual(await polls.poll(d.deviceCodeHash, { ...as, now: NOW + 5999 }), { device: first, recorded: true });
    const slowed = { ...d, lastPolledAt: NOW + 5999, interval: 10 };
    assert.deepEqual(await polls.get(env.id, d.id), slowed, '4.999 s after, with an interval of 5 s: one step longer');
    assert.deepEqual(await polls.poll(d.deviceCodeHash, { ...as, now: NOW + 15_999, slowDownStep: 7 }), { device: slowed, recorded: true });
    assert.deepEqual(await polls.get(env.id, d.id), { ...slowed, lastPolledAt: NOW + 15_999 }, 'exactly the interval after: not too soon');

    const unchanged = await polls.get(env.id, d.id);
    assert.ok(unchanged);
    for (const [why, attempt] of [
      ['another client', { ...as, clientId: 'other-client', now: NOW + MINUTE }],
      ['another environment', { ...as, envId: randomUUID(), now: NOW + MINUTE }],
      ['expired', { ...as, now: d.expiresAt }],
    ] as const) {
      assert.deepEqual(await polls.poll(d.deviceCodeHash, attempt), { device: unchanged, recorded: false }, why);
      assert.deepEqual(await polls.get(env.id, d.id), unchanged, `${why}: nothing recorded`);
    }
    const approved = await polls.decide(d.id, 'approved', user.id, null, NOW + MINUTE);
    assert.ok(approved);
    assert.deepEqual(await polls.poll(d.deviceCodeHash, { ...as, now: NOW + 2 * MINUTE }), { device: approved, recorded: false }, 'an approved code');
    assert.deepEqual(await polls.get(env.id, d.id), approved);
  });

  test('device authorizations: codes whose hashes begin alike are each inserted, found and polled as themselves', async (t) => {
    const store = await one(open, t);
    const b = await basics(store);
    // SQLite keys a row by the first 13 hex digits of its device code's hash; the second of these
    // finds its key taken, goes unkeyed and is found through the hash's partial index instead.
    const prefix = hash().slice(0, 20);
    const [first, second] = [1, 2].map(() => device(b.env.id, b.client.clientId, { deviceCodeHash: prefix + hash().slice(20) }));
    assert.ok(first && second);
    for (const d of [first, second]) assert.equal(await store.deviceAuthorizations.insert(d), 'ok');
    const as = { envId: b.env.id, clientId: b.client.clientId, slowDownStep: 5, now: NOW + 1000 };
    for (const d of [first, second]) {
      assert.deepEqual(await store.deviceAuthorizations.getByDeviceCodeHash(d.deviceCodeHash), d);
      assert.deepEqual(await store.deviceAuthorizations.poll(d.deviceCodeHash, as), { device: d, recorded: true });
      assert.equal((await store.deviceAuthorizations.get(b.env.id, d.id))?.lastPolledAt, NOW + 1000);
    }
    assert.equal(await store.deviceAuthorizations.poll(prefix + hash().slice(20), as), undefined, 'a third hash with the same beginning is unknown');
    for (const d of [first, second]) {
      assert.equal(await store.deviceAuthorizations.insert({ ...device(b.env.id, b.client.clientId), deviceCodeHash: d.deviceCodeHash })
        .then(() => 'inserted', () => 'refused'), 'refused', 'a device code hash is still unique');
    }
  });

  test('device authorizations: decide only while pending and unexpired; consume only while approved and unexpired', async (t) => {
    const store = await one(open, t);
    const { env, client, user, device: d } = await pendingDevice(store);
    assert.equal(await store.deviceAuthorizations.consume(d.id, NOW), undefined, 'a pending code lets nothing out');
    const approved = await store.deviceAuthorizations.decide(d.id, 'approved', user.id, null, NOW + MINUTE);
    assert.deepEqual(approved, { ...d, status: 'approved', userId: user.id, decidedAt: NOW + MINUTE });
    assert.equal(await store.deviceAuthorizations.decide(d.id, 'denied', user.id, null, NOW + MINUTE), undefined, 'decided once');
    assert.deepEqual(await store.deviceAuthorizations.consume(d.id, NOW + 2 * MINUTE), { ...approved, status: 'consumed', grantId: null });
    assert.equal(await store.deviceAuthorizations.consume(d.id, NOW + 2 * MINUTE), undefined, 'consumed once');

    const late = device(env.id, client.clientId);
    assert.equal(await store.deviceAuthorizations.insert(late), 'ok');
    assert.equal(await store.deviceAuthorizations.decide(late.id, 'approved', user.id, null, late.expiresAt), undefined, 'expired codes are not decided');
    const expiring = device(env.id, client.clientId);
    assert.equal(await store.deviceAuthorizations.insert(expiring), 'ok');
    assert.ok(await store.deviceAuthorizations.decide(expiring.id, 'approved', user.id, null, NOW));
    assert.equal(await store.deviceAuthorizations.consume(expiring.id, expiring.expiresAt), undefined, 'expired approvals are not consumed');
    const denied = device(env.id, client.clientId);
    assert.equal(await store.deviceAuthorizations.insert(denied), 'ok');
    assert.ok(await store.deviceAuthorizations.decide(denied.id, 'denied', user.id, null, NOW));
    assert.equal(await store.deviceAuthorizations.consume(denied.id, NOW), undefined);
  });

  test('device authorizations: redeem spends an approved code and stores its grant together, or neither', async (t) => {
    const store = await one(open, t);
    const { env, client, user, device: d } = await pendingDevice(store);
    const g = grant(env.id, user.id, client.clientId);
    const token = hash();
    assert.equal(await store.deviceAuthorizations.redeem(d.id, NOW, g, token), undefined, 'a pending code is not redeemed');
    assert.equal(await store.grants.get(env.id, g.id), undefined, '…and opens no grant');
    const approved = await store.deviceAuthorizations.decide(d.id, 'approved', user.id, null, NOW);
    assert.ok(approved);
    // A grant that cannot be stored (its id is taken) leaves the code approved for the next poll.
    const taken = grant(env.id, user.id, client.clientId);
    await store.grants.create(taken, null);
    await assert.rejects(store.deviceAuthorizations.redeem(d.id, NOW + 1, { ...g, id: taken.id }, token));
    assert.equal((await store.deviceAuthorizations.get(env.id, d.id))?.status, 'approved', 'the failed write spent nothing');
    assert.equal(await store.refreshTokens.find(token), undefined);
    assert.deepEqual(await store.deviceAuthorizations.redeem(d.id, NOW + 2, g, token), { ...approved, status: 'consumed', grantId: g.id });
    assert.deepEqual(await store.grants.get(env.id, g.id), g);
    assert.equal((await store.deviceAuthorizations.getByDeviceCodeHash(d.deviceCodeHash))?.grantId, g.id, 'the spent code names its grant');
    assert.equal((await store.refreshTokens.find(token))?.token.status, 'active');
    const again = grant(env.id, user.id, client.clientId);
    assert.equal(await store.deviceAuthorizations.redeem(d.id, NOW + 3, again, null), undefined, 'redeemed once');
    assert.equal(await store.grants.get(env.id, again.id), undefined);
    const late = device(env.id, client.clientId);
    assert.equal(await store.deviceAuthorizations.insert(late), 'ok');
    assert.ok(await store.deviceAuthorizations.decide(late.id, 'approved', user.id, null, NOW));
    assert.equal(await store.deviceAuthorizations.redeem(late.id, late.expiresAt, grant(env.id, user.id, client.clientId), null), undefined, 'not once expired');
  });

  test('flows: create and get while unexpired; transition from its state only, keeping what the patch leaves out', async (t) => {
    const store = await one(open, t);
    const { env, user } = await basics(store);
    const f = flow(env.id, { clientId: 'some-client' });
    await store.flows.create(f);
    assert.deepEqual(await store.flows.get(env.id, f.id, NOW), f);
    assert.equal(await store.flows.get(env.id, f.id, f.expiresAt), undefined, 'expired');
    assert.equal(await store.flows.get(randomUUID(), f.id, NOW), undefined);
    const at = NOW + MINUTE;
    const signedIn = await store.flows.transition(f.id, 'USERNAME_PASSWORD_REQUIRED', { status: 'DAG_USER_CODE_REQUIRED', userId: user.id }, at, at + 15 * MINUTE);
    assert.deepEqual(signedIn, { ...f, status: 'DAG_USER_CODE_REQUIRED', userId: user.id, updatedAt: at, expiresAt: at + 15 * MINUTE });
    assert.equal(await store.flows.transition(f.id, 'USERNAME_PASSWORD_REQUIRED', { status: 'FAILED' }, at, at), undefined, 'not from another state');
    const consent = await store.flows.transition(f.id, 'DAG_USER_CODE_REQUIRED', { status: 'DAG_CONSENT_REQUIRED', deviceId: 'd', userCodeEnc: 'enc' },
      at + 1, at + MINUTE);
    assert.deepEqual(consent, { ...f, status: 'DAG_CONSENT_REQUIRED', userId: user.id, deviceId: 'd', userCodeEnc: 'enc', updatedAt: at + 1, expiresAt: at + MINUTE });
    assert.equal(await store.flows.transition(f.id, 'DAG_CONSENT_REQUIRED', { status: 'COMPLETED' }, at + MINUTE, at + 2 * MINUTE), undefined,
      'not once expired');
  });

  test('flows: recordFailure counts wrong codes while a code is awaited, and fails the flow at the limit', async (t) => {
    const store = await one(open, t);
    const { env } = await basics(store);
    const f = flow(env.id, { status: 'DAG_USER_CODE_REQUIRED' });
    await store.flows.create(f);
    assert.deepEqual(await store.flows.recordFailure(f.id, 3, NOW + 1), { ...f, failedAttempts: 1, updatedAt: NOW + 1 });
    assert.equal((await store.flows.recordFailure(f.id, 3, NOW + 2))?.status, 'DAG_USER_CODE_REQUIRED');
    assert.deepEqual(await store.flows.recordFailure(f.id, 3, NOW + 3), { ...f, failedAttempts: 3, status: 'FAILED', updatedAt: NOW + 3 });
    assert.equal(await store.flows.recordFailure(f.id, 3, NOW + 4), undefined, 'a failed flow counts no more');
    const other = flow(env.id);
    await store.flows.create(other);
    assert.equal(await store.flows.recordFailure(other.id, 3, NOW), undefined, 'only while a code is awaited');
  });

  test('flows: decide approves or denies the device with the flow, and fails the flow when the device is gone', async (t) => {
    const store = await one(open, t);
    const { env, client, user, device: d } = await pendingDevice(store);
    const consent = (deviceId: string | null) => flow(env.id, { status: 'DAG_CONSENT_REQUIRED', userId: user.id, deviceId });
    const accept = consent(d.id);
    await store.flows.create(accept);
    assert.equal(await store.flows.decide(accept.id, true, NOW + 1), 'ok');
    assert.equal((await store.flows.get(env.id, accept.id, NOW + 1))?.status, 'COMPLETED');
    assert.deepEqual(await store.deviceAuthorizations.get(env.id, d.id), { ...d, status: 'approved', userId: user.id, decidedAt: NOW + 1 });
    assert.equal(await store.flows.decide(accept.id, true, NOW + 2), 'flow_changed', 'decided once');

    const again = consent(d.id);
    await store.flows.create(again);
    assert.equal(await store.flows.decide(again.id, true, NOW + 3), 'device_unavailable', 'another flow decided the device');
    assert.equal((await store.flows.get(env.id, again.id, NOW + 3))?.status, 'FAILED');

    const d2 = device(env.id, client.clientId);
    assert.equal(await store.deviceAuthorizations.insert(d2), 'ok');
    const refuse = consent(d2.id);
    await store.flows.create(refuse);
    assert.equal(await store.flows.decide(refuse.id, false, NOW + 4), 'ok');
    assert.equal((await store.flows.get(env.id, refuse.id, NOW + 4))?.status, 'FAILED');
    assert.equal((await store.deviceAuthorizations.get(env.id, d2.id))?.status, 'denied');

    const d3 = device(env.id, client.clientId, { expiresAt: NOW + 5 });
    assert.equal(await store.deviceAuthorizations.insert(d3), 'ok');
    const late = consent(d3.id);
    await store.flows.create(late);
    assert.equal(await store.flows.decide(late.id, true, NOW + 5), 'device_unavailable', 'the device expired');
    assert.equal((await store.deviceAuthorizations.get(env.id, d3.id))?.status, 'pending');
    const noDevice = consent(null);
    await store.flows.create(noDevice);
    assert.equal(await store.flows.decide(noDevice.id, true, NOW), 'flow_changed');
    const early = flow(env.id, { status: 'DAG_USER_CODE_REQUIRED', userId: user.id });
    await store.flows.create(early);
    assert.equal(await store.flows.decide(early.id, true, NOW), 'flow_changed', 'not before the consent step');
  });

  test('device authorizations: where the request came from is kept; a decision records the approver, the mismatch and a report (migration 009)', async (t) => {
    const store = await one(open, t);
    const requester: RequestContext = { address: '2001:db8::7', userAgent: 'curl/8.5.0', country: 'DE', asn: 4_200_000_001, network: 'Example "Net", GmbH' };
    const approver: RequestContext = { address: '192.0.2.10', userAgent: 'Mozilla/5.0', country: 'FR', asn: 64_500, network: null };
    const { env, client, user, device: d } = await pendingDevice(store, { requestContext: requester });
    assert.deepEqual((await store.deviceAuthorizations.get(env.id, d.id))?.requestContext, requester, 'a 32-bit ASN and any text round-trip');

    const decided = await store.deviceAuthorizations.decide(d.id, 'approved', user.id, null, NOW + 1, { approver, locationMismatch: true, reported: false });
    assert.deepEqual(decided, { ...d, status: 'approved', userId: user.id, decidedAt: NOW + 1, approverContext: approver, locationMismatch: true });

    const unknown = device(env.id, client.clientId);
    assert.equal(await store.deviceAuthorizations.insert(unknown), 'ok');
    const cli = await store.deviceAuthorizations.decide(unknown.id, 'denied', user.id, null, NOW + 1);
    assert.deepEqual([cli?.requestContext, cli?.approverContext, cli?.locationMismatch, cli?.reportedAt], [null, null, false, null], 'nothing known, nothing recorded');

    // The consent step through a flow: a report denies the device and stamps reported_at.
    const reported = device(env.id, client.clientId, { requestContext: requester });
    assert.equal(await store.deviceAuthorizations.insert(reported), 'ok');
    const f = flow(env.id, { status: 'DAG_CONSENT_REQUIRED', userId: user.id, deviceId: reported.id });
    await store.flows.create(f);
    assert.equal(await store.flows.decide(f.id, false, NOW + 2, { approver, locationMismatch: true, reported: true }), 'ok');
    assert.deepEqual(await store.deviceAuthorizations.get(env.id, reported.id), {
      ...reported, status: 'denied', userId: user.id, decidedAt: NOW + 2, approverContext: approver, locationMismatch: true, reportedAt: NOW + 2,
    });
    const approving = device(env.id, client.clientId);
    assert.equal(await store.deviceAuthorizations.insert(approving), 'ok');
    const g = flow(env.id, { status: 'DAG_CONSENT_REQUIRED', userId: user.id, deviceId: approving.id });
    await store.flows.create(g);
    await assert.rejects(async () => store.flows.decide(g.id, true, NOW + 3, { approver, locationMismatch: false, reported: true }), /cannot be approved/);
    assert.equal((await store.deviceAuthorizations.get(env.id, approving.id))?.status, 'pending', 'nothing was written');
  });
}
