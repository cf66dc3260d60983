import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { tempDir } from '../helpers/build.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

for (const args of [['serve'], []]) {
  test(`\`${['device-code-server', ...args].join(' ')}\` serves until SIGTERM, then exits 0`, async (t) => {
    const dir = tempDir(t);
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['DATABASE_PATH', 'DATABASE_URL', 'SERVER_SECRET', 'SERVER_SECRET_FILE'].includes(k)));
    const env = { ...inherited, DATA_DIR: dir, LOG_LEVEL: 'info', PORT: '0', HOST: '127.0.0.1', SWEEP_INTERVAL_SECONDS: '0' };
    const child = spawn(process.execPath, ['bin/device-code-server.js', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => child.kill('SIGKILL'));
    let out = '';
    child.stdout.setEncoding('utf8');
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`no listening line: ${out}`)); }, 15_000);
      child.stdout.on('data', (chunk: string) => {
        out += chunk;
        const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out);
        if (m?.[1] !== undefined) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
    });
    const res = await fetch(`${url}/healthz`);
    assert.equal(res.status, 200);
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0);
  });
}
