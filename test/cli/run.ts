// Runs the real `device-code-server` binary as a subprocess on a test's data directory.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.ts';
import { openServices } from '../../src/services.ts';
import { tempDir } from '../helpers/build.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = 'bin/device-code-server.js';

// Variables that would point the CLI somewhere other than the test's directory.
const UNSET = [
  'DATABASE_PATH', 'DATABASE_URL', 'DATABASE_POOL_SIZE', 'SERVER_SECRET', 'SERVER_SECRET_FILE', 'USER_CODE_CHARSET', 'USER_CODE_LENGTH', 'GEOIP_COUNTRY_DB',
  'GEOIP_ASN_DB',
];

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to stdin, which is then closed (it is always closed, so nothing waits on it). */
  stdin?: string;
  env?: Record<string, string>;
}

/**
 * A temporary DATA_DIR holding a database, as the server leaves it: the CLI commands act on an
 * existing database and refuse to create one without --init (README "Command line").
 */
export async function dataDir(t: TestContext): Promise<string> {
  const dir = tempDir(t);
  const services = await openServices(loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent' }));
  await services.close();
  return dir;
}

export function runCli(dir: string, args: readonly string[], opts: RunOptions = {}): Promise<CliResult> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !UNSET.includes(k)));
  // The password cost of test/helpers/build.ts (TEST_COST), so CLI-made users are as cheap to check.
  const env: NodeJS.ProcessEnv = { ...inherited, DATA_DIR: dir, LOG_LEVEL: 'silent', PASSWORD_SCRYPT_N: '16384', ...opts.env };
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  child.stdin.on('error', () => { /* the CLI may exit before reading stdin */ });
  child.stdin.end(opts.stdin ?? '');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`device-code-server ${args.join(' ')} timed out; stderr: ${stderr}`));
    }, 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Exit 0 and exactly one JSON object on stdout. */
export function jsonOf(r: CliResult): Record<string, unknown> {
  assert.equal(r.code, 0, `expected exit 0, got ${String(r.code)}; stderr: ${r.stderr}`);
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `expected one JSON line on stdout, got: ${r.stdout}`);
  const value: unknown = JSON.parse(lines[0] ?? '');
  assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value), 'stdout is a JSON object');
  return value as Record<string, unknown>;
}

/** Runs with --json and returns the one object printed. */
export async function cliJson<T = Record<string, unknown>>(dir: string, args: readonly string[], opts?: RunOptions): Promise<T> {
  return jsonOf(await runCli(dir, [...args, '--json'], opts)) as T;
}

/** Exit `code` (1: input error), nothing on stdout, one error line on stderr matching `pattern`, no stack trace. */
export function assertFailure(r: CliResult, pattern: RegExp, code = 1): void {
  assert.equal(r.code, code, `expected exit ${code}, got ${String(r.code)}; stdout: ${r.stdout}; stderr: ${r.stderr}`);
  assert.equal(r.stdout, '');
  const errors = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('warning: '));
  assert.equal(errors.length, 1, `one error line on stderr, got: ${r.stderr}`);
  assert.match(errors[0] ?? '', /^device-code-server: /);
  assert.match(errors[0] ?? '', pattern);
  assert.ok(!r.stderr.includes('    at '), `no stack trace: ${r.stderr}`);
}

export interface ClientJson {
  client_id: string;
  environment_id: string;
  name: string;
  type: 'public' | 'confidential';
  scope: string;
  code_lifetime: number;
  poll_interval: number;
  token_lifetime: number;
  audience: string | null;
  client_secret?: string;
}

export interface UserJson {
  id: string;
  environment_id: string;
  username: string;
  email: string;
  name: string | null;
  given_name: string | null;
  family_name: string | null;
  email_verified: boolean;
  disabled: boolean;
  created_at: string;
  updated_at: string;
}

export interface EnvironmentJson {
  id: string;
  name: string;
}
