// Wrong codes per source address in a sliding window (RFC 8628 §5.1, SPEC S7): kept in the store,
// so a restart does not reset it, and a correct code does not either. User codes and registration
// codes draw on the same budget: both are short codes a guesser could enumerate.
import type { Clock } from '../model/clock.ts';
import type { GuessStore } from '../store/store.ts';
import { CoreError } from './errors.ts';
import type { CodeKind, Telemetry } from './telemetry.ts';

/** The input field a wrong code of each kind is reported on. */
const TARGET: Record<CodeKind, string> = { user_code: 'userCode', registration_code: 'deviceRegistrationCode' };

export interface GuessBudgetRule {
  /** Wrong codes one source address may make within `windowSeconds`. */
  max: number;
  windowSeconds: number;
}

export class GuessBudget {
  readonly #store: GuessStore;
  readonly #clock: Clock;
  readonly #rule: GuessBudgetRule;
  readonly #telemetry: Telemetry;

  constructor(store: GuessStore, clock: Clock, rule: GuessBudgetRule, telemetry: Telemetry) {
    this.#store = store;
    this.#clock = clock;
    this.#rule = rule;
    this.#telemetry = telemetry;
  }

  /** Throws guess_budget_exhausted (with retryAfter) when the source has no wrong guesses left. */
  async check(source: string, kind: CodeKind): Promise<void> {
    const now = this.#clock.now();
    const windowMs = this.#rule.windowSeconds * 1000;
    const spent = await this.#store.count(source, now - windowMs);
    if (spent.count >= this.#rule.max) {
      const retryAfter = Math.max(1, Math.ceil(((spent.oldest ?? now) + windowMs - now) / 1000));
      this.#telemetry.guessBudgetExhausted(kind);
      throw new CoreError('guess_budget_exhausted', 'too many wrong codes from this network; try again later', { target: TARGET[kind], retryAfter });
    }
  }

  record(source: string, kind: CodeKind): Promise<void> {
    this.#telemetry.wrongCode(kind);
    return this.#store.record(source, this.#clock.now());
  }
}
