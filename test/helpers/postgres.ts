// A throwaway PostgreSQL 15 for the tests, from Debian's `postgresql` package (installed by
// scripts/ensure-debian-packages.sh, as npm's pretest and .ci/run do): initdb in a temp dir, on a
// free loopback port, as the unprivileged `postgres` user when the tests run as root (PostgreSQL
// refuses to run as root), durability off for speed. One server per test file (per process),
// started on first use; every test gets its own database, so tests stay independent. Stopped
// (`pg_ctl stop -m immediate`) and deleted after the file's tests, or at process exit.
import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { promisify } from 'node:util';
import { freePort } from './net.ts';
import { createDatabase } from './pg-database.ts';

const run = promisify(execFile);

/** Where Debian puts PostgreSQL 15's programs (POSTGRES_BIN overrides it for other layouts). */
export const POSTGRES_BIN = process.env.POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin';
const SUPERUSER = 'postgres';

export interface PostgresServer {
  readonly port: number;
  /** A new, empty database and the URL that reaches it. */
  database(): Promise<string>;
  /** The URL of an existing database. */
  url(database: string): string;
  stop(): Promise<void>;
}

interface Account {
  uid: number;
  gid: number;
}

/** The `postgres` account when we are root (the server must not run as root); nobody otherwise. */
function serverAccount(): Account | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${SUPERUSER}:`));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) {
    throw new Error(`the tests run as root and there is no "${SUPERUSER}" user to run PostgreSQL as (Debian's postgresql package creates it)`);
  }
  return { uid: Number(uid), gid: Number(gid) };
}

/** argv for one of PostgreSQL's programs, as the server's account. */
function asServer(account: Account | undefined, program: string, args: string[]): [string, string[]] {
  const bin = path.join(POSTGRES_BIN, program);
  return account === undefined ? [bin, args] : ['runuser', ['-u', SUPERUSER, '--', bin, ...args]];
}

async function exec(account: Account | undefined, program: string, args: string[]): Promise<void> {
  const [file, argv] = asServer(account, program, args);
  try {
    await run(file, argv, { timeout: 60_000 });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${program} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: err });
  }
}

async function start(): Promise<PostgresServer> {
  if (!existsSync(path.join(POSTGRES_BIN, 'postgres'))) {
    // Loud on purpose: ensure-debian-packages installs it, so missing binaries are a broken setup, not a skip.
    throw new Error(`PostgreSQL 15 is not installed (no ${POSTGRES_BIN}/postgres); run: bash scripts/ensure-debian-packages.sh`);
  }
  const account = serverAccount();
  const dir = mkdtempSync(path.join(tmpdir(), 'dcs-pg-'));
  const data = path.join(dir, 'data');
  const socket = path.join(dir, 'socket');
  mkdirSync(socket);
  if (account !== undefined) for (const d of [dir, socket]) chownSync(d, account.uid, account.gid);
  let stopped = false;
  const stopSync = (): void => {
    if (stopped) return;
    stopped = true;
    const [file, argv] = asServer(account, 'pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-s']);
    if (existsSync(path.join(data, 'postmaster.pid'))) spawnSync(file, argv, { stdio: 'ignore', timeout: 30_000 });
    rmSync(dir, { recursive: true, force: true });
  };
  // A test process that dies early still takes its server with it.
  process.once('exit', stopSync);
  try {
    await exec(account, 'initdb', ['-D', data, '-U', SUPERUSER, '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
    let port = 0;
    // freePort's port may be taken by another test process before the server binds it: try again.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const options = [
        `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=${socket}`,
        '-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200',
      ].join(' ');
      try {
        await exec(account, 'pg_ctl', ['start', '-D', data, '-w', '-t', '30', '-s', '-l', path.join(dir, 'server.log'), '-o', options]);
        break;
      } catch (err) {
        if (attempt >= 3) throw new Error(`${(err as Error).message}\n${readLog(dir)}`, { cause: err });
      }
    }
    const url = (database: string): string => `postgres://${SUPERUSER}@127.0.0.1:${port}/${database}`;
    return {
      port,
      url,
      database: () => createDatabase(url('postgres')),
      stop() {
        process.removeListener('exit', stopSync);
        stopSync();
        return Promise.resolve();
      },
    };
  } catch (err) {
    process.removeListener('exit', stopSync);
    stopSync();
    throw err;
  }
}

function readLog(dir: string): string {
  try {
    return readFileSync(path.join(dir, 'server.log'), 'utf8');
  } catch {
    return '';
  }
}

let shared: Promise<PostgresServer> | undefined;

// Registered when a test file imports this helper (at its top level): after the file's last test
// the server, if one was started, is stopped and deleted.
after(async () => {
  const server = shared;
  shared = undefined;
  if (server !== undefined) await (await server).stop();
});

/** The test file's server, started on first call. */
export function postgres(): Promise<PostgresServer> {
  shared ??= start();
  return shared;
}

/** A new database on the file's server, for one test. */
export async function postgresDatabase(): Promise<string> {
  return (await postgres()).database();
}
