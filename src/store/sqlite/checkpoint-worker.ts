// The body of the checkpointer's thread (checkpointer.ts): its own connection to the server's SQLite
// file, copying the WAL's committed pages back into the file every 100 ms. A PASSIVE
// checkpoint waits for nobody and blocks nobody: the server's connection goes on reading and
// committing meanwhile. Runs in a worker thread; it reports each checkpoint that copied pages.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { CheckpointerData, CheckpointerMessage } from './checkpointer.ts';

const port = parentPort;
if (port === null) throw new Error('checkpoint-worker.ts runs as a worker thread (checkpointer.ts)');
const { file, synchronous, intervalMs } = workerData as CheckpointerData;

const db = new Database(file, { fileMustExist: true });
// The checkpoint's fsyncs (of the WAL before copying, of the file after) follow this connection's
// setting: the server's, so a checkpoint here is as durable as one of its own.
db.pragma(synchronous === 'full' ? 'synchronous = FULL' : 'synchronous = NORMAL');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
let copied = -1;
/** The last pass failed: the next one that succeeds is reported, so the failure is known to be over. */
let failed = false;

const send = (m: CheckpointerMessage) => { port.postMessage(m); };
const timer = setInterval(() => {
  try {
    const r = checkpoint.get() as { checkpointed: number };
    // How many of the WAL's frames are in the file now; 0 again once a commit restarts the WAL.
    if ((r.checkpointed !== copied && r.checkpointed > 0) || failed) send({ copied: r.checkpointed });
    failed = false;
    copied = r.checkpointed;
  } catch (err) {
    failed = true;
    send({ error: err instanceof Error ? err.message : String(err) });
  }
}, intervalMs);

port.on('message', (m: unknown) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  db.close();
  port.close();
});
