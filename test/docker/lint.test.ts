// scripts/lint-dockerfile.ts, the check that stands in for `docker build` in CI: the real
// Dockerfile is clean, and anything dockerfile-utils reports fails, warnings included.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE24 = path.join(ROOT, 'node_modules', '.bin', 'node');
const SCRIPT = path.join(ROOT, 'scripts', 'lint-dockerfile.ts');

// Not test/helpers/build.ts: that one loads the whole app, which this test has no need of.
function tempDir(t: TestContext): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'dcs-lint-'));
  t.after(() => { rmSync(dir, { recursive: true, force: true }); });
  return dir;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface Result { code: number | null; stdout: string; stderr: string }

function lint(args: string[]): Promise<Result> {
  const child = spawn(NODE24, [SCRIPT, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => { resolve({ code, stdout, stderr }); });
  });
}

test('the repository\'s Dockerfile lints clean', async () => {
  const r = await lint([]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /Dockerfile is clean/);
});

test('an error fails the lint and is reported with its line and column', async (t) => {
  const file = path.join(tempDir(t), 'Dockerfile');
  writeFileSync(file, 'FROM node:24-bookworm-slim\nEXPOSE http\nHEALTHCHECK --every=5s CMD ["true"]\n');
  const r = await lint([file]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, new RegExp(`^${escape(file)}:2:8: error: .*http`, 'm'));
  assert.match(r.stderr, new RegExp(`^${escape(file)}:3:\\d+: error: .*every`, 'm'));
  assert.match(r.stderr, /2 problem\(s\)/);
});

test('a warning alone fails the lint too', async (t) => {
  const file = path.join(tempDir(t), 'Dockerfile');
  // Valid for Docker, but dockerfile-utils warns: lower-case instructions and a second CMD.
  writeFileSync(file, 'from node:24-bookworm-slim\nCMD ["node", "a.js"]\nCMD ["node", "b.js"]\n');
  const r = await lint([file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`^${escape(file)}:1:1: warning: `, 'm'));
  assert.doesNotMatch(r.stderr, /: error: /);
});

test('a missing Dockerfile fails with one message, not a stack trace', async (t) => {
  const r = await lint([path.join(tempDir(t), 'nope')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^lint-dockerfile: cannot read .*nope \(ENOENT\)\n$/);
});
