// The contract of a guess store (GuessStore, src/store/store.ts): the sliding-window budget of wrong
// codes per source address (RFC 8628 §5.1), as a function of how to open guess stores, so that
// every store that can hold the budget gives the same answers: SQLite's and PostgreSQL's (through
// storeContract) and Redis's (test/redis/guesses.test.ts). Every take passes `since` = its time
// less one window, as the budget does (core/guess-budget.ts), and windows only move forward: what a
// store does with guesses that left the window (SQL keeps them for the sweep, Redis drops them at
// the next take) is its own business.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { GuessStore, GuessTaken } from '../../../src/store/store.ts';
import { MINUTE, NOW } from './fixtures.ts';

/**
 * How a contract test gets its guess stores: `count` stores (each with its own connections) on one
 * new, empty budget of its own, closed when the test ends.
 */
export type OpenGuessStores = (t: TestContext, count: number) => Promise<GuessStore[]>;

/** The budget's window in every test (a store that needs it to expire guesses is opened with it). */
export const GUESS_WINDOW_MS = 10 * MINUTE;

const CALLS = 24;
const STORES = 3;

async function one(open: OpenGuessStores, t: TestContext): Promise<GuessStore> {
  const [store] = await open(t, 1);
  if (store === undefined) throw new Error('no guess store');
  return store;
}

/** A guess at `at`, within the window that ends then. */
const take = (store: GuessStore, source: string, at: number, max: number): Promise<GuessTaken> =>
  store.take(source, at, at - GUESS_WINDOW_MS, max);

function ticketOf(taken: GuessTaken): string {
  assert.ok(taken.taken, 'the guess is taken');
  return taken.ticket;
}

