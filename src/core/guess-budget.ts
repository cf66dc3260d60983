// Wrong codes per source address in a sliding window (RFC 8628 §5.1, SPEC S7): kept in the store
// (SQL, or Redis shared by every instance), so a restart does not reset it, and a correct code does
// not either. User codes and registration codes draw on the same budget: both are short codes a
// guesser could enumerate. It fails closed: when its store cannot answer, no code is checked.
import type { Clock } from '../model/clock.ts';
import { StoreUnavailableError, type GuessStore } from '../store/store.ts';
import { CoreError } from './errors.ts';
import type { CodeKind, Telemetry } from './telemetry.ts';

/** The input field a wrong code of each kind is reported on. */
const TARGET: Record<CodeKind, string> = { user_code: 'userCode', registration_code: 'deviceRegistrationCode' };

/** A Redis outage is usually short (a restart, a failover): a client may try again this much later. */
export const LIMITS_UNAVAILABLE_RETRY_SECONDS = 5;

/** The budget cannot be read or written: refuse the code rather than let guesses go uncounted. */
function unavailable(err: unknown): unknown {
  if (!(err instanceof StoreUnavailableError)) return err;
  const refusal = new CoreError('limits_unavailable', 'codes cannot be checked right now; try again in a few seconds', {
    retryAfter: LIMITS_UNAVAILABLE_RETRY_SECONDS,
  });
  refusal.cause = err;
  return refusal;
}

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
    const spent = await this.#store.count(source, now - windowMs).catch((err: unknown) => { throw unavailable(err); });
    if (spent.count >= this.#rule.max) {
      const retryAfter = Math.max(1, Math.ceil(((spent.oldest ?? now) + windowMs - now) / 1000));
      this.#telemetry.guessBudgetExhausted(kind);
      throw new CoreError('guess_budget_exhausted', 'too many wrong codes from this network; try again later', { target: TARGET[kind], retryAfter });
    }
  }

  /** Counts one wrong code; when it cannot be counted the answer is limits_unavailable, never an uncounted wrong code. */
  async record(source: string, kind: CodeKind): Promise<void> {
    this.#telemetry.wrongCode(kind);
    await this.#store.record(source, this.#clock.now()).catch((err: unknown) => { throw unavailable(err); });
  }
}
