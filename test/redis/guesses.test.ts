// The guess store in Redis: first the guess-store contract (test/store/contract/guesses.ts), the
// same answers SQLite and PostgreSQL give, on a throwaway redis-server per test, with a connection
// per store as each instance has its own. Then what only Redis does: sets that expire and prune
// themselves, and an outage that is StoreUnavailableError, so the budget fails closed.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { RedisConnection } from '../../src/redis/connection.ts';
import { RedisGuessStore } from '../../src/redis/guesses.ts';
import { StoreUnavailableError } from '../../src/store/store.ts';
import { startRedis } from '../helpers/redis.ts';
import { GUESS_WINDOW_MS, guessContract } from '../store/contract/guesses.ts';

const WINDOW_SECONDS = GUESS_WINDOW_MS / 1000;

async function connection(t: TestContext, url: string): Promise<RedisConnection> {
  const redis = new RedisConnection(url);
  t.after(() => redis.close());
  await redis.connect();
  return redis;
}

guessContract(async (t, count) => {
  const server = await startRedis(t);
  return Promise.all(Array.from({ length: count }, async () => new RedisGuessStore(await connection(t, server.url), WINDOW_SECONDS)));
});

test('Redis only: one sorted set per source that expires a window after its last guess and drops what left the window at the next take', async (t) => {
  const server = await startRedis(t);
  const redis = await connection(t, server.url);
  const guesses = new RedisGuessStore(redis, WINDOW_SECONDS);
  const t0 = Date.UTC(2026, 0, 1);
  const take = (source: string, at: number, max = 10) => guesses.take(source, at, at - GUESS_WINDOW_MS, max);
  assert.ok((await take('192.0.2.1', t0)).taken);
  assert.ok((await take('192.0.2.1', t0 + 1000)).taken);
  assert.equal(await redis.client.zcard('dcs:guess:k:192.0.2.1'), 2);
  // Renewed by each guess on Redis's clock; checked loosely, as a loaded machine may pause between the calls.
  const ttl = await redis.client.pttl('dcs:guess:k:192.0.2.1');
  assert.ok(ttl > GUESS_WINDOW_MS / 2 && ttl <= GUESS_WINDOW_MS, `the set expires a window after its last guess: ${ttl} ms`);
  assert.deepEqual(await take('192.0.2.1', t0 + 2000, 2), { taken: false, oldest: t0 });
  assert.equal(await redis.client.zcard('dcs:guess:k:192.0.2.1'), 2, 'a refused guess adds nothing');
  // A guess a window later drops those that left the window: the set stays as small as the budget.
  assert.ok((await take('192.0.2.1', t0 + 1000 + GUESS_WINDOW_MS)).taken);
  assert.equal(await redis.client.zcard('dcs:guess:k:192.0.2.1'), 1);
});

test('Redis only: with Redis down, count, take and giveBack are StoreUnavailableError (the budget then fails closed)', async (t) => {
  const server = await startRedis(t);
  const guesses = new RedisGuessStore(await connection(t, server.url), WINDOW_SECONDS);
  const t0 = Date.UTC(2026, 0, 1);
  const taken = await guesses.take('192.0.2.1', t0, t0 - GUESS_WINDOW_MS, 10);
  assert.ok(taken.taken);
  await server.stop();
  await assert.rejects(guesses.count('192.0.2.1', t0 - GUESS_WINDOW_MS), StoreUnavailableError);
  await assert.rejects(guesses.take('192.0.2.1', t0, t0 - GUESS_WINDOW_MS, 10), StoreUnavailableError);
  await assert.rejects(guesses.giveBack('192.0.2.1', taken.ticket), StoreUnavailableError);
});
