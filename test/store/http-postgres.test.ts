// A meaningful part of the HTTP suite again, on PostgreSQL: the token endpoint's polling rules, the
// races through HTTP, the flow API, a restart, and what ends a grant (a device code presented
// again, a disabled user), unchanged, with build() putting each app on a
// database of its own on this file's throwaway server (DCS_TEST_POSTGRES, test/helpers/build.ts).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { postgres } from '../helpers/postgres.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FILES = [
  'test/oauth/token.test.ts', 'test/oauth/concurrency.test.ts', 'test/flows/flow-api.test.ts', 'test/oauth/restart.test.ts', 'test/oauth/grant-endings.test.ts',
];

test(`${FILES.join(', ')} pass on PostgreSQL too`, async (t) => {
  const server = await postgres();
  const child = spawn(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...FILES], {
    cwd: ROOT,
    // Without NODE_TEST_CONTEXT: the child is a test run of its own, not a part of this one.
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT')), DCS_TEST_POSTGRES: server.url('postgres') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  const count = (what: string) => Number(new RegExp(`ℹ ${what} (\\d+)`).exec(out)?.[1] ?? NaN);
  t.diagnostic(`on PostgreSQL: ${count('pass')} passed, ${count('fail')} failed, ${count('skipped')} skipped`);
  assert.equal(code, 0, out.slice(-6000));
  assert.equal(count('fail'), 0);
  assert.ok(count('pass') >= 30, `the files ran (${count('pass')} passed)`);
  // …and ran here: every app had a database of its own on this server.
  const admin = new pg.Client({ connectionString: server.url('postgres') });
  await admin.connect();
  try {
    const r = await admin.query<{ n: string }>(`SELECT count(*) AS n FROM pg_database WHERE datname LIKE 'dcs\\_%'`);
    assert.ok(Number(r.rows[0]?.n) >= 30, `${r.rows[0]?.n ?? 0} databases for ${count('pass')} tests`);
  } finally {
    await admin.end();
  }
});
