import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers/build.ts';
import { assertFailure, dataDir, runCli } from './run.ts';

test('unknown command, unknown flag, missing flag or argument: exit 1, one line, no stack trace', async (t) => {
  const dir = tempDir(t);
  assertFailure(await runCli(dir, ['frobnicate']), /unknown command "frobnicate"/);
  assertFailure(await runCli(dir, ['client', 'frobnicate']), /client: unknown command "frobnicate" \(one of: create, update, list, delete\)/);
  assertFailure(await runCli(dir, ['client']), /client: missing command/);
  assertFailure(await runCli(dir, ['client', 'create', '--name', 'TV', '--colour', 'blue']), /client create: unknown option --colour/);
  assertFailure(await runCli(dir, ['client', 'list', '-x']), /client list: unknown option -x/);
  assertFailure(await runCli(dir, ['client', 'create']), /client create: missing --name \(see `device-code-server client create --help`\)/);
  assertFailure(await runCli(dir, ['client', 'create', '--name', '  ']), /--name must not be empty/);
  assertFailure(await runCli(dir, ['env', 'create']), /env create: missing --name/);
  assertFailure(await runCli(dir, ['env', 'list', 'extra']), /env list: unexpected argument "extra"/);
  assertFailure(await runCli(dir, ['client', 'delete', 'a', 'b']), /unexpected argument "b"/);
  assertFailure(await runCli(dir, ['migrate', '--json=yes']), /--json does not take a value/);
  assertFailure(await runCli(dir, ['--verbose']), /unknown option --verbose/);
});

test('--json failures print one JSON error object on stdout as well', async (t) => {
  const dir = await dataDir(t);
  const r = await runCli(dir, ['client', 'create', '--json']);
  assert.equal(r.code, 1);
  assert.deepEqual(JSON.parse(r.stdout), { error: 'usage', message: 'client create: missing --name' });
  assert.match(r.stderr, /missing --name/);
  const nf = await runCli(dir, ['user', 'enable', 'ghost', '--json']);
  assert.equal(nf.code, 1);
  assert.deepEqual(JSON.parse(nf.stdout), { error: 'not_found', message: 'no user ghost' });
});

test('a bad configuration variable is an input error naming the variable', async (t) => {
  const dir = tempDir(t);
  assertFailure(await runCli(dir, ['client', 'list'], { env: { USER_CODE_LENGTH: 'many' } }), /invalid configuration: USER_CODE_LENGTH/);
});

test('an internal error (the data directory is a file) exits 2 with one line and no stack trace', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'not-a-directory');
  writeFileSync(file, 'x');
  assertFailure(await runCli(file, ['client', 'list', '--init']), /internal error/, 2);
});

test('--help and -h print usage with the flags and exit 0', async (t) => {
  const dir = tempDir(t);
  const cases: [string[], RegExp[]][] = [
    [['--help'], [/^Usage: device-code-server \[command\]/, /client create/, /approve/, /Exit status: 0 success; 1 usage or input error.*2 internal error/]],
    [['-h'], [/^Usage: device-code-server/]],
    [['client', '--help'], [/^Usage: device-code-server client <command>/, /client delete/]],
    [['client', 'create', '--help'], [/^Usage: device-code-server client create --name <name> \[options\]/, /--confidential/, /--scope <s1 s2>/,
      /--code-lifetime <seconds>/, /--poll-interval <seconds>/, /--token-lifetime <seconds>/, /--audience <aud>/, /--env <id\|name>/, /--json/]],
    [['client', 'delete', '-h'], [/^Usage: device-code-server client delete <client_id>/]],
    [['user', 'create', '--help'], [/--username <username>/, /--email <email>/, /stdin/]],
    [['user', 'disable', '--help'], [/^Usage: device-code-server user disable <username>/]],
    [['env', 'create', '--help'], [/--name <name>/]],
    [['approve', '--help'], [/^Usage: device-code-server approve <user_code> --user <username>/]],
    [['deny', '-h'], [/^Usage: device-code-server deny <user_code> --user <username>/]],
    [['migrate', '--help'], [/--json/]],
    [['serve', '--help'], [/PORT/]],
    // --help wins over other mistakes on the same line.
    [['client', 'create', '--bogus', '--help'], [/^Usage: device-code-server client create/]],
  ];
  for (const [args, patterns] of cases) {
    const r = await runCli(dir, args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, '', args.join(' '));
    for (const p of patterns) assert.match(r.stdout, p, `${args.join(' ')} prints ${String(p)}`);
  }
});
