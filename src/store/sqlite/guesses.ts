// Wrong codes per source address: the rows behind the sliding-window guess budgets (SPEC S7).
import type { GuessStore } from '../store.ts';
import { num, optNum, type SqliteDb } from './db.ts';

export class SqliteGuesses implements GuessStore {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  count(source: string, since: number): Promise<{ count: number; oldest: number | null }> {
    return this.#db.async(() => {
      const r = this.#db.get('SELECT count(*) AS n, min(at) AS oldest FROM code_guess_failures WHERE source = ? AND at > ?', source, since);
      return { count: num(r?.n ?? 0), oldest: optNum(r?.oldest ?? null) };
    });
  }

  record(source: string, now: number): Promise<void> {
    return this.#db.async(() => void this.#db.run('INSERT INTO code_guess_failures (source, at) VALUES (?, ?)', source, now));
  }
}
