// Guesses per source address: the rows behind the sliding-window guess budgets (RFC 8628 §5.1).
import type { GuessStore, GuessTaken } from '../store.ts';
import { num, optNum, type SqliteDb } from './db.ts';

export class SqliteGuesses implements GuessStore {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  count(source: string, since: number): Promise<{ count: number; oldest: number | null }> {
    return this.#db.async(() => this.#count(source, since));
  }

  /** Count and insert in one IMMEDIATE transaction: another process (the CLI) cannot slip a guess between them. */
  take(source: string, now: number, since: number, max: number): Promise<GuessTaken> {
    return this.#db.async(() => this.#db.immediate((): GuessTaken => {
      const spent = this.#count(source, since);
      if (spent.count >= max) return { taken: false, oldest: spent.oldest };
      this.#db.run('INSERT INTO code_guess_failures (source, at) VALUES (?, ?)', source, now);
      return { taken: true, ticket: String(now) };
    }));
  }

  /** The ticket is the guess's time: rows of one source and one time are alike, so any one of them goes. */
  giveBack(source: string, ticket: string): Promise<void> {
    return this.#db.async(() => void this.#db.run(
      'DELETE FROM code_guess_failures WHERE rowid = (SELECT rowid FROM code_guess_failures WHERE source = ? AND at = ? LIMIT 1)',
      source, Number(ticket),
    ));
  }

  #count(source: string, since: number): { count: number; oldest: number | null } {
    const r = this.#db.get('SELECT count(*) AS n, min(at) AS oldest FROM code_guess_failures WHERE source = ? AND at > ?', source, since);
    return { count: num(r?.n ?? 0), oldest: optNum(r?.oldest ?? null) };
  }
}
