// Checkpoints off the request path. In WAL mode each commit appends pages to the -wal file, and a
// checkpoint copies them back into the database file and fsyncs it. SQLite runs that checkpoint
// inside the commit that crosses the threshold (wal_autocheckpoint), so one request in thousands
// waited for it; with a table far larger than the cache the pages it copies are scattered, and at a
// million codes that wait came to ~20 µs of a ~150 µs poll (bench/RESULTS.md). A worker thread
// with a connection of its own checkpoints instead, every CHECKPOINT_INTERVAL_MS, while the server's
// connection goes on committing. The server's own autocheckpoint stays as the backstop: it bounds the
// WAL if this thread falls behind or fails, and then finds only the pages committed since its last
// pass. A checkpoint is also when a commit becomes durable against a power loss with synchronous
// normal, so that window is now about one interval instead of one threshold's worth of commits.
import { Worker } from 'node:worker_threads';

/** How often the thread checkpoints (ms). */
export const CHECKPOINT_INTERVAL_MS = 100;

/** What the thread is started with. */
export interface CheckpointerData {
  file: string;
  synchronous: 'normal' | 'full';
  intervalMs: number;
}

/** What the thread reports: a checkpoint that copied pages (how many of the WAL's are in the file now), or a failure. */
export type CheckpointerMessage = { copied: number } | { error: string };

const WORKER = new URL(import.meta.url.endsWith('.ts') ? './checkpoint-worker.ts' : './checkpoint-worker.js', import.meta.url);

export class Checkpointer {
  readonly #worker: Worker;
  readonly #exited: Promise<void>;
  /** Passes the thread reported so far: each that copied pages, and the first to succeed after a failure. */
  checkpoints = 0;
  /** The failure of the thread's last pass, until one succeeds (it keeps trying; the server's autocheckpoint covers meanwhile). */
  error: string | undefined;
  #gone = false;

  constructor(file: string, synchronous: 'normal' | 'full', intervalMs = CHECKPOINT_INTERVAL_MS) {
    const data: CheckpointerData = { file, synchronous, intervalMs };
    // No node options of the server's (a --cpu-prof would profile this thread too); a small heap.
    this.#worker = new Worker(WORKER, { workerData: data, execArgv: [], resourceLimits: { maxOldGenerationSizeMb: 16 } });
    this.#worker.on('message', (m: CheckpointerMessage) => {
      if ('error' in m) {
        this.error = m.error;
        return;
      }
      this.checkpoints += 1;
      this.error = undefined;
    });
    this.#worker.on('error', (err: Error) => { this.error = err.message; });
    this.#exited = new Promise((resolve) => {
      this.#worker.once('exit', () => {
        this.#gone = true;
        resolve();
      });
    });
    // The thread never keeps the process alive: a server stops it when its store closes.
    this.#worker.unref();
  }

  /** The thread runs and its last checkpoint succeeded (dcs_sqlite_checkpoints_up). */
  get running(): boolean {
    return !this.#gone && this.error === undefined;
  }

  /** Stops the thread and closes its connection; resolves once it has exited. */
  stop(): Promise<void> {
    // Held by the thread until it has exited, or the process could end with this promise pending.
    this.#worker.ref();
    this.#worker.postMessage('stop');
    return this.#exited;
  }
}
