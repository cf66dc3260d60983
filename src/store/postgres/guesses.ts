// Wrong codes per source address: the rows behind the sliding-window guess budgets (SPEC S7).
import type { GuessStore } from '../store.ts';
import { num, optNum, type PgDb } from './db.ts';

export class PgGuesses implements GuessStore {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  async count(source: string, since: number): Promise<{ count: number; oldest: number | null }> {
    const r = await this.#db.get({
      name: 'guess_count',
      text: 'SELECT count(*) AS n, min(at) AS oldest FROM code_guess_failures WHERE source = $1 AND at > $2',
      values: [source, since],
    });
    return { count: num(r?.n ?? 0), oldest: optNum(r?.oldest ?? null) };
  }

  async record(source: string, now: number): Promise<void> {
    await this.#db.run({ name: 'guess_record', text: 'INSERT INTO code_guess_failures (source, at) VALUES ($1, $2)', values: [source, now] });
  }
}
