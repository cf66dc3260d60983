// Mistakes in how the server is started are loud (README "Configuration", "Troubleshooting"): a
// wildcard HOST without PUBLIC_URL warns, a PUBLIC_URL that is not an absolute http(s) URL, a
// database or Redis that cannot be reached, and a second server on one SQLite DATA_DIR each stop
// the start with exit 1 and a message naming what to fix, never an internal error or a password.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../scripts/net.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { tempDir } from '../helpers/build.ts';
import { startRedis } from '../helpers/redis.ts';
import { assertFailure, runCli } from './run.ts';
import { startServe } from './serve-process.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PASSWORD = 'secret-never-printed';

interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

/** `serve` on `dir` until its listening line, then SIGTERM: every log line it wrote, and its exit code. */
async function serveOnce(t: TestContext, dir: string, env: Record<string, string>): Promise<{ lines: LogLine[]; code: number | null }> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['DATABASE_PATH', 'DATABASE_URL', 'PUBLIC_URL', 'REDIS_URL'].includes(k)));
  const child = spawn(process.execPath, ['bin/device-code-server.js', 'serve'], {
    cwd: ROOT, env: { ...inherited, DATA_DIR: dir, LOG_LEVEL: 'info', PORT: '0', SWEEP_INTERVAL_SECONDS: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  child.stdout.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`serve printed no listening line: ${out} ${err}`)); }, 15_000);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`serve exited ${String(code)}: ${err}`)); });
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('"msg":"device-code-server listening"')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  const lines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);
  return { lines, code };
}

