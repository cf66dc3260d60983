// When each device code was last polled, and the interval it is held to, kept in the server's
// memory on SQLite instead of written by every poll. A poll then only reads its code's row: writing
// the time into that row was most of a pending poll's cost, and grew with the table (each commit
// rewrote a page of it). One server owns a SQLite data directory (server.lock), so its memory is the
// only one that judges polls; the CLI commands beside it never poll.
//
// What is written: an interval a slow_down lengthened, when it does (rare, and it must last), and
// every remembered poll time when the store closes (a graceful stop or restart loses nothing). A
// crash of the server loses only the poll times since it started: the next poll of those codes is
// judged as a first one (README, "Storage and secrets").

/** A poll as remembered: its time (epoch ms) and the interval (s) its code is held to after it. */
export interface PollMark {
  at: number;
  interval: number;
}

/** At most this many marks whose interval has passed are forgotten per poll recorded. */
const FORGET_PER_MARK = 2;

export class PollClock {
  /** In the order they were last set, so the oldest come first. */
  readonly #marks = new Map<string, PollMark>();

  get(id: string): PollMark | undefined {
    return this.#marks.get(id);
  }

  /**
   * Remembers `mark` as `id`'s last poll, then forgets a few of the oldest marks whose interval has
   * passed at `mark.at`: such a mark can no longer make a poll too soon, and the interval it holds
   * is in the database already. So the memory holds about the codes polled within one interval.
   */
  set(id: string, mark: PollMark): void {
    this.#marks.delete(id);
    this.#marks.set(id, mark);
    let forgotten = 0;
    for (const [oldest, m] of this.#marks) {
      if (forgotten === FORGET_PER_MARK || m.at + m.interval * 1000 > mark.at) break;
      this.#marks.delete(oldest);
      forgotten += 1;
    }
  }

  get size(): number {
    return this.#marks.size;
  }

  /**
   * The marks whose interval still runs at the newest mark's time: the only ones that can make a
   * later poll too soon, so the only ones worth writing at close.
   */
  *running(): Generator<[string, PollMark]> {
    let newest = -Infinity;
    for (const m of this.#marks.values()) newest = Math.max(newest, m.at);
    for (const entry of this.#marks) if (entry[1].at + entry[1].interval * 1000 > newest) yield entry;
  }
}
