// A throwaway PostgreSQL 15 from Debian's `postgresql` package (installed by
// scripts/ensure-debian-packages.sh): initdb in a temp dir, on a free loopback port, as the
// unprivileged `postgres` user when we run as root (PostgreSQL refuses to run as root). Stopped
// (`pg_ctl stop -m immediate`) and deleted by stop(), or at process exit; restart() restarts it in
// place, as an operator would (test/reliability/restarts-postgres.test.ts). Plain module, no
// node:test: test/helpers/postgres.ts wraps it for the tests (durability off), bench/run.ts uses it
// as it is (durability on, pinned to the servers' core).
import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './net.ts';

const run = promisify(execFile);

/** Where Debian puts PostgreSQL 15's programs (POSTGRES_BIN overrides it for other layouts). */
export const POSTGRES_BIN = process.env.POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin';
const SUPERUSER = 'postgres';

/** Whether PostgreSQL's programs are there (the bench skips its PostgreSQL phase when not). */
export function postgresInstalled(): boolean {
  return existsSync(path.join(POSTGRES_BIN, 'postgres'));
}

export interface PostgresServer {
  readonly port: number;
  /** The superuser's URL of the `postgres` database (to create others). */
  readonly adminUrl: string;
  /** The server settings it was started with (`-c` options), for reports. */
  readonly settings: string;
  /** A new, empty database and the URL that reaches it. */
  database(): Promise<string>;
  /** The URL of an existing database. */
  url(database: string): string;
  /**
   * Restarts the server as an operator would (`pg_ctl restart -m fast`: every session is ended, its
   * transaction rolled back, and the server comes back on the same port with the same data).
   * With `whileDown`, the server is stopped (`pg_ctl stop -m fast`), `whileDown` runs, and it is
   * started again: an outage of a known extent.
   */
  restart(whileDown?: () => Promise<void>): Promise<void>;
  /**
   * Freezes the server (SIGSTOP to the postmaster and every backend) while `whileFrozen` runs, then
   * thaws it: a host that stops answering without closing a connection (a paused VM, a partition).
   */
  freeze(whileFrozen: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** fsync, synchronous_commit and full_page_writes on (a real server's durability); default false: all off, for speed. */
  durable?: boolean;
  /** Default 200. */
  maxConnections?: number;
  /** A command the server is started through, e.g. `['taskset', '-c', '0']` (its processes inherit the CPU affinity). */
  launcher?: string[];
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
    throw new Error(`running as root and there is no "${SUPERUSER}" user to run PostgreSQL as (Debian's postgresql package creates it)`);
  }
  return { uid: Number(uid), gid: Number(gid) };
}

/** argv for one of PostgreSQL's programs, as the server's account, through `launcher`. */
function asServer(account: Account | undefined, program: string, args: string[], launcher: string[] = []): [string, string[]] {
  const bin = path.join(POSTGRES_BIN, program);
  const argv = account === undefined ? [...launcher, bin, ...args] : [...launcher, 'runuser', '-u', SUPERUSER, '--', bin, ...args];
  const [file, ...rest] = argv;
  return [file ?? bin, rest];
}

async function exec(account: Account | undefined, program: string, args: string[], launcher?: string[]): Promise<void> {
  const [file, argv] = asServer(account, program, args, launcher);
  try {
    await run(file, argv, { timeout: 60_000 });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${program} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: err });
  }
}

function readLog(dir: string): string {
  try {
    return readFileSync(path.join(dir, 'server.log'), 'utf8');
  } catch {
    return '';
  }
}

/** The postmaster (the first line of postmaster.pid) and its children, the backends and workers. */
function serverProcesses(data: string): number[] {
  const postmaster = Number(readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const children = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      // pid (comm) state ppid …: the command may hold spaces and parentheses, so split after the last ')'.
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster;
    } catch {
      return false; // exited meanwhile
    }
  }).map(Number);
  return [postmaster, ...children];
}

/** Starts a new PostgreSQL server in a temp dir; throws (loudly) when the binaries are missing. */
export async function startPostgres(opts: StartPostgresOptions = {}): Promise<PostgresServer> {
  if (!postgresInstalled()) {
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
  // A process that dies early still takes its server with it.
  process.once('exit', stopSync);
  const durability = opts.durable === true ? 'on' : 'off';
  const settings = `fsync=${durability} synchronous_commit=${durability} full_page_writes=${durability} max_connections=${opts.maxConnections ?? 200}`;
  try {
    await exec(account, 'initdb', ['-D', data, '-U', SUPERUSER, '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
    let port = 0;
    let options = '';
    const log = path.join(dir, 'server.log');
    // freePort's port may be taken by another process before the server binds it: try again.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      options = [
        `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=${socket}`,
        ...settings.split(' ').map((s) => `-c ${s}`),
      ].join(' ');
      try {
        await exec(account, 'pg_ctl', ['start', '-D', data, '-w', '-t', '30', '-s', '-l', log, '-o', options], opts.launcher);
        break;
      } catch (err) {
        if (attempt >= 3) throw new Error(`${(err as Error).message}\n${readLog(dir)}`, { cause: err });
      }
    }
    const url = (database: string): string => `postgres://${SUPERUSER}@127.0.0.1:${port}/${database}`;
    const adminUrl = url('postgres');
    return {
      port,
      adminUrl,
      settings,
      url,
      database: () => createDatabase(adminUrl),
      async restart(whileDown) {
        // -l: the new postmaster must not inherit our pipes (execFile would wait for it to exit).
        if (whileDown === undefined) {
          await exec(account, 'pg_ctl', ['restart', '-D', data, '-m', 'fast', '-w', '-t', '60', '-s', '-l', log, '-o', options], opts.launcher);
          return;
        }
        await exec(account, 'pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w', '-t', '60', '-s']);
        try {
          await whileDown();
        } finally {
          await exec(account, 'pg_ctl', ['start', '-D', data, '-w', '-t', '60', '-s', '-l', log, '-o', options], opts.launcher);
        }
      },
      async freeze(whileFrozen) {
        const pids = serverProcesses(data);
        for (const pid of pids) process.kill(pid, 'SIGSTOP');
        try {
          await whileFrozen();
        } finally {
          for (const pid of pids) {
            try {
              process.kill(pid, 'SIGCONT');
            } catch {
              // gone meanwhile
            }
          }
        }
      },
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

let databases = 0;

/**
 * A new, empty database `dcs_<pid>_<n>` on a running server, created through `adminUrl` (a
 * superuser's URL on it); returns the new database's URL. Any server will do, not only ours.
 */
export async function createDatabase(adminUrl: string): Promise<string> {
  const name = `dcs_${process.pid}_${++databases}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
