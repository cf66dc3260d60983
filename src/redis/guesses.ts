// Wrong codes per source address in Redis (SPEC S7, S10): one sorted set per source, scored by the
// time of each wrong code, so every instance draws on one sliding window. Times come from the
// caller's clock, as in the SQL stores, so the budget reads the same whichever store holds it; the
// key expires a window after its last wrong code. Any failure is StoreUnavailableError: the
// budget then fails closed (core/guess-budget.ts).
import { randomUUID } from 'node:crypto';
import { StoreUnavailableError, type GuessStore } from '../store/store.ts';
import { redisKey, Script, type RedisConnection } from './connection.ts';

const NAMESPACE = 'dcs:guess:';

// KEYS[1] the source's set; ARGV[1] since (exclusive). Drops what left the window, then counts.
const COUNT = new Script(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {redis.call('ZCARD', KEYS[1]), oldest[2] or false}
`);

// KEYS[1]; ARGV[1] now, ARGV[2] a unique member, ARGV[3] the window in ms, ARGV[4] the window's start.
const RECORD = new Script(`
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`);

export class RedisGuessStore implements GuessStore {
  readonly #redis: RedisConnection;
  readonly #windowMs: number;

  /** `windowSeconds`: the budget's window (CODE_GUESS_WINDOW_SECONDS), how long a wrong code is kept. */
  constructor(redis: RedisConnection, windowSeconds: number) {
    this.#redis = redis;
    this.#windowMs = windowSeconds * 1000;
  }

  async count(source: string, since: number): Promise<{ count: number; oldest: number | null }> {
    const reply = await this.#run(COUNT, source, [since]);
    if (!Array.isArray(reply) || typeof reply[0] !== 'number') throw new TypeError('unexpected reply from the guess-count script');
    const oldest: unknown = reply[1];
    return { count: reply[0], oldest: typeof oldest === 'string' ? Number(oldest) : null };
  }

  async record(source: string, now: number): Promise<void> {
    await this.#run(RECORD, source, [now, `${now}:${randomUUID()}`, this.#windowMs, now - this.#windowMs]);
  }

  async #run(script: Script, source: string, args: (string | number)[]): Promise<unknown> {
    try {
      return await this.#redis.run(script, [redisKey(NAMESPACE, source)], args);
    } catch (err) {
      // The message only: ioredis's errors carry the command and its arguments.
      throw new StoreUnavailableError(`the wrong-code budget in Redis cannot be read or written: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
