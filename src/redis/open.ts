// What REDIS_URL brings, loaded only when it is set (services.ts imports this module on demand):
// ioredis costs every process ~0.1 s to load, and each CLI command is a process.
import type { LimitRule, RateLimiter } from '../core/limiter.ts';
import type { GuessStore } from '../store/store.ts';
import { RedisConnection } from './connection.ts';
import { RedisGuessStore } from './guesses.ts';
import { RedisRateLimiter, type RedisLimiterOptions } from './rate-limiter.ts';

export interface RedisLimits {
  connection: RedisConnection;
  /** The wrong-code budget (`guessWindowSeconds`: CODE_GUESS_WINDOW_SECONDS). */
  guesses: GuessStore;
  limiter(name: string, rule: LimitRule, options: RedisLimiterOptions): RateLimiter;
}

export function openRedis(url: string, guessWindowSeconds: number): RedisLimits {
  const connection = new RedisConnection(url);
  return {
    connection,
    guesses: new RedisGuessStore(connection, guessWindowSeconds),
    limiter: (name, rule, options) => new RedisRateLimiter(connection, name, rule, options),
  };
}
