// A real `device-code-server serve` subprocess on a test's data directory and a free port, for tests
// where another process must hold the database open and write to it (backups, file modes).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ServeProcess {
  url: string;
  child: ChildProcess;
  /** SIGTERM, and the exit code once it has shut down. */
  stop(): Promise<number | null>;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
}

export async function startServe(t: TestContext, dir: string, env: Record<string, string> = {}): Promise<ServeProcess> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['DATABASE_PATH', 'DATABASE_URL', 'SERVER_SECRET', 'SERVER_SECRET_FILE'].includes(k)));
  const child = spawn(process.execPath, ['bin/device-code-server.js', 'serve'], {
    cwd: ROOT,
    env: { ...inherited, DATA_DIR: dir, LOG_LEVEL: 'info', PORT: '0', HOST: '127.0.0.1', SWEEP_INTERVAL_SECONDS: '0', PASSWORD_SCRYPT_N: '16384', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  // With a port given, readiness is asked of /healthz, so the log level is free (a long run at info
  // logs every request); otherwise the port is read from the listening line.
  const fixed = env.PORT !== undefined && env.PORT !== '0' ? `http://127.0.0.1:${env.PORT}` : undefined;
  const healthy = async (base: string): Promise<boolean> => {
    try {
      const res = await fetch(`${base}/healthz`);
      await res.arrayBuffer();
      return res.ok;
    } catch {
      return false;
    }
  };
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`serve printed no listening line: ${out} ${err}`)); }, 15_000);
    if (fixed !== undefined) {
      const ask = (): void => {
        void healthy(fixed).then((ok) => {
          if (ok) { clearTimeout(timer); resolve(fixed); } else if (child.exitCode === null) setTimeout(ask, 50);
        });
      };
      ask();
    }
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`serve exited ${String(code)}: ${err}`)); });
    let listening = false;
    child.stdout.on('data', (chunk: string) => {
      // The log is read (a full pipe would stall the server) but kept only until the listening line.
      if (listening) return;
      out += chunk;
      const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out);
      if (m?.[1] !== undefined) {
        listening = true;
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  return {
    url,
    child,
    output: () => out + err,
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}
