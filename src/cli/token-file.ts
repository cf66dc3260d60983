// The token file of `login --out`: written 0600 through a temporary file and a rename, replaced or
// read only when it is a regular 0600 file of this user, and parsed back for `login --refresh`. The
// record it holds (and --json prints) is made here too.
import {
  closeSync, constants, fchmodSync, fstatSync, fsyncSync, lstatSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync,
  type Stats,
} from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TokenResponse } from '../client/device-login.ts';
import { InputError, type Outcome } from './args.ts';
import { safe } from './output.ts';

/**
 * The token file may replace only what looks like an earlier token file: a regular file of ours with
 * mode 0600. Anything else (a file others may read, a symlink, a directory) is more likely a typo
 * than a token, and is refused before the person is asked to approve anything.
 */
export function checkOutTarget(file: string): void {
  let st;
  try {
    st = lstatSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      const dir = path.dirname(file);
      if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new InputError(`login: --out directory ${safe(dir)} does not exist`);
      return;
    }
    throw new InputError(`login: cannot check --out ${safe(file)} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  checkTokenFile(file, st, 'overwrite', 'remove it or choose another --out');
}

/** A token file is a regular file of ours with mode 0600, whether it is to be replaced or read. */
function checkTokenFile(file: string, st: Stats, verb: 'overwrite' | 'read', fix: string): void {
  if (!st.isFile()) throw new InputError(`login: refusing to ${verb} ${safe(file)}: not a regular file`);
  if ((st.mode & 0o777) !== 0o600) {
    throw new InputError(`login: refusing to ${verb} ${safe(file)}: its mode is ${(st.mode & 0o777).toString(8).padStart(4, '0')}, not 0600 (${fix})`);
  }
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) throw new InputError(`login: refusing to ${verb} ${safe(file)}: owned by another user`);
}

/**
 * Writes a new 0600 file beside the target and renames it over: never a moment with the token
 * readable, or half a file. `lost` is added to a failure's message (after a refresh the old token is spent).
 */
export function writeTokenFile(file: string, record: Record<string, unknown>, lost = ''): void {
  checkOutTarget(file);
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o600);
    fchmodSync(fd, 0o600); // whatever the umask
    writeSync(fd, `${JSON.stringify(record, null, 2)}\n`);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // never created, or already renamed
    }
    throw new InputError(`login: cannot write ${safe(file)} (${(err as NodeJS.ErrnoException).code ?? 'error'})${lost}`);
  }
}

/**
 * What --out saves and --json prints: the token, where it came from, and for whom. `idToken` is the
 * (validated) ID token to keep when the answer carried none: a refresh may leave it out (OpenID
 * Connect Core §12.2), and the next refresh still compares its sub.
 */
export function tokenRecord(
  token: TokenResponse, issuer: string, clientId: string, obtainedAt: number, scope: string | undefined, idToken = token.id_token,
): Record<string, unknown> & { scope: string | null } {
  return {
    access_token: token.access_token,
    token_type: token.token_type,
    expires_in: token.expires_in ?? null,
    // RFC 6749 §5.1: no scope in the answer means the scope asked for.
    scope: token.scope ?? scope ?? null,
    issuer,
    // So that --refresh needs no --client-id.
    client_id: clientId,
    obtained_at: new Date(obtainedAt).toISOString(),
    ...(token.refresh_token === undefined ? {} : { refresh_token: token.refresh_token }),
    ...(idToken === undefined ? {} : { id_token: idToken }),
  };
}

/** With --out, the file's path instead of the token (that is the point of --out). */
export function savedOutcome(out: string, record: Record<string, unknown>): Outcome {
  const summary = { token_type: record.token_type, expires_in: record.expires_in, scope: record.scope, issuer: record.issuer, obtained_at: record.obtained_at, out };
  return { json: summary, text: [`Saved the access token to ${safe(out)} (mode 0600).`] };
}

/** What --refresh needs from a token file: each field undefined when missing or empty. */
export interface SavedToken {
  issuer: string | undefined;
  clientId: string | undefined;
  refreshToken: string | undefined;
  scope: string | undefined;
  /** The ID token of the sign-in (or of the last refresh that sent one). */
  idToken: string | undefined;
}

/**
 * The token file of an earlier login, read through one descriptor opened without following a
 * symlink, so the file checked is the file read. Held to the same rules as a file --out may replace.
 */
export function readTokenFile(file: string): SavedToken {
  let text: string;
  let fd: number | undefined;
  try {
    // O_NONBLOCK: a FIFO at the path would otherwise hang the open; it is then refused as not a regular file.
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    checkTokenFile(file, fstatSync(fd), 'read', 'others may have read its tokens: run login again, or chmod 600 it if none could');
    text = readFileSync(fd, 'utf8');
  } catch (err) {
    if (err instanceof InputError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(`login: no token file ${safe(file)}: sign in first with login --out ${safe(file)}`);
    if (code === 'ELOOP') throw new InputError(`login: refusing to read ${safe(file)}: not a regular file`);
    throw new InputError(`login: cannot read ${safe(file)} (${code ?? 'error'})`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InputError(`login: ${safe(file)} is not a token file (not a JSON object)`);
  const saved = parsed as Record<string, unknown>;
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  return {
    issuer: str(saved.issuer), clientId: str(saved.client_id), refreshToken: str(saved.refresh_token), scope: str(saved.scope), idToken: str(saved.id_token),
  };
}

/** How long `login --refresh` waits for another one refreshing the same file. */
const LOCK_WAIT_MS = 30_000;
const LOCK_RETRY_MS = 50;

/**
 * Runs `fn` holding `.<file>.lock` beside the token file: created exclusively (O_EXCL), 0600,
 * holding our pid, removed afterwards. Two `login --refresh` on one file take turns, so the second
 * reads the token the first saved instead of presenting the one it rotated (which the server
 * would take for a stolen copy, ending the grant). A lock whose process is gone is taken over;
 * one held longer than LOCK_WAIT_MS is an error that names it.
 */
export async function withTokenFileLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const lock = path.join(path.dirname(file), `.${path.basename(file)}.lock`);
  const deadline = Date.now() + LOCK_WAIT_MS;
  while (!takeLock(file, lock)) {
    if (lockHolderGone(lock)) continue;
    if (Date.now() >= deadline) throw new InputError(`login: another login --refresh holds ${safe(lock)}; if none is running, remove it`);
    await sleep(LOCK_RETRY_MS);
  }
  try {
    return await fn();
  } finally {
    try {
      unlinkSync(lock);
    } catch {
      // already gone: nothing to release
    }
  }
}

/** Creates the lock with our pid in it; false when it exists. A lock that cannot be written is not left behind. */
function takeLock(file: string, lock: string): boolean {
  let fd: number;
  try {
    fd = openSync(lock, 'wx', 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    throw new InputError(`login: cannot lock ${safe(file)} (${code ?? 'error'})`);
  }
  try {
    writeSync(fd, String(process.pid));
  } catch (err) {
    unlinkSync(lock);
    throw new InputError(`login: cannot lock ${safe(file)} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * True when the lock named a process that no longer runs, and the lock was removed. A lock without
 * a pid yet (its holder is between creating and writing it) is still held.
 */
function lockHolderGone(lock: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(lock, 'utf8'));
  } catch {
    return false; // removed meanwhile: the next try takes it
  }
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') return false;
  }
  try {
    unlinkSync(lock);
  } catch {
    // another waiter took it over first
  }
  return true;
}
