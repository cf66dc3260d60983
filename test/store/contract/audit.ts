// The contract for the audit trail and the webhook's outbox (AuditStore, AuditOutboxStore in
// src/store/store.ts): events round-trip every field and are listed oldest first by the filters
// `audit list` offers, the newest `limit` of them; an audited write stores its events with it and a
// write that did not happen stores none; the sweep drops events past the retention; the outbox
// offers one environment's events in order, removes them only once delivered, and after a failure
// holds that environment back until retryAt while others go on.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { timeOrderedUuid } from '../../../src/crypto/codes.ts';
import type { AuditEvent, Environment } from '../../../src/model/records.ts';
import type { OutboxBatch, Store } from '../../../src/store/store.ts';
import { basics, device, environment, grant, MINUTE, NOW, one, type OpenStores } from './fixtures.ts';

const DAY = 24 * 60 * MINUTE;

function event(envId: string, at: number, o: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id: timeOrderedUuid(at), at, envId, type: 'admin.changed', actor: 'cli', subject: null, source: null, outcome: 'success', details: {}, ...o,
  };
}

const ids = (events: readonly { id: string }[]): string[] => events.map((e) => e.id);

/** New environments in the store (an event belongs to one; the outbox is drained per environment). */
async function environments(store: Store, n: number): Promise<Environment[]> {
  const made = Array.from({ length: n }, () => environment());
  for (const env of made) await store.environments.create(env);
  return made;
}

/** A retry schedule for the outbox tests: one second per attempt. */
const retryAt = (attempts: number): number => NOW + attempts * 1000;

/** Delivers every due batch (`deliver` decides each), returning the batches offered. */
async function drain(store: Store, now: number, max: number, deliver: (b: OutboxBatch) => boolean): Promise<OutboxBatch[]> {
  const offered: OutboxBatch[] = [];
  for (let i = 0; i < 1000 && await store.auditOutbox.deliverNext(now, max, (b) => { offered.push(b); return Promise.resolve(deliver(b)); }, retryAt); i++);
  return offered;
}

