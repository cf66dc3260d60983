// The Redis limiter on its own: the same answers as the in-memory limiter for the same hits,
// windows that end on Redis's clock, keys that stay short and cannot be flushed, and a fallback to
// this process while Redis is down. The guess store in Redis has its own file (guesses.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { FixedWindowLimiter, type LimitRule, type RateLimiter } from '../../src/core/limiter.ts';
import { RedisConnection, redisAddress } from '../../src/redis/connection.ts';
import { RedisRateLimiter } from '../../src/redis/rate-limiter.ts';
import { TestClock, tempDir } from '../helpers/build.ts';
import { startRedis } from '../helpers/redis.ts';
import { sleep } from './_support.ts';

async function connection(t: Parameters<typeof startRedis>[0], url: string): Promise<RedisConnection> {
  const redis = new RedisConnection(url);
  t.after(() => redis.close());
  await redis.connect();
  return redis;
}

function redisLimiter(redis: RedisConnection, name: string, rule: LimitRule, events: string[] = []): RateLimiter {
  const onRefused = () => { events.push('refused'); };
  return new RedisRateLimiter(redis, name, rule, {
    fallback: new FixedWindowLimiter(rule, new TestClock(), 1000, onRefused),
    onRefused,
    onFallback: () => { events.push('fallback'); },
  });
}

test('hit, peek and refund answer as the in-memory limiter does, and the counters are shared', async (t) => {
  const server = await startRedis(t);
  const [one, two] = [await connection(t, server.url), await connection(t, server.url)];
  const rule = { max: 2, windowSeconds: 60 };
  const events: string[] = [];
  const memory = new FixedWindowLimiter(rule, new TestClock(), 1000);
  // Two connections, as two instances: every other call goes through the other one.
  const a = redisLimiter(one, 'test', rule, events);
  const b = redisLimiter(two, 'test', rule, events);
  const steps: [string, (l: RateLimiter) => Promise<unknown>][] = [
    ['peek', (l) => l.peek('k')],
    ['hit', (l) => l.hit('k')],
    ['peek', (l) => l.peek('k')],
    ['hit', (l) => l.hit('k')],
    ['peek', (l) => l.peek('k')],
    ['hit', (l) => l.hit('k')],
    ['refund', (l) => l.refund('k')],
    ['hit', (l) => l.hit('k')],
    ['refund', (l) => l.refund('k')],
    ['refund', (l) => l.refund('k')],
    ['peek', (l) => l.peek('k')],
    ['refund', (l) => l.refund('never-hit')],
    ['peek', (l) => l.peek('never-hit')],
  ];
  let i = 0;
  for (const [name, step] of steps) {
    const expected = await step(memory);
    const got = await step(i++ % 2 === 0 ? a : b);
    assert.deepEqual(got, expected, `step ${i} (${name})`);
  }
  assert.deepEqual(events, ['refused', 'refused', 'refused'], 'refusals are reported (a refused peek too), no fallback');
  assert.deepEqual(await one.client.keys('dcs:*'), ['dcs:rl:test:k:k'], 'a refund of a missing counter creates none');
});

test('take counts only within the limit, in one step: a concurrent burst on two connections takes exactly the budget', async (t) => {
  const server = await startRedis(t);
  const [one, two] = [await connection(t, server.url), await connection(t, server.url)];
  const rule = { max: 5, windowSeconds: 60 };
  const memory = new FixedWindowLimiter(rule, new TestClock(), 1000);
  const a = redisLimiter(one, 'take', rule);
  const b = redisLimiter(two, 'take', rule);
  const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).take('burst')));
  assert.equal(answers.filter((s) => s.allowed).length, 5);
  for (let i = 0; i < 40; i++) await memory.take('burst');
  // Refusals were not counted: one refund makes room for exactly one more, as in memory.
  await a.refund('burst');
  await memory.refund('burst');
  assert.deepEqual(await b.take('burst'), await memory.take('burst'));
  assert.deepEqual(await a.take('burst'), await memory.take('burst'));
  assert.equal((await a.peek('burst')).remaining, 0);
});

