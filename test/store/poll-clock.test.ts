// The SQLite server's memory of polls (src/store/sqlite/poll-clock.ts): it keeps about the codes
// polled within their interval, forgetting the oldest marks that can no longer make a poll too soon.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PollClock } from '../../src/store/sqlite/poll-clock.ts';

const IDS = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
const held = (clock: PollClock): string[] => IDS.filter((id) => clock.get(id) !== undefined);

test('poll clock: a mark is kept while its interval runs, then forgotten a few at a time as later polls come', () => {
  const clock = new PollClock();
  clock.set('a', { at: 0, interval: 5 });
  clock.set('b', { at: 1000, interval: 5 });
  clock.set('c', { at: 2000, interval: 30 });
  clock.set('d', { at: 3000, interval: 5 });
  assert.deepEqual(held(clock), ['a', 'b', 'c', 'd'], 'every interval still runs');
  clock.set('e', { at: 5000, interval: 5 });
  assert.deepEqual(held(clock), ['b', 'c', 'd', 'e'], "a's interval has passed exactly; b's has not");
  clock.set('b', { at: 6000, interval: 10 });
  assert.deepEqual(clock.get('b'), { at: 6000, interval: 10 }, 'a poll again replaces the mark, and makes it the newest:');
  clock.set('f', { at: 40_000, interval: 5 });
  assert.deepEqual(held(clock), ['b', 'e', 'f'], 'c and d, the oldest, are forgotten; at most two per poll');
  clock.set('g', { at: 40_001, interval: 5 });
  assert.deepEqual(held(clock), ['f', 'g']);
  assert.equal(clock.size, 2);
});

test('poll clock: the marks still running at the newest mark are the ones worth writing', () => {
  const clock = new PollClock();
  clock.set('a', { at: 0, interval: 60 });
  clock.set('b', { at: 1000, interval: 5 });
  clock.set('c', { at: 4000, interval: 5 });
  clock.set('d', { at: 6000, interval: 5 });
  assert.deepEqual([...clock.running()].map(([id]) => id), ['a', 'c', 'd'], "b's interval ended at 6000");
  assert.deepEqual(held(clock), ['a', 'b', 'c', 'd'], 'forgetting stops at the first mark still running (a)');
});
