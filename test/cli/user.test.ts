import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { verifyPassword } from '../../src/crypto/passwords.ts';
import { openServices } from '../../src/services.ts';
import { tempDir } from '../helpers/build.ts';
import { assertFailure, cliJson, runCli, type UserJson } from './run.ts';

async function storedHash(dir: string, username: string): Promise<string> {
  const services = await openServices(loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent' }));
  try {
    return (await services.admin.getUserByUsername(services.defaultEnv.id, username)).passwordHash;
  } finally {
    await services.close();
  }
}

test('user create reads the password from stdin; the user can sign in with it', async (t) => {
  const dir = tempDir(t);
  const password = 'correct horse  battery staple ';
  const u = await cliJson<UserJson>(dir, ['user', 'create', '--username', 'alice', '--email', 'alice@example.test'], { stdin: `${password}\nignored second line\n` });
  assert.equal(u.username, 'alice');
  assert.equal(u.email, 'alice@example.test');
  assert.equal(u.disabled, false);
  assert.deepEqual(Object.keys(u).filter((k) => /pass|hash/i.test(k)), []);

  const hash = await storedHash(dir, 'alice');
  assert.equal(await verifyPassword(password, hash), true, 'the whole first line, spaces kept, newline stripped');
  assert.equal(await verifyPassword(password.trim(), hash), false);
  assert.equal(await verifyPassword('ignored second line', hash), false);
});

test('user create: a CRLF line ending is stripped; a password on argv is refused', async (t) => {
  const dir = tempDir(t);
  const r = await runCli(dir, ['user', 'create', '--username', 'bob', '--email', 'bob@example.test'], { stdin: 'windows-password\r\n' });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Created user bob/);
  assert.equal(await verifyPassword('windows-password', await storedHash(dir, 'bob')), true);

  assertFailure(await runCli(dir, ['user', 'create', '--username', 'carol', '--email', 'c@example.test', '--password', 'hunter2hunter2']),
    /unknown option --password/);
});

test('user create fails cleanly without a password, with a short one, or a taken username', async (t) => {
  const dir = tempDir(t);
  assertFailure(await runCli(dir, ['user', 'create', '--username', 'alice', '--email', 'a@example.test']), /no password on stdin/);
  assertFailure(await runCli(dir, ['user', 'create', '--username', 'alice', '--email', 'a@example.test'], { stdin: 'short\n' }), /password must be 8-1024 characters/);
  assertFailure(await runCli(dir, ['user', 'create', '--username', 'alice', '--email', 'not-an-email'], { stdin: 'long enough password\n' }), /email/);
  await cliJson(dir, ['user', 'create', '--username', 'alice', '--email', 'a@example.test'], { stdin: 'long enough password\n' });
  assertFailure(await runCli(dir, ['user', 'create', '--username', 'alice', '--email', 'other@example.test'], { stdin: 'long enough password\n' }), /already in use/);
  assertFailure(await runCli(dir, ['user', 'create', '--email', 'x@example.test'], { stdin: 'long enough password\n' }), /user create: missing --username/);
});

test('user disable, enable and list', async (t) => {
  const dir = tempDir(t);
  await cliJson(dir, ['user', 'create', '--username', 'alice', '--email', 'alice@example.test'], { stdin: 'alice password 1\n' });
  await cliJson(dir, ['user', 'create', '--username', 'bob', '--email', 'bob@example.test'], { stdin: 'bob password 12\n' });

  const disabled = await cliJson<UserJson>(dir, ['user', 'disable', 'alice']);
  assert.equal(disabled.disabled, true);
  let list = await cliJson<{ users: UserJson[] }>(dir, ['user', 'list']);
  assert.deepEqual(list.users.map((u) => [u.username, u.disabled]), [['alice', true], ['bob', false]]);
  const human = await runCli(dir, ['user', 'list']);
  assert.match(human.stdout, /^alice +alice@example\.test +disabled/m);
  assert.match(human.stdout, /^bob +bob@example\.test +enabled/m);
  assert.ok(!human.stdout.includes('scrypt') && !JSON.stringify(list).includes('scrypt'), 'no password hash is printed');

  const enabled = await runCli(dir, ['user', 'enable', 'alice']);
  assert.equal(enabled.code, 0);
  assert.match(enabled.stdout, /Enabled user alice/);
  list = await cliJson<{ users: UserJson[] }>(dir, ['user', 'list']);
  assert.deepEqual(list.users.map((u) => [u.username, u.disabled]), [['alice', false], ['bob', false]]);

  assertFailure(await runCli(dir, ['user', 'disable', 'nobody']), /no user nobody/);
  assertFailure(await runCli(dir, ['user', 'disable']), /user disable: missing <username>/);
});
