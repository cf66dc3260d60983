// Guesses per source address: the rows behind the sliding-window guess budgets (RFC 8628 §5.1).
import type { GuessStore, GuessTaken } from '../store.ts';
import { num, optNum, type PgDb, type Queries } from './db.ts';

export class PgGuesses implements GuessStore {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  count(source: string, since: number): Promise<{ count: number; oldest: number | null }> {
    return count(this.#db, source, since);
  }

  /**
   * Count and insert under a transaction-scoped advisory lock on the source: under READ COMMITTED
   * two transactions would each see the other's guess missing, so the lock puts them in a line.
   */
  take(source: string, now: number, since: number, max: number): Promise<GuessTaken> {
    return this.#db.transaction(async (tx): Promise<GuessTaken> => {
      await tx.lockUntilCommit('guesses', source);
      const spent = await count(tx, source, since);
      if (spent.count >= max) return { taken: false, oldest: spent.oldest };
      await tx.run({ name: 'guess_record', text: 'INSERT INTO code_guess_failures (source, at) VALUES ($1, $2)', values: [source, now] });
      return { taken: true, ticket: String(now) };
    });
  }

  /** The ticket is the guess's time: rows of one source and one time are alike, so any one of them goes. */
  async giveBack(source: string, ticket: string): Promise<void> {
    await this.#db.run({
      name: 'guess_give_back',
      text: 'DELETE FROM code_guess_failures WHERE ctid = (SELECT ctid FROM code_guess_failures WHERE source = $1 AND at = $2 LIMIT 1)',
      values: [source, Number(ticket)],
    });
  }
}

async function count(q: Queries, source: string, since: number): Promise<{ count: number; oldest: number | null }> {
  const r = await q.get({
    name: 'guess_count',
    text: 'SELECT count(*) AS n, min(at) AS oldest FROM code_guess_failures WHERE source = $1 AND at > $2',
    values: [source, since],
  });
  return { count: num(r?.n ?? 0), oldest: optNum(r?.oldest ?? null) };
}
