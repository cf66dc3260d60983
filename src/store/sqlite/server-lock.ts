// One server per SQLite data directory: `serve` holds DATA_DIR/server.lock, a file holding its pid,
// from before the database opens until it has closed. SQLite would let a second server open the same
// file, and the two would then each keep their own rate limits and sweep each other's rows; the CLI
// commands, which are short and meant to run beside the server, take no lock (WAL lets them write).
//
// The file is created whole or not at all (written to a private file, then linked into place:
// link() fails when the name exists), so a reader never sees half a pid. A lock whose process is
// gone (killed, a crash, a power loss) is stale and taken over; so is one naming this process or its
// parent, which is what a restarted container sees when it gets the pid its predecessor had.
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir } from './private-files.ts';

export const SERVER_LOCK_FILE = 'server.lock';

export interface ServerLock {
  file: string;
  /** Removes the lock file, if it is still this process's. */
  release(): void;
}

/** What stands in the way: the lock file and the pid of the live process holding it. */
export interface LockHolder {
  file: string;
  /** Undefined only when the lock kept changing hands while this process tried to take it. */
  pid: number | undefined;
}

/** True when a process with this pid exists (EPERM: it does, it is another user's). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in the lock file; undefined when there is no file, or nothing usable in it. */
function readHolder(file: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

function isStale(pid: number | undefined): boolean {
  return pid === undefined || pid === process.pid || pid === process.ppid || !alive(pid);
}

/** Creates `file` holding this process's pid, 0600; false when it exists. */
function create(file: string): boolean {
  const temp = path.join(path.dirname(file), `.${SERVER_LOCK_FILE}.${process.pid}.${randomBytes(6).toString('hex')}`);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    fchmodSync(fd, 0o600); // whatever the umask
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkSync(temp);
  }
}

/** Takes the lock of `dataDir` (made 0700 if new), or says which live process holds it. */
export function takeServerLock(dataDir: string): ServerLock | LockHolder {
  ensurePrivateDir(dataDir);
  const file = path.join(path.resolve(dataDir), SERVER_LOCK_FILE);
  // A stale lock is removed and the creation tried again; a few rounds, in case another server
  // starting at the same moment takes it in between (then it is that one's, and live).
  for (let round = 0; round < 3; round++) {
    if (create(file)) {
      return {
        file,
        release: () => {
          if (readHolder(file) !== process.pid) return;
          try {
            unlinkSync(file);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
          }
        },
      };
    }
    const pid = readHolder(file);
    if (pid !== undefined && !isStale(pid)) return { file, pid };
    try {
      unlinkSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return { file, pid: readHolder(file) };
}