export function guessContract(open: OpenGuessStores): void {
  test('guesses: counted per source after `since` (exclusive), with the time of the oldest', async (t) => {
    const store = await one(open, t);
    assert.deepEqual(await store.count('192.0.2.1', NOW - GUESS_WINDOW_MS), { count: 0, oldest: null });
    for (const at of [NOW - 3 * MINUTE, NOW - 2 * MINUTE, NOW - MINUTE]) ticketOf(await take(store, '192.0.2.1', at, 10));
    ticketOf(await take(store, '192.0.2.2', NOW, 10));
    assert.deepEqual(await store.count('192.0.2.1', NOW - GUESS_WINDOW_MS), { count: 3, oldest: NOW - 3 * MINUTE });
    assert.deepEqual(await store.count('192.0.2.1', NOW - 3 * MINUTE), { count: 2, oldest: NOW - 2 * MINUTE }, 'a guess at `since` is out');
    assert.deepEqual(await store.count('192.0.2.2', NOW - GUESS_WINDOW_MS), { count: 1, oldest: NOW }, 'each source has its own');
    assert.deepEqual(await store.count('192.0.2.3', NOW - GUESS_WINDOW_MS), { count: 0, oldest: null });
  });

  test('guesses: taken while the window holds fewer than max, then refused with the oldest guess\'s time, counting nothing', async (t) => {
    const store = await one(open, t);
    for (const at of [NOW - 3 * MINUTE, NOW - 2 * MINUTE, NOW - MINUTE]) ticketOf(await take(store, '192.0.2.1', at, 3));
    assert.deepEqual(await take(store, '192.0.2.1', NOW, 3), { taken: false, oldest: NOW - 3 * MINUTE });
    assert.deepEqual(await take(store, '192.0.2.1', NOW, 3), { taken: false, oldest: NOW - 3 * MINUTE }, 'again: a refusal counted nothing');
    assert.deepEqual(await store.count('192.0.2.1', NOW - GUESS_WINDOW_MS), { count: 3, oldest: NOW - 3 * MINUTE });
    ticketOf(await take(store, '192.0.2.2', NOW, 3));
    ticketOf(await take(store, '192.0.2.1', NOW, 4));
    assert.deepEqual(await store.count('192.0.2.1', NOW - GUESS_WINDOW_MS), { count: 4, oldest: NOW - 3 * MINUTE }, 'max is the caller\'s, per take');
    assert.deepEqual(await take(store, '192.0.2.3', NOW, 0), { taken: false, oldest: null }, 'a budget of none: refused, with no oldest guess');
  });

  test('guesses: giveBack uncounts the one guess of its ticket, not its twin of the same instant, and makes room again', async (t) => {
    const store = await one(open, t);
    const twins = [ticketOf(await take(store, '192.0.2.1', NOW, 2)), ticketOf(await take(store, '192.0.2.1', NOW, 2))];
    ticketOf(await take(store, '192.0.2.2', NOW, 2));
    assert.deepEqual(await take(store, '192.0.2.1', NOW, 2), { taken: false, oldest: NOW });
    await store.giveBack('192.0.2.1', twins[0] ?? '');
    assert.deepEqual(await store.count('192.0.2.1', NOW - GUESS_WINDOW_MS), { count: 1, oldest: NOW }, 'the twin stays');
    assert.deepEqual(await store.count('192.0.2.2', NOW - GUESS_WINDOW_MS), { count: 1, oldest: NOW }, 'another source\'s guess stays');
    const again = ticketOf(await take(store, '192.0.2.1', NOW + 1, 2));
    assert.deepEqual(await take(store, '192.0.2.1', NOW + 2, 2), { taken: false, oldest: NOW });
    await store.giveBack('192.0.2.1', twins[1] ?? '');
    await store.giveBack('192.0.2.1', again);
    assert.deepEqual(await store.count('192.0.2.1', NOW - GUESS_WINDOW_MS), { count: 0, oldest: null });
  });

  test('guesses: the window slides: a guess counts until it is `since` or older, then leaves room for another', async (t) => {
    const store = await one(open, t);
    const W = GUESS_WINDOW_MS;
    ticketOf(await take(store, '192.0.2.1', NOW, 2));
    ticketOf(await take(store, '192.0.2.1', NOW + MINUTE, 2));
    assert.deepEqual(await take(store, '192.0.2.1', NOW + W - 1, 2), { taken: false, oldest: NOW }, 'the oldest is in the window to its last millisecond');
    ticketOf(await take(store, '192.0.2.1', NOW + W, 2));
    assert.deepEqual(await store.count('192.0.2.1', NOW), { count: 2, oldest: NOW + MINUTE }, 'the oldest left; the newest came in');
    assert.deepEqual(await take(store, '192.0.2.1', NOW + W + 1, 2), { taken: false, oldest: NOW + MINUTE });
    ticketOf(await take(store, '192.0.2.1', NOW + W + MINUTE, 2));
    assert.deepEqual(await store.count('192.0.2.1', NOW + MINUTE), { count: 2, oldest: NOW + W });
    ticketOf(await take(store, '192.0.2.1', NOW + 3 * W, 2));
    assert.deepEqual(await store.count('192.0.2.1', NOW + 2 * W), { count: 1, oldest: NOW + 3 * W }, 'a window later, only the new guess');
  });

  test('guesses race: many takes from one source at once, over several connections, take exactly max', async (t) => {
    const stores = await open(t, STORES);
    const MAX = 5;
    const taken = await Promise.all(Array.from({ length: CALLS }, (_, i) => {
      const store = stores[i % stores.length] ?? assert.fail('no guess store');
      return take(store, '192.0.2.50', NOW, MAX);
    }));
    assert.equal(taken.filter((r) => r.taken).length, MAX, 'exactly max guesses are taken');
    for (const r of taken) if (!r.taken) assert.equal(r.oldest, NOW, 'every refusal names the oldest guess');
    assert.deepEqual(await stores[0]?.count('192.0.2.50', NOW - GUESS_WINDOW_MS), { count: MAX, oldest: NOW });
  });
}
