// The signing keys held in memory outlive a database outage (core/key-ring.ts): a key set past its
// minute is read again, and while the database cannot answer the set held keeps signing and
// verifying, so a poll that has just spent its code still gets its token. The store is the real
// SQLite one; only its signing-key reads are made to fail, as PostgreSQL's do while it restarts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyRing } from '../../src/core/key-ring.ts';
import { DatabaseUnavailableError, type Store } from '../../src/store/store.ts';
import { build } from '../helpers/build.ts';

/** The app's store, with signing-key reads that fail while `down.now` is true, counted. */
function outage(store: Store): { store: Store; down: { now: boolean }; reads: { n: number } } {
  const down = { now: false };
  const reads = { n: 0 };
  const signingKeys = new Proxy(store.signingKeys, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== 'list' || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        reads.n++;
        if (down.now) return Promise.reject(new DatabaseUnavailableError('the database is restarting'));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const wrapped = new Proxy(store, {
    get: (target, prop, receiver): unknown => (prop === 'signingKeys' ? signingKeys : Reflect.get(target, prop, receiver)),
  });
  return { store: wrapped, down, reads };
}

test('keys past their minute keep signing and verifying while the database is unavailable, and are read again once it is back', async (t) => {
  const h = await build(t);
  const envId = h.services.defaultEnv.id;
  const { store, down, reads } = outage(h.services.store);
  const ring = new KeyRing(store, h.services.secrets, h.clock);
  const active = await ring.activeKey(envId);

  down.now = true;
  h.clock.advance(61);
  assert.equal((await ring.activeKey(envId)).kid, active.kid, 'the key held still signs');
  assert.ok(await ring.verificationKey(envId, active.kid), 'and still verifies');
  assert.deepEqual((await ring.jwks(envId)).keys.map((k) => k.kid), [active.kid]);
  // Tried once, then again only after a few seconds; invented kids do not make every request a read.
  const tried = reads.n;
  for (let i = 0; i < 5; i++) assert.equal(await ring.verificationKey(envId, `invented-${i}`), undefined);
  await ring.activeKey(envId);
  assert.equal(reads.n, tried, 'no read attempt within the retry delay');

  // Back: a key rotated meanwhile (by another instance) is seen at the next read.
  down.now = false;
  const rotated = await h.services.keys.rotate(envId, 'ES256', 3600);
  h.clock.advance(6);
  assert.equal((await ring.activeKey(envId)).kid, rotated);
  assert.ok(reads.n > tried);
});

test('a key set never read cannot be invented: with the database unavailable from the start, signing fails with the outage', async (t) => {
  const h = await build(t);
  const { store, down } = outage(h.services.store);
  const ring = new KeyRing(store, h.services.secrets, h.clock);
  down.now = true;
  await assert.rejects(ring.activeKey(h.services.defaultEnv.id), DatabaseUnavailableError);
  down.now = false;
  assert.ok((await ring.activeKey(h.services.defaultEnv.id)).kid, 'read once the database answers');
});
