// A command run where there is no database (the wrong directory, a mistyped DATA_DIR) would create a
// new, empty one and act on it where no server looks: it is refused, saying where it looked and how
// to fix it, unless --init is given or the command is one that creates databases (serve, migrate,
// env create) (README "Command line").
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/build.ts';
import { assertFailure, cliJson, runCli, type ClientJson, type EnvironmentJson } from './run.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DB = 'device-code-server.db';

const refusal = (command: string, database: string): RegExp =>
  new RegExp(`^device-code-server: ${command}: no database at ${database.replaceAll('.', '\\.')}; run it from the directory the server runs in, `
    + 'or set DATA_DIR \\(or DATABASE_PATH\\) to the server\'s; --init creates a new, empty database there$');

test('a command on a DATA_DIR without a database refuses, naming the full path and the fixes, and creates nothing', async (t) => {
  const dir = path.join(tempDir(t), 'data');
  const database = path.join(dir, DB);
  for (const args of [['client', 'create', '--name', 'TV'], ['user', 'list'], ['keys', 'list'], ['sweep'], ['env', 'list'], ['audit', 'list']]) {
    const command = args.slice(0, args[0] === 'sweep' ? 1 : 2).join(' ');
    assertFailure(await runCli(dir, args), refusal(command, database));
  }
  const json = await runCli(dir, ['client', 'list', '--json']);
  assert.equal(json.code, 1);
  assert.deepEqual(Object.keys(JSON.parse(json.stdout) as object), ['error', 'message']);
  assert.equal((JSON.parse(json.stdout) as { error: string }).error, 'input');
  assert.equal(existsSync(dir), false, 'no directory, no database, no secret');
});

test('a relative DATA_DIR is reported as the absolute path it resolved to, from where the command ran', async (t) => {
  const name = `no-such-data-${process.pid}-${Date.now()}`;
  t.after(() => { assert.equal(existsSync(path.join(ROOT, name)), false, 'nothing was created in the working directory'); });
  assertFailure(await runCli(`./${name}`, ['client', 'list']), refusal('client list', path.join(ROOT, name, DB)));
  const elsewhere = path.join(tempDir(t), 'db', 'dcs.db');
  assertFailure(await runCli(tempDir(t), ['client', 'list'], { env: { DATABASE_PATH: elsewhere } }), refusal('client list', elsewhere));
});

test('--init, after the command or before it, creates the database; later commands need no --init', async (t) => {
  const dir = path.join(tempDir(t), 'data');
  const client = await cliJson<ClientJson>(dir, ['client', 'create', '--name', 'TV', '--init']);
  assert.ok(existsSync(path.join(dir, DB)));
  const again = await cliJson<{ clients: ClientJson[] }>(dir, ['client', 'list']);
  assert.deepEqual(again.clients.map((c) => c.client_id), [client.client_id]);

  const other = path.join(tempDir(t), 'data');
  const listed = await runCli(other, ['--init', 'user', 'list']);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stderr, /warning: generated a new server secret/);
  // Given where the database exists, --init changes nothing.
  assert.equal((await runCli(other, ['user', 'list', '--init'])).code, 0);
  // After `--` it is an argument like any other, not the flag.
  assertFailure(await runCli(other, ['user', 'disable', '--', '--init']), /no user --init/);
});

test('migrate and env create make the database without --init; login and copy-store never open one', async (t) => {
  const migrated = path.join(tempDir(t), 'data');
  assert.equal((await cliJson<{ status: string }>(migrated, ['migrate'])).status, 'ok');
  assert.ok(existsSync(path.join(migrated, DB)));

  const created = path.join(tempDir(t), 'data');
  assert.equal((await cliJson<EnvironmentJson>(created, ['env', 'create', '--name', 'staging'])).name, 'staging');
  assert.ok(existsSync(path.join(created, DB)));

  const untouched = tempDir(t);
  assertFailure(await runCli(untouched, ['copy-store', '--from', path.join(untouched, 'old.db'), '--to', 'postgres://u@127.0.0.1:1/db']), /no SQLite database at/);
  assertFailure(await runCli(untouched, ['login', '--issuer', 'http://127.0.0.1:1', '--client-id', 'x']), /login: cannot reach/);
  assert.deepEqual(readdirSync(untouched), [], 'neither touched DATA_DIR');
});

test('--help names --init where it applies', async (t) => {
  const dir = tempDir(t);
  const top = await runCli(dir, ['--help']);
  assert.match(top.stdout, /Commands other than serve, migrate and env create work on an existing database/);
  assert.match((await runCli(dir, ['client', 'create', '--help'])).stdout, /^ {2}--init +Create a new, empty database if there is none/m);
  assert.doesNotMatch((await runCli(dir, ['migrate', '--help'])).stdout, /--init/);
  assert.doesNotMatch((await runCli(dir, ['login', '--help'])).stdout, /--init/);
});
