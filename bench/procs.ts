// Child processes of the benchmark: servers pinned to one core (taskset), the load generator on the
// other, readiness, graceful stop, and the RSS sampler that reads /proc/<pid>/status.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Where taskset is, if it is installed and there are at least two cores to split. */
function findTaskset(): string | undefined {
  if (availableParallelism() < 2) return undefined;
  for (const p of ['/usr/bin/taskset', '/bin/taskset', '/usr/local/bin/taskset']) if (existsSync(p)) return p;
  return undefined;
}

export const TASKSET = findTaskset();
export const SERVER_CPU = '0';
export const LOAD_CPU = '1';

/** Pins every thread of this process (the load generator) to LOAD_CPU; children are spawned on SERVER_CPU. */
export function pinLoadGenerator(): boolean {
  if (TASKSET === undefined) return false;
  execFileSync(TASKSET, ['-a', '-p', '-c', LOAD_CPU, String(process.pid)], { stdio: 'ignore' });
  return true;
}

export interface Child {
  proc: ChildProcess;
  pid: number;
  /** Resolves with the first stdout line that parses as JSON (the ceilings announce their port). */
  firstJsonLine: Promise<unknown>;
  /** The last few KB of stderr, for error messages. */
  stderrTail(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed). */
  stop(graceMs?: number): Promise<number | null>;
  exited: Promise<number | null>;
}

/** Spawns `node <args>` on SERVER_CPU (via taskset, which execs node: the pid is node's). */
export function spawnNode(args: string[], env: NodeJS.ProcessEnv, nodeFlags: string[] = []): Child {
  const nodeArgs = [...nodeFlags, ...args];
  const proc = TASKSET === undefined
    ? spawn(process.execPath, nodeArgs, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(TASKSET, ['-c', SERVER_CPU, process.execPath, ...nodeArgs], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (proc.pid === undefined) throw new Error(`could not spawn ${args.join(' ')}`);
  const pid = proc.pid;
  let stderr = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-8192); });
  const exited = new Promise<number | null>((resolve) => { proc.once('exit', (code) => { resolve(code); }); });
  const firstJsonLine = new Promise<unknown>((resolve, reject) => {
    let buf = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          resolve(JSON.parse(line));
        } catch {
          // not ours (a log line)
        }
      }
    });
    void exited.then((code) => { reject(new Error(`${args.join(' ')} exited (${code}) before announcing itself: ${stderr}`)); });
  });
  firstJsonLine.catch(() => undefined);
  return {
    proc,
    pid,
    firstJsonLine,
    exited,
    stderrTail: () => stderr,
    async stop(graceMs = 15_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => { proc.kill('SIGKILL'); }, graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Polls `url` until it answers 200 (or the child dies, or `timeoutMs` passes). */
export async function waitReady(url: string, child: Child, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const state = { dead: false };
  void child.exited.then(() => { state.dead = true; });
  while (Date.now() < deadline) {
    if (state.dead) throw new Error(`the server exited before it was ready: ${child.stderrTail()}`);
    try {
      const res = await fetch(url);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms: ${child.stderrTail()}`);
}

/** kB of a /proc/<pid>/status field (VmRSS, VmHWM), or undefined when the process is gone. */
export function procStatusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] === undefined ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

/** Clock ticks per second of /proc's CPU times (USER_HZ). */
const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU seconds the process has used so far, every thread, user and system (/proc/<pid>/stat utime
 * and stime); undefined when it is gone. Time the machine gave to others is not in it, so CPU per
 * request is steadier than throughput on a shared machine.
 */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Samples VmRSS every `everyMs` until stopped; returns the peak in MB. */
export function sampleRss(pid: number, everyMs = 100): { stop(): number } {
  let peak = procStatusKb(pid, 'VmRSS') ?? 0;
  const timer = setInterval(() => {
    const kb = procStatusKb(pid, 'VmRSS');
    if (kb !== undefined && kb > peak) peak = kb;
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      const kb = procStatusKb(pid, 'VmRSS');
      if (kb !== undefined && kb > peak) peak = kb;
      return peak / 1024;
    },
  };
}
