// Guesses at codes per source address in Redis (RFC 8628 §5.1): one sorted set per source, scored
// by the time of each guess, so every instance draws on one sliding window. Times come from the
// caller's clock, as in the SQL stores, so the budget reads the same whichever store holds it; the
// key expires a window after its last guess. Any failure is StoreUnavailableError: the
// budget then fails closed (core/guess-budget.ts).
import { randomUUID } from 'node:crypto';
import { StoreUnavailableError, type GuessStore, type GuessTaken } from '../store/store.ts';
import { redisKey, Script, type RedisConnection } from './connection.ts';

const NAMESPACE = 'dcs:guess:';

// KEYS[1] the source's set; ARGV[1] since (exclusive). Reads only: what left the window goes when
// the next guess is taken.
const COUNT = new Script(`
local since = '(' .. ARGV[1]
local oldest = redis.call('ZRANGEBYSCORE', KEYS[1], since, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
return {redis.call('ZCOUNT', KEYS[1], since, '+inf'), oldest[2] or false}
`);

// KEYS[1]; ARGV[1] now, ARGV[2] a unique member, ARGV[3] the window in ms, ARGV[4] the window's
// start (exclusive), ARGV[5] the most guesses the window may hold. One script: no other client's
// guess lands between the count and the add. Returns {1} when taken, {0, oldest} when spent.
const TAKE = new Script(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[4])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[5]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, oldest[2] or false}
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1}
`);

// KEYS[1]; ARGV[1] the member that TAKE added.
const GIVE_BACK = new Script(`return redis.call('ZREM', KEYS[1], ARGV[1])`);

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

  async take(source: string, now: number, since: number, max: number): Promise<GuessTaken> {
    const ticket = `${now}:${randomUUID()}`;
    const reply = await this.#run(TAKE, source, [now, ticket, this.#windowMs, since, max]);
    if (!Array.isArray(reply) || (reply[0] !== 0 && reply[0] !== 1)) throw new TypeError('unexpected reply from the guess-take script');
    const oldest: unknown = reply[1];
    return reply[0] === 1 ? { taken: true, ticket } : { taken: false, oldest: typeof oldest === 'string' ? Number(oldest) : null };
  }

  async giveBack(source: string, ticket: string): Promise<void> {
    await this.#run(GIVE_BACK, source, [ticket]);
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