test('a window ends on Redis\'s clock; the answer says how long is left', async (t) => {
  const server = await startRedis(t);
  const redis = await connection(t, server.url);
  // A window far longer than the steps take on a loaded machine; its end is then brought forward
  // on Redis itself, which is what ends it for every instance.
  const l = redisLimiter(redis, 'window', { max: 1, windowSeconds: 60 });
  const first = await l.hit('k');
  assert.deepEqual(first, { allowed: true, limit: 1, remaining: 0, resetSeconds: 60 });
  assert.equal((await l.hit('k')).allowed, false);
  const refused = await l.peek('k');
  assert.equal(refused.allowed, false);
  assert.ok(refused.resetSeconds >= 1 && refused.resetSeconds <= 60, String(refused.resetSeconds));
  const [key] = await redis.client.keys('dcs:rl:window:*');
  assert.ok(key);
  await redis.client.pexpire(key, 20);
  await sleep(100);
  assert.deepEqual(await l.peek('k'), { allowed: true, limit: 1, remaining: 1, resetSeconds: 60 }, 'peek: the counter is gone');
  assert.equal((await l.hit('k')).allowed, true, 'a new window');
});

test('invented keys cannot flush an exhausted counter; long keys are hashed to a bounded length', async (t) => {
  const server = await startRedis(t);
  const redis = await connection(t, server.url);
  const l = redisLimiter(redis, 'flood', { max: 2, windowSeconds: 60 });
  for (let i = 0; i < 3; i++) await l.hit('victim');
  let fresh = 0;
  for (let batch = 0; batch < 10; batch++) {
    const answers = await Promise.all(Array.from({ length: 500 }, (_, i) => l.hit(`invented-${batch}-${i}`)));
    fresh += answers.filter((s) => s.allowed).length;
  }
  assert.equal(fresh, 5000, 'every invented key has its own counter');
  assert.equal((await l.hit('victim')).allowed, false, 'still exhausted after 5000 invented keys');

  const long = `env|${'x'.repeat(10_000)}`;
  await l.hit(long);
  await l.hit(long);
  assert.equal((await l.hit(long)).allowed, false, 'a long key counts like any other');
  assert.equal((await l.hit(`${long}y`)).allowed, true, 'and is not confused with another long key');
  const keys = await redis.client.keys('dcs:rl:flood:h:*');
  assert.equal(keys.length, 2);
  for (const key of keys) assert.ok(key.length < 80, key);
  for (const key of await redis.client.keys('dcs:*')) assert.ok(await redis.client.pttl(key) > 0, `${key} expires`);
});

test('while Redis is down, the limiter counts in this process and says so', async (t) => {
  const server = await startRedis(t);
  const redis = await connection(t, server.url);
  const events: string[] = [];
  const l = redisLimiter(redis, 'outage', { max: 2, windowSeconds: 60 }, events);
  assert.equal((await l.hit('k')).remaining, 1);
  await server.stop();
  const started = Date.now();
  assert.equal((await l.hit('k')).remaining, 1, 'the local counter starts afresh');
  assert.equal((await l.hit('k')).remaining, 0);
  assert.equal((await l.hit('k')).allowed, false, 'and still limits');
  assert.equal((await l.peek('k')).allowed, false);
  await l.refund('k');
  assert.ok(Date.now() - started < 1000, 'a dead Redis answers at once');
  assert.deepEqual(events, ['fallback', 'fallback', 'fallback', 'refused', 'fallback', 'refused']);
  assert.equal(redis.up, false);
});

test('REDIS_URL is a redis:// or rediss:// URL; neither a refusal nor the logged address repeats its password', (t) => {
  const DATA_DIR = tempDir(t);
  assert.equal(loadConfig({ DATA_DIR }).redisUrl, undefined, 'without it, limits stay in memory');
  assert.equal(loadConfig({ DATA_DIR, REDIS_URL: 'rediss://:pw@redis.internal:6380/2' }).redisUrl, 'rediss://:pw@redis.internal:6380/2');
  for (const bad of ['http://:hunter2secret@redis.internal', 'hunter2secret', 'redis//:hunter2secret@x']) {
    assert.throws(() => loadConfig({ DATA_DIR, REDIS_URL: bad }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /REDIS_URL: expected a redis:\/\/ or rediss:\/\/ URL/);
      assert.ok(!err.message.includes('hunter2secret'), err.message);
      return true;
    });
  }
  assert.equal(redisAddress('redis://user:hunter2secret@redis.internal:6380/2'), 'redis://redis.internal:6380/2');
  assert.equal(redisAddress('rediss://:hunter2secret@10.0.0.5'), 'rediss://10.0.0.5');
});