test('HOST=0.0.0.0 without PUBLIC_URL: the server starts and warns once that its URLs are loopback URLs, naming the fix', async (t) => {
  const { lines, code } = await serveOnce(t, tempDir(t), { HOST: '0.0.0.0' });
  const warnings = lines.filter((l) => l.level === 40 && l.msg.includes('PUBLIC_URL'));
  assert.equal(warnings.length, 1, JSON.stringify(lines));
  const [warning] = warnings;
  assert.ok(warning);
  assert.match(warning.msg, /loopback URL that phones and other machines cannot reach/);
  assert.match(warning.msg, /set PUBLIC_URL=https:\/\//);
  assert.equal(warning.host, '0.0.0.0');
  assert.match(String(warning.publicUrl), /^http:\/\/localhost:/);
  assert.ok(lines.some((l) => l.msg === 'device-code-server listening'), 'and it serves');
  assert.equal(code, 0);
});

test('with PUBLIC_URL set, or on a loopback HOST, there is nothing to warn about', async (t) => {
  const { lines } = await serveOnce(t, tempDir(t), { HOST: '0.0.0.0', PUBLIC_URL: 'https://auth.example.com' });
  assert.ok(!lines.some((l) => l.msg.includes('PUBLIC_URL')), JSON.stringify(lines));
  // The decision itself, for both wildcard addresses (IPv6 may be missing where tests run).
  assert.equal(loadConfig({ HOST: '::' }).loopbackPublicUrl, true);
  assert.equal(loadConfig({ HOST: '0.0.0.0' }).loopbackPublicUrl, true);
  assert.equal(loadConfig({ HOST: '::', PUBLIC_URL: 'https://auth.example.com' }).loopbackPublicUrl, false);
  assert.equal(loadConfig({ HOST: '127.0.0.1' }).loopbackPublicUrl, false);
  assert.equal(loadConfig({ HOST: '192.0.2.10' }).loopbackPublicUrl, false);
});

test('a PUBLIC_URL that is not an absolute http(s) URL stops the start: exit 1 naming PUBLIC_URL, nothing created', async (t) => {
  for (const value of ['example.com', 'https://user:pw@auth.example.com']) {
    const dir = path.join(tempDir(t), 'data');
    const r = await runCli(dir, ['serve'], { env: { PUBLIC_URL: value, PORT: '0' } });
    assertFailure(r, /invalid configuration: PUBLIC_URL: (expected an absolute http\(s\) URL such as https:\/\/|must not hold a query, a fragment, a user or a password)/);
    assert.ok(!r.stderr.includes('pw@'), 'the value is not repeated');
    assert.equal(existsSync(dir), false, `${value}: stopped before anything was written`);
  }
  for (const value of ['ftp://example.com', 'http://', '/device', 'auth.example.com:443', 'https://auth.example.com/?tenant=1', 'https://auth.example.com/#top']) {
    assert.throws(() => loadConfig({ PUBLIC_URL: value }), (err: unknown) => err instanceof ConfigError && /^invalid configuration:\n {2}PUBLIC_URL: /.test(err.message), value);
  }
  assert.equal(loadConfig({ PUBLIC_URL: 'https://auth.example.com/sso/' }).publicUrl, 'https://auth.example.com/sso', 'a path is fine');
  assert.equal(loadConfig({ PUBLIC_URL: 'http://192.0.2.10:3000' }).publicUrl, 'http://192.0.2.10:3000');
});

test('an unreachable DATABASE_URL: exit 1 naming DATABASE_URL and the address, never the password (serve and a CLI command)', async (t) => {
  const port = await freePort();
  const url = `postgres://dcs:${PASSWORD}@127.0.0.1:${port}/dcs`;
  for (const args of [['serve'], ['env', 'list']]) {
    const dir = tempDir(t);
    const r = await runCli(dir, args, { env: { DATABASE_URL: url, PORT: '0' } });
    assertFailure(r, new RegExp(`DATABASE_URL: cannot connect to postgres://dcs@127\\.0\\.0\\.1:${port}/dcs: connect ECONNREFUSED`));
    assert.ok(!r.stderr.includes(PASSWORD), r.stderr);
    assert.ok(!r.stderr.includes('internal error'));
  }
  const json = await runCli(tempDir(t), ['env', 'list', '--json'], { env: { DATABASE_URL: url } });
  assert.equal(json.code, 1);
  assert.equal((JSON.parse(json.stdout) as { error: string }).error, 'config');
  assert.ok(!json.stdout.includes(PASSWORD));
});

test('an unreachable or refusing REDIS_URL stops serve (exit 1 naming REDIS_URL and the address, never the password); CLI commands never use Redis', async (t) => {
  const port = await freePort();
  const url = `redis://:${PASSWORD}@127.0.0.1:${port}`;
  const dir = tempDir(t);
  const r = await runCli(dir, ['serve'], { env: { REDIS_URL: url, PORT: '0' } });
  assertFailure(r, new RegExp(`REDIS_URL: cannot use Redis at redis://127\\.0\\.0\\.1:${port}: connect ECONNREFUSED`));
  assert.ok(!r.stderr.includes(PASSWORD), r.stderr);
  assert.equal(existsSync(path.join(dir, 'server.lock')), false, 'the lock taken for the start is given back');
  // The database exists now (serve opened it before asking Redis); a command beside it needs no Redis.
  assert.equal((await runCli(dir, ['env', 'list'], { env: { REDIS_URL: url } })).code, 0);

  // A Redis that answers but refuses the password is as wrong.
  const redis = await startRedis(t, { password: 'the-right-redis-password' });
  const refused = await runCli(dir, ['serve'], { env: { REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${redis.port}`, PORT: '0' } });
  assertFailure(refused, new RegExp(`REDIS_URL: cannot use Redis at redis://127\\.0\\.0\\.1:${redis.port}: WRONGPASS`));
  assert.ok(!refused.stderr.includes(PASSWORD), refused.stderr);
});

test('a second server on one SQLite DATA_DIR is refused naming the first one\'s pid; CLI commands still work beside it; the lock goes with the first', async (t) => {
  const dir = tempDir(t);
  const first = await startServe(t, dir);
  const lockFile = path.join(dir, 'server.lock');
  assert.equal(readFileSync(lockFile, 'utf8').trim(), String(first.child.pid));

  const second = await runCli(dir, ['serve'], { env: { PORT: '0' } });
  assertFailure(second, new RegExp(`DATA_DIR ${dir} is in use by another server \\(pid ${first.child.pid}\\).*delete ${lockFile}`));
  assert.equal(readFileSync(lockFile, 'utf8').trim(), String(first.child.pid), 'the refused one leaves the lock alone');

  assert.equal((await runCli(dir, ['client', 'create', '--name', 'TV'])).code, 0, 'commands beside the server take no lock');
  assert.equal((await runCli(dir, ['env', 'list'])).code, 0);

  assert.equal(await first.stop(), 0);
  assert.equal(existsSync(lockFile), false, 'a graceful shutdown removes the lock');
});

test('a lock left by a process that is gone does not block the next start', async (t) => {
  const dir = tempDir(t);
  const gone = spawn(process.execPath, ['-e', '']);
  await once(gone, 'exit');
  assert.ok(gone.pid !== undefined);
  writeFileSync(path.join(dir, 'server.lock'), `${gone.pid}\n`, { mode: 0o600 });
  const server = await startServe(t, dir);
  assert.equal(readFileSync(path.join(dir, 'server.lock'), 'utf8').trim(), String(server.child.pid), 'taken over');
  assert.equal(await server.stop(), 0);
  assert.equal(existsSync(path.join(dir, 'server.lock')), false);
});
