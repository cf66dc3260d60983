// A throwaway Redis for one test: Debian's redis-server (scripts/ensure-debian-packages.sh
// installs it) in a temporary directory, on a free loopback port, without persistence, stopped in
// t.after and killed if the test process exits first. It can be stopped and started again on the
// same port, to test an outage and the recovery. A missing binary fails the test: the Redis tests
// never skip.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import type { TestContext } from 'node:test';
import { tempDir } from './build.ts';
import { freePort } from '../../scripts/net.ts';

export const REDIS_SERVER = '/usr/bin/redis-server';

export interface TestRedis {
  /** redis://127.0.0.1:<port> (with the password, when one was asked for). */
  url: string;
  port: number;
  /** Stops the server (SIGTERM) and waits for it to exit. Its data goes with it. */
  stop(): Promise<void>;
  /** Starts it again on the same port (empty). */
  start(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => { child.once('exit', () => { resolve(); }); });
}

/** Resolves once the port takes connections; rejects when the server exits or 5 s pass. */
async function accepting(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const until = Date.now() + 5000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}): ${output()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => { socket.end(); resolve(true); });
      socket.once('error', () => { resolve(false); });
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`redis-server did not listen on ${port}: ${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function startRedis(t: TestContext, opts: { password?: string } = {}): Promise<TestRedis> {
  if (!existsSync(REDIS_SERVER)) {
    throw new Error(`${REDIS_SERVER} is missing: run scripts/ensure-debian-packages.sh (npm test's pretest does) to install Debian's redis-server`);
  }
  const dir = tempDir(t);
  const port = await freePort();
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning',
    ...(opts.password === undefined ? [] : ['--requirepass', opts.password]),
  ];
  let child: ChildProcess | undefined;
  const start = async () => {
    if (child) throw new Error('redis-server is running');
    let output = '';
    const c = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    c.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    c.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    running.add(c);
    c.once('exit', () => { running.delete(c); });
    child = c;
    await accepting(port, c, () => output);
  };
  const stop = async () => {
    const c = child;
    if (!c) return;
    child = undefined;
    c.kill('SIGTERM');
    await exited(c);
  };
  await start();
  t.after(stop);
  const auth = opts.password === undefined ? '' : `:${encodeURIComponent(opts.password)}@`;
  return { url: `redis://${auth}127.0.0.1:${port}`, port, stop, start };
}
