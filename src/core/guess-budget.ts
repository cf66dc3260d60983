// Wrong codes per source address in a sliding window (RFC 8628 §5.1, docs/protocol.md): kept in the store
// (SQL, or Redis shared by every instance), so a restart does not reset it, and a correct code does
// not either (it gives back only its own guess). User codes and registration codes draw on the same
// budget: both are short codes a guesser could enumerate. It fails closed: when its store cannot
// answer, no code is checked.
import type { Clock } from '../model/clock.ts';
import { StoreUnavailableError, type GuessStore } from '../store/store.ts';
import { CoreError, isCoreError, type CoreErrorCode } from './errors.ts';
import type { CodeKind, Telemetry } from './telemetry.ts';

/** The input field a wrong code of each kind is reported on. */
const TARGET: Record<CodeKind, string> = { user_code: 'userCode', registration_code: 'deviceRegistrationCode' };

/** The error that says a code of each kind was wrong: the one outcome that keeps its guess counted. */
const WRONG: Record<CodeKind, CoreErrorCode> = { user_code: 'invalid_user_code', registration_code: 'invalid_registration_code' };

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

  /**
   * Runs `attempt` (the check of one code) on one guess of the source's budget. The guess is taken
   * before the attempt, so concurrent wrong codes cannot all pass one look at the count; it stays
   * counted when the attempt fails with the kind's wrong-code error, and is given back otherwise.
   * Throws guess_budget_exhausted (with retryAfter) when the source has no guesses left, and
   * limits_unavailable when the budget cannot be read or written: a code is never checked uncounted.
   */
  async spend<T>(source: string, kind: CodeKind, attempt: () => Promise<T>): Promise<T> {
    const now = this.#clock.now();
    const windowMs = this.#rule.windowSeconds * 1000;
    const taken = await this.#store.take(source, now, now - windowMs, this.#rule.max).catch((err: unknown) => { throw unavailable(err); });
    if (!taken.taken) {
      const retryAfter = Math.max(1, Math.ceil(((taken.oldest ?? now) + windowMs - now) / 1000));
      this.#telemetry.guessBudgetExhausted(kind);
      throw new CoreError('guess_budget_exhausted', 'too many wrong codes from this network; try again later', { target: TARGET[kind], retryAfter });
    }
    try {
      const result = await attempt();
      await this.#giveBack(source, taken.ticket);
      return result;
    } catch (err) {
      if (isCoreError(err) && err.code === WRONG[kind]) this.#telemetry.wrongCode(kind);
      else await this.#giveBack(source, taken.ticket);
      throw err;
    }
  }

  /**
   * A guess that cannot be given back (the store went away meanwhile) stays counted until it leaves
   * the window: the budget errs toward counting, and the answer the attempt earned still stands.
   */
  async #giveBack(source: string, ticket: string): Promise<void> {
    await this.#store.giveBack(source, ticket).catch(() => undefined);
  }
}
