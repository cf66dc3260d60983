// The database's files private to the server's user, whatever the umask: the data directory 0700
// when we create it, the database file 0600 before SQLite first opens it, and its -wal and -shm
// with the main file's mode.
import { chmodSync, closeSync, fchmodSync, mkdirSync, openSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Creates `dir` (and missing parents) with mode 0700. A directory that exists keeps its mode: it is
 * the operator's. mkdir's mode goes through the umask, so what we create is chmodded to be exact.
 */
export function ensurePrivateDir(dir: string): void {
  const target = path.resolve(dir);
  const created = mkdirSync(target, { recursive: true, mode: 0o700 });
  if (created === undefined) return;
  const first = path.resolve(created);
  for (let d = target; ; d = path.dirname(d)) {
    chmodSync(d, 0o700);
    if (d === first || d === path.dirname(d)) break;
  }
}

/**
 * SQLite creates a new database 0644 whatever the umask, and its -wal and -shm with the main file's
 * mode: so the file is made here, 0600, before SQLite opens it. Losing the race to another process
 * that is creating it too is fine (theirs is 0600 as well).
 */
export function createPrivateFile(file: string): void {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw err;
  }
  try {
    fchmodSync(fd, 0o600);
  } finally {
    closeSync(fd);
  }
}

/** -wal and -shm left from an earlier open follow the main file's mode (a `chmod 600` of it holds for them too). */
export function alignSidecarModes(file: string): void {
  const mode = statSync(file).mode & 0o777;
  for (const sidecar of [`${file}-wal`, `${file}-shm`]) {
    try {
      if ((statSync(sidecar).mode & 0o777) !== mode) chmodSync(sidecar, mode);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}
