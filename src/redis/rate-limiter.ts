// Fixed-window counters in Redis, shared by every instance, with the in-memory limiter's meaning
// (core/limiter.ts): a key's window starts at its first hit (INCR, then PEXPIRE on that hit, in
// one script), the answer carries the count and the time left, peek reads without counting, and a
// refund takes one hit of the live window back. Redis's clock ends the windows, so all instances
// agree on them. Counters expire with their window and are never evicted early as long as Redis
// does not evict keys (maxmemory-policy noeviction, its default): inventing keys costs requests
// and memory, never a fresh budget for an exhausted key.
//
// When Redis cannot answer, the check is counted in this process instead (`fallback`, the
// in-memory limiter with the same rule): limits stay on, per instance, and an outage of Redis
// does not take sign-ins down. `onFallback` hears of each such check (a metric).
import type { LimitRule, LimitState, RateLimiter } from '../core/limiter.ts';
import { redisKey, Script, type RedisConnection } from './connection.ts';

// KEYS[1] the counter; ARGV[1] the window in ms. Returns {count, ms left}.
const HIT = new Script(`
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if count == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`);

// KEYS[1] the counter; ARGV[1] the window in ms, ARGV[2] the limit. Counts one hit only while the
// count is below the limit. Returns {count, ms left, 1 when taken else 0}.
const TAKE = new Script(`
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
if count >= tonumber(ARGV[2]) and ttl > 0 then return {count, ttl, 0} end
if ttl <= 0 then
  redis.call('SET', KEYS[1], 1, 'PX', ARGV[1])
  return {1, tonumber(ARGV[1]), 1}
end
return {redis.call('INCR', KEYS[1]), ttl, 1}
`);

// KEYS[1] the counter. Returns {count, ms left}; {0, -2} when there is no live window.
const PEEK = new Script(`
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
return {count, redis.call('PTTL', KEYS[1])}
`);

// KEYS[1] the counter. DECR keeps the key's expiry; a missing (expired) counter stays missing.
const REFUND = new Script(`
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then redis.call('DECR', KEYS[1]) end
return count
`);

export interface RedisLimiterOptions {
  /** Counts the same rule in this process while Redis cannot answer. */
  fallback: RateLimiter;
  /** Hears of every refusal (metrics), as the in-memory limiter's `onRefused`. */
  onRefused: () => void;
  /** Hears of every check Redis could not answer. */
  onFallback: () => void;
}

function counts(reply: unknown): [count: number, ttlMs: number] {
  if (Array.isArray(reply) && typeof reply[0] === 'number' && typeof reply[1] === 'number') return [reply[0], reply[1]];
  throw new TypeError('unexpected reply from the rate-limit script');
}

export class RedisRateLimiter implements RateLimiter {
  readonly rule: LimitRule;
  readonly #redis: RedisConnection;
  readonly #namespace: string;
  readonly #windowMs: number;
  readonly #o: RedisLimiterOptions;

  /** `name` namespaces the keys: `dcs:rl:<name>:…`. */
  constructor(redis: RedisConnection, name: string, rule: LimitRule, options: RedisLimiterOptions) {
    this.rule = rule;
    this.#redis = redis;
    this.#namespace = `dcs:rl:${name}:`;
    this.#windowMs = rule.windowSeconds * 1000;
    this.#o = options;
  }

  async hit(key: string): Promise<LimitState> {
    let reply: unknown;
    try {
      reply = await this.#redis.run(HIT, [redisKey(this.#namespace, key)], [this.#windowMs]);
    } catch {
      this.#o.onFallback();
      return this.#o.fallback.hit(key);
    }
    const [count, ttl] = counts(reply);
    return this.#state(count, ttl, count <= this.rule.max);
  }

  async take(key: string): Promise<LimitState> {
    let reply: unknown;
    try {
      reply = await this.#redis.run(TAKE, [redisKey(this.#namespace, key)], [this.#windowMs, this.rule.max]);
    } catch {
      this.#o.onFallback();
      return this.#o.fallback.take(key);
    }
    const [count, ttl] = counts(reply);
    return this.#state(count, ttl, Array.isArray(reply) && reply[2] === 1);
  }

  async peek(key: string): Promise<LimitState> {
    let reply: unknown;
    try {
      reply = await this.#redis.run(PEEK, [redisKey(this.#namespace, key)], []);
    } catch {
      this.#o.onFallback();
      return this.#o.fallback.peek(key);
    }
    const [count, ttl] = counts(reply);
    if (count <= 0 || ttl <= 0) return { allowed: true, limit: this.rule.max, remaining: this.rule.max, resetSeconds: this.rule.windowSeconds };
    return this.#state(count, ttl, count < this.rule.max);
  }

  async refund(key: string): Promise<void> {
    try {
      await this.#redis.run(REFUND, [redisKey(this.#namespace, key)], []);
    } catch {
      // The hit being refunded was counted wherever Redis's outage put it.
      await this.#o.fallback.refund(key);
    }
  }

  #state(count: number, ttlMs: number, allowed: boolean): LimitState {
    if (!allowed) this.#o.onRefused();
    return {
      allowed,
      limit: this.rule.max,
      remaining: Math.max(0, this.rule.max - count),
      resetSeconds: Math.max(1, Math.ceil(ttlMs / 1000)),
    };
  }
}
