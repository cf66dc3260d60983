// Fixed-window counters that a caller cannot flush (docs/architecture.md), behind one small interface: this
// process's bounded memory here, Redis (src/redis/) when several instances share the counters.
// A key's window starts at its first hit. Entries are kept in the order their windows end, so expired ones are
// reclaimed from the front; a live entry is never evicted. When the table is full of live
// entries, new keys share one overflow counter under the same rule: inventing keys never buys a
// fresh budget, it only makes the inventor share one with whoever else is new.
import type { Clock } from '../model/clock.ts';

export interface LimitRule {
  /** Hits allowed per window. */
  max: number;
  windowSeconds: number;
  /** What the limit is called in metrics and the audit trail. */
  name?: string;
}

export interface LimitState {
  allowed: boolean;
  limit: number;
  /** Hits left in the current window (0 once refused). */
  remaining: number;
  /** Seconds until the window ends (at least 1). */
  resetSeconds: number;
}

/**
 * One limit's counters. Asynchronous because shared counters live in another process; the
 * in-memory limiter answers with settled promises, so a check costs one await.
 */
export interface RateLimiter {
  readonly rule: LimitRule;
  /** Counts one hit for `key` and says whether it is within the limit. */
  hit(key: string): Promise<LimitState>;
  /**
   * Counts one hit for `key` only if it is within the limit, in one atomic step: a budget taken
   * before costly work (and given back with `refund` when the work went well). Refusals are not
   * counted, so they cannot outlast what the successes give back.
   */
  take(key: string): Promise<LimitState>;
  /** Whether one more hit for `key` would be allowed, without counting it (to refuse before costly work). */
  peek(key: string): Promise<LimitState>;
  /** Takes back one hit of the current window (an attempt reserved up front that turned out fine). */
  refund(key: string): Promise<void>;
}

interface Entry {
  count: number;
  resetAt: number;
}

const SETTLED = Promise.resolve();

/** Keys one limiter holds at most; beyond that new keys share the overflow counter. */
export const DEFAULT_CAPACITY = 100_000;

export class FixedWindowLimiter implements RateLimiter {
  readonly rule: LimitRule;
  readonly #clock: Clock;
  readonly #capacity: number;
  readonly #entries = new Map<string, Entry>();
  #overflow: Entry = { count: 0, resetAt: 0 };

  readonly #onRefused: () => void;

  /** `onRefused` hears of every refusal (metrics). */
  constructor(rule: LimitRule, clock: Clock, capacity = DEFAULT_CAPACITY, onRefused: () => void = () => undefined) {
    this.rule = rule;
    this.#clock = clock;
    this.#capacity = capacity;
    this.#onRefused = onRefused;
  }

  hit(key: string): Promise<LimitState> {
    const entry = this.#entry(key, this.#clock.now());
    entry.count++;
    return Promise.resolve(this.#state(entry, entry.count <= this.rule.max));
  }

  take(key: string): Promise<LimitState> {
    const entry = this.#entry(key, this.#clock.now());
    const allowed = entry.count < this.rule.max;
    if (allowed) entry.count++;
    return Promise.resolve(this.#state(entry, allowed));
  }

  refund(key: string): Promise<void> {
    const entry = this.#entries.get(key);
    if (entry && entry.resetAt > this.#clock.now() && entry.count > 0) entry.count--;
    return SETTLED;
  }

  peek(key: string): Promise<LimitState> {
    const now = this.#clock.now();
    const live = (e: Entry | undefined) => (e !== undefined && e.resetAt > now ? e : undefined);
    const full = this.#entries.size >= this.#capacity;
    const entry = live(this.#entries.get(key)) ?? (full && !this.#entries.has(key) ? live(this.#overflow) : undefined);
    if (!entry) return Promise.resolve({ allowed: true, limit: this.rule.max, remaining: this.rule.max, resetSeconds: this.rule.windowSeconds });
    return Promise.resolve(this.#state(entry, entry.count < this.rule.max));
  }

  /** Live keys held (for tests and metrics). */
  get size(): number {
    return this.#entries.size;
  }

  #entry(key: string, now: number): Entry {
    const windowMs = this.rule.windowSeconds * 1000;
    const existing = this.#entries.get(key);
    if (existing && existing.resetAt > now) return existing;
    // A new window goes to the back, so the map stays ordered by resetAt.
    if (existing) this.#entries.delete(key);
    this.#prune(now);
    if (this.#entries.size >= this.#capacity) {
      if (this.#overflow.resetAt <= now) this.#overflow = { count: 0, resetAt: now + windowMs };
      return this.#overflow;
    }
    const fresh = { count: 0, resetAt: now + windowMs };
    this.#entries.set(key, fresh);
    return fresh;
  }

  #prune(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.resetAt > now) return;
      this.#entries.delete(key);
    }
  }

  #state(entry: Entry, allowed: boolean): LimitState {
    if (!allowed) this.#onRefused();
    return {
      allowed,
      limit: this.rule.max,
      remaining: Math.max(0, this.rule.max - entry.count),
      resetSeconds: Math.max(1, Math.ceil((entry.resetAt - this.#clock.now()) / 1000)),
    };
  }
}