export function auditContract(open: OpenStores): void {
  test('audit: append and list round-trip every field; list filters by environment, types, party and since, and keeps the newest limit, oldest first', async (t) => {
    const store = await one(open, t);
    const a = environment();
    const b = environment();
    await store.environments.create(a);
    await store.environments.create(b);
    const source = { address: '192.0.2.7', userAgent: 'Firefox 140 on Linux', country: 'NL', asn: 64_496, network: '192.0.2.0/24' };
    const requested = event(a.id, NOW + 1, {
      type: 'device.requested', actor: 'client:tv', subject: 'device:1', source, details: { client_id: 'tv', scope: 'openid', nested: { n: [1, 'two', null] } },
    });
    const failed = event(a.id, NOW + 2, { type: 'signin.failed', actor: null, subject: 'user:alice', outcome: 'failure', source: { ...source, asn: null, network: null } });
    const other = event(b.id, NOW + 3, { type: 'signin.failed', subject: 'user:alice' });
    // Two at one millisecond: the id (time-ordered, then random) decides, the same in every store.
    const toAlice = event(a.id, NOW + 4, { type: 'token.issued', actor: 'user:alice' });
    const [first, second] = [toAlice, event(a.id, NOW + 4, { type: 'token.issued', actor: 'client:tv' })].sort((x, y) => (x.id < y.id ? -1 : 1));
    assert.ok(first && second);
    const last = event(a.id, NOW + 5, { type: 'grant.revoked', actor: 'user:alice', subject: 'grant:1' });
    // Appended out of time order, in several calls: listed by time all the same.
    await store.audit.append([last, second]);
    await store.audit.append([other, failed]);
    await store.audit.append([]);
    await store.audit.append([first, requested]);

    const all = [requested, failed, other, first, second, last];
    assert.deepEqual(await store.audit.list({ limit: 100 }), all, 'every field as written, oldest first');
    assert.deepEqual(await store.audit.list({ envId: a.id, limit: 100 }), [requested, failed, first, second, last]);
    assert.deepEqual(await store.audit.list({ envId: b.id, limit: 100 }), [other]);
    assert.deepEqual(await store.audit.list({ envId: randomUUID(), limit: 100 }), []);
    assert.deepEqual(ids(await store.audit.list({ types: ['signin.failed'], limit: 100 })), ids([failed, other]));
    assert.deepEqual(ids(await store.audit.list({ types: ['signin.failed', 'grant.revoked'], envId: a.id, limit: 100 })), ids([failed, last]));
    assert.deepEqual(ids(await store.audit.list({ types: [], limit: 100 })), ids(all), 'no types is no filter');
    assert.deepEqual(ids(await store.audit.list({ party: 'user:alice', limit: 100 })), ids([failed, other, toAlice, last]), 'actor or subject');
    assert.deepEqual(ids(await store.audit.list({ party: 'user:alice', envId: a.id, types: ['token.issued'], limit: 100 })), ids([toAlice]));
    assert.deepEqual(ids(await store.audit.list({ party: 'user:bob', limit: 100 })), []);
    assert.deepEqual(ids(await store.audit.list({ since: NOW + 4, limit: 100 })), ids([first, second, last]), 'since is inclusive');
    assert.deepEqual(ids(await store.audit.list({ since: NOW + 6, limit: 100 })), []);
    assert.deepEqual(ids(await store.audit.list({ limit: 2 })), ids([second, last]), 'the newest two, oldest first');
    assert.deepEqual(ids(await store.audit.list({ limit: 1, envId: a.id, since: NOW + 1 })), ids([last]));
    assert.deepEqual(ids(await store.audit.list({ limit: 3, envId: a.id, party: 'user:alice' })), ids([failed, toAlice, last]));
    await assert.rejects(store.audit.append([{ ...requested, type: 'device.denied' }]), 'an id is written once');
    assert.deepEqual(await store.audit.list({ limit: 100 }), all, 'a failed append changes nothing');
  });

  test('audit: an audited write stores its events in its transaction; a conditional write that did not happen stores none', async (t) => {
    const store = await one(open, t);
    const { env, client: c, user: u } = await basics(store);
    const d = device(env.id, c.clientId);
    const made: AuditEvent[] = [];
    const audit = (subject: string) => (): AuditEvent[] => {
      const e = event(env.id, NOW + made.length, { type: 'device.requested', subject });
      made.push(e);
      return [e];
    };
    assert.equal(await store.deviceAuthorizations.insert(d, audit(`device:${d.id}`)), 'ok');
    // Not approved, so not redeemed: no event.
    assert.equal(await store.deviceAuthorizations.redeem(d.id, NOW, grant(env.id, u.id, c.clientId), null, audit('redeem')), undefined);
    assert.equal(await store.grants.revoke(env.id, randomUUID(), NOW, audit('revoke')), undefined);
    const g = grant(env.id, u.id, c.clientId);
    await store.grants.create(g, null, audit(`grant:${g.id}`));
    assert.deepEqual(await store.audit.list({ limit: 100 }), made);
    assert.deepEqual(made.map((e) => e.subject), [`device:${d.id}`, `grant:${g.id}`]);
    assert.equal(await store.auditOutbox.pending(), 0, 'no outbox rows unless delivery is on');
  });

  test('sweep(now, auditBefore) deletes the events older than auditBefore and counts them; without auditBefore it keeps them all', async (t) => {
    const store = await one(open, t);
    const env = environment();
    await store.environments.create(env);
    const old = event(env.id, NOW - 100 * DAY);
    const edge = event(env.id, NOW - 90 * DAY);
    const recent = event(env.id, NOW - DAY);
    await store.audit.append([old, edge, recent]);
    assert.equal((await store.sweep(NOW)).auditEvents, 0);
    assert.equal((await store.sweep(NOW, NOW - 90 * DAY)).auditEvents, 1, 'strictly older than auditBefore');
    assert.deepEqual(ids(await store.audit.list({ limit: 10 })), ids([edge, recent]));
    assert.equal((await store.sweep(NOW, NOW - 90 * DAY)).auditEvents, 0, 'nothing the second time');
    assert.equal((await store.sweep(NOW, NOW)).auditEvents, 2);
    assert.deepEqual(await store.audit.list({ limit: 10 }), []);
  });

  test('outbox: each environment\'s events are offered in order, at most max a batch, one environment a batch, and leave once delivered', async (t) => {
    const [store] = await open(t, 1, { auditOutbox: true });
    assert.ok(store);
    const envs = await environments(store, 3);
    const written: AuditEvent[] = [];
    for (let i = 0; i < 20; i++) {
      const env = envs[i % 3];
      assert.ok(env);
      const e = event(env.id, NOW + i, { details: { i } });
      written.push(e);
      await store.audit.append([e]);
    }
    // One append of several events, too: they queue in the order given.
    const several = [event(envs[0]?.id ?? '', NOW + 30), event(envs[0]?.id ?? '', NOW + 31)];
    await store.audit.append(several);
    written.push(...several);
    assert.equal(await store.auditOutbox.pending(), written.length);

    const offered = await drain(store, NOW, 3, () => true);
    assert.equal(await store.auditOutbox.pending(), 0);
    assert.equal(await store.auditOutbox.deliverNext(NOW, 3, () => Promise.reject(new Error('nothing to offer')), retryAt), false);
    for (const b of offered) {
      assert.ok(b.events.length >= 1 && b.events.length <= 3, 'at most max');
      assert.ok(b.events.every((e) => e.envId === b.envId), 'one environment');
      assert.equal(b.attempts, 0);
    }
    const delivered = offered.flatMap((b) => b.events);
    assert.equal(delivered.length, written.length, 'each event once');
    for (const env of envs) {
      assert.deepEqual(delivered.filter((e) => e.envId === env.id), written.filter((e) => e.envId === env.id), 'in order, every field');
    }
  });

  test('outbox: a failed batch waits until retryAt(attempts) and holds its environment\'s later events back, while other environments go on', async (t) => {
    const [store] = await open(t, 1, { auditOutbox: true });
    assert.ok(store);
    const [a, b] = await environments(store, 2);
    assert.ok(a && b);
    const ofA = Array.from({ length: 4 }, (_, i) => event(a.id, NOW + i));
    const ofB = Array.from({ length: 4 }, (_, i) => event(b.id, NOW + 10 + i));
    await store.audit.append(ofA);
    await store.audit.append(ofB);

    // A's receiver is down; B's is up.
    let offered = await drain(store, NOW, 2, (batch) => batch.envId === b.id);
    assert.deepEqual(offered.map((x) => [x.envId, x.attempts]), [[a.id, 0], [b.id, 0], [b.id, 0]], 'A tried once, then B to the end');
    assert.deepEqual(ids(offered.flatMap((x) => (x.envId === b.id ? x.events : []))), ids(ofB));
    assert.equal(await store.auditOutbox.pending(), 4);
    assert.equal(await store.auditOutbox.deliverNext(NOW + 999, 2, () => Promise.resolve(true), retryAt), false, 'A waits for retryAt(1)');

    // A new event of A waits behind its failed head; a new one of B does not.
    const laterA = event(a.id, NOW + 20);
    const laterB = event(b.id, NOW + 21);
    await store.audit.append([laterA, laterB]);
    offered = await drain(store, NOW + 999, 2, () => true);
    assert.deepEqual(ids(offered.flatMap((x) => x.events)), ids([laterB]));

    offered = await drain(store, NOW + 1000, 2, () => false);
    assert.deepEqual(offered.map((x) => [x.envId, x.attempts, ids(x.events)]), [[a.id, 1, ids(ofA.slice(0, 2))]], 'the same head, attempt 1');
    offered = await drain(store, NOW + 2000, 10, () => true);
    assert.deepEqual(offered.map((x) => [x.envId, x.attempts]), [[a.id, 2]], 'the batch carries its failures');
    assert.deepEqual(ids(offered.flatMap((x) => x.events)), ids([...ofA, laterA]), 'then everything of A, in order');
    assert.equal(await store.auditOutbox.pending(), 0);
  });

  test('outbox: an event swept (past its retention) before it was delivered is never offered, and its row leaves the outbox', async (t) => {
    const [store] = await open(t, 1, { auditOutbox: true });
    assert.ok(store);
    const [env, other] = await environments(store, 2);
    assert.ok(env && other);
    const gone = [event(env.id, NOW - 100 * DAY), event(env.id, NOW - 99 * DAY)];
    const kept = event(env.id, NOW - DAY);
    const allGone = event(other.id, NOW - 100 * DAY);
    await store.audit.append([...gone, kept, allGone]);
    assert.equal((await store.sweep(NOW, NOW - 90 * DAY)).auditEvents, 3);
    const offered = await drain(store, NOW, 10, () => true);
    assert.deepEqual(ids(offered.flatMap((x) => x.events)), ids([kept]));
    assert.equal(await store.auditOutbox.pending(), 0);
  });
}
