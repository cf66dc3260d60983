import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { verifyPassword } from '../../src/crypto/passwords.ts';
import { openServices } from '../../src/services.ts';
import { assertFailure, cliJson, dataDir, runCli, type EnvironmentJson, type UserJson } from './run.ts';

async function storedHash(dir: string, username: string): Promise<string> {
  const services = await openServices(loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent' }));
  try {
    return (await services.admin.users.getByUsername(services.defaultEnv.id, username)).passwordHash;
  } finally {
    await services.close();
  }
}

test('user create reads the password from stdin; the user can sign in with it', async (t) => {
  const dir = await dataDir(t);
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
  const dir = await dataDir(t);
  const r = await runCli(dir, ['user', 'create', '--username', 'bob', '--email', 'bob@example.test'], { stdin: 'windows-password\r\n' });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Created user bob/);
  assert.equal(await verifyPassword('windows-password', await storedHash(dir, 'bob')), true);

  assertFailure(await runCli(dir, ['user', 'create', '--username', 'carol', '--email', 'c@example.test', '--password', 'hunter2hunter2']),
    /unknown option --password/);
});

test('user create fails cleanly without a password, with a short one, or a taken username', async (t) => {
  const dir = await dataDir(t);
  assertFailure(await runCli(dir, ['user', 'create', '--username', 'alice', '--email', 'a@example.test']), /no password on stdin/);
  assertFailure(await runCli(dir, ['user', 'create', '--username', 'alice', '--email', 'a@example.test'], { stdin: 'short\n' }), /password must be 8-1024 characters/);
  assertFailure(await runCli(dir, ['user', 'create', '--username', 'alice', '--email', 'not-an-email'], { stdin: 'long enough password\n' }), /email/);
  await cliJson(dir, ['user', 'create', '--username', 'alice', '--email', 'a@example.test'], { stdin: 'long enough password\n' });
  assertFailure(await runCli(dir, ['user', 'create', '--username', 'alice', '--email', 'other@example.test'], { stdin: 'long enough password\n' }), /already in use/);
  assertFailure(await runCli(dir, ['user', 'create', '--email', 'x@example.test'], { stdin: 'long enough password\n' }), /user create: missing --username/);
});

test('user disable, enable and list', async (t) => {
  const dir = await dataDir(t);
  await cliJson(dir, ['user', 'create', '--username', 'alice', '--email', 'alice@example.test'], { stdin: 'alice password 1\n' });
  await cliJson(dir, ['user', 'create', '--username', 'bob', '--email', 'bob@example.test'], { stdin: 'bob password 12\n' });

  const disabled = await cliJson<UserJson>(dir, ['user', 'disable', 'alice']);
  assert.equal(disabled.disabled, true);
  let list = await cliJson<{ users: UserJson[] }>(dir, ['user', 'list']);
  assert.deepEqual(list.users.map((u) => [u.username, u.disabled]), [['alice', true], ['bob', false]]);
  const human = await runCli(dir, ['user', 'list']);
  assert.match(human.stdout, /^alice +- +alice@example\.test +disabled/m);
  assert.match(human.stdout, /^bob +- +bob@example\.test +enabled/m);
  assert.ok(!human.stdout.includes('scrypt') && !JSON.stringify(list).includes('scrypt'), 'no password hash is printed');

  const enabled = await runCli(dir, ['user', 'enable', 'alice']);
  assert.equal(enabled.code, 0);
  assert.match(enabled.stdout, /Enabled user alice/);
  list = await cliJson<{ users: UserJson[] }>(dir, ['user', 'list']);
  assert.deepEqual(list.users.map((u) => [u.username, u.disabled]), [['alice', false], ['bob', false]]);

  assertFailure(await runCli(dir, ['user', 'disable', 'nobody']), /no user nobody/);
  assertFailure(await runCli(dir, ['user', 'disable']), /user disable: missing <username>/);
});

const PASSWORD = { stdin: 'long enough password\n' };

test('user create takes the profile names and --email-verified; names not given stay unset, a full name is never split', async (t) => {
  const dir = await dataDir(t);
  const alice = await cliJson<UserJson>(dir, ['user', 'create', '--username', 'alice', '--email', 'alice@example.test', '--name', 'Alice Liddell'], PASSWORD);
  assert.deepEqual([alice.name, alice.given_name, alice.family_name, alice.email_verified], ['Alice Liddell', null, null, false]);
  const bob = await cliJson<UserJson>(dir, ['user', 'create', '--username', 'bob', '--email', 'bob@example.test', '--name', '  Robert Nesta Marley ',
    '--given-name', 'Robert', '--family-name', 'Marley', '--email-verified'], PASSWORD);
  assert.deepEqual([bob.name, bob.given_name, bob.family_name, bob.email_verified], ['Robert Nesta Marley', 'Robert', 'Marley', true], 'names are trimmed');
  const carol = await cliJson<UserJson>(dir, ['user', 'create', '--username', 'carol', '--email', 'carol@example.test'], PASSWORD);
  assert.deepEqual([carol.name, carol.given_name, carol.family_name, carol.email_verified], [null, null, null, false]);

  const list = await cliJson<{ users: UserJson[] }>(dir, ['user', 'list']);
  assert.deepEqual(list.users.map((u) => [u.username, u.name, u.given_name, u.family_name, u.email_verified]), [
    ['alice', 'Alice Liddell', null, null, false], ['bob', 'Robert Nesta Marley', 'Robert', 'Marley', true], ['carol', null, null, null, false],
  ]);
  const human = await runCli(dir, ['user', 'list']);
  assert.match(human.stdout, /^USERNAME +NAME +EMAIL +STATUS +CREATED$/m);
  assert.match(human.stdout, /^alice +Alice Liddell +alice@example\.test +enabled/m);
  assert.match(human.stdout, /^bob +Robert Nesta Marley +bob@example\.test +enabled/m);
  assert.match(human.stdout, /^carol +- +carol@example\.test +enabled/m);
});

test('user create refuses names that are too long or hold control characters, and creates nobody', async (t) => {
  const dir = await dataDir(t);
  const create = (...flags: string[]) => runCli(dir, ['user', 'create', '--username', 'dave', '--email', 'dave@example.test', ...flags], PASSWORD);
  assertFailure(await create('--name', 'x'.repeat(201)), /name must be 1-200 characters/);
  assertFailure(await create('--given-name', 'Da\u0007ve'), /given name must not contain control characters/);
  assertFailure(await create('--family-name', 'Smith\nroot'), /family name must not contain control characters/);
  assertFailure(await create('--name', '   '), /--name must not be empty/);
  assertFailure(await create('--email-verified=yes'), /--email-verified does not take a value/);
  assert.deepEqual((await cliJson<{ users: UserJson[] }>(dir, ['user', 'list'])).users, []);
  // 200 characters is the limit, counted as characters: 200 outside the BMP fit too.
  const long = await cliJson<UserJson>(dir, ['user', 'create', '--username', 'dave', '--email', 'dave@example.test', '--name', '𝒟'.repeat(200)], PASSWORD);
  assert.equal(long.name, '𝒟'.repeat(200));
});

test('user update changes only what is given; a new email is unverified unless --email-verified comes with it', async (t) => {
  const dir = await dataDir(t);
  const created = await cliJson<UserJson>(dir, ['user', 'create', '--username', 'alice', '--email', 'alice@example.test', '--email-verified'], PASSWORD);
  assert.equal(created.email_verified, true);

  const named = await cliJson<UserJson>(dir, ['user', 'update', 'alice', '--given-name', 'Alice', '--family-name', 'Liddell']);
  assert.deepEqual([named.name, named.given_name, named.family_name, named.email, named.email_verified],
    [null, 'Alice', 'Liddell', 'alice@example.test', true], 'no full name is made up from the parts; the email stays verified');
  assert.ok(Date.parse(named.updated_at) >= Date.parse(created.updated_at));
  assert.equal(named.created_at, created.created_at);

  const full = await runCli(dir, ['user', 'update', 'alice', '--name', 'Alice Pleasance Liddell']);
  assert.equal(full.code, 0, full.stderr);
  assert.equal(full.stdout, 'Updated user alice: Alice Pleasance Liddell <alice@example.test>\n');

  const same = await cliJson<UserJson>(dir, ['user', 'update', 'alice', '--email', 'alice@example.test']);
  assert.equal(same.email_verified, true, 'the same address is no new address');
  const moved = await runCli(dir, ['user', 'update', 'alice', '--email', 'alice@new.example.test']);
  assert.equal(moved.code, 0, moved.stderr);
  assert.equal(moved.stdout, 'Updated user alice: Alice Pleasance Liddell <alice@new.example.test> (unverified)\n');
  assert.equal((await cliJson<UserJson>(dir, ['user', 'update', 'alice', '--email-verified'])).email_verified, true);
  const vouched = await cliJson<UserJson>(dir, ['user', 'update', 'alice', '--email', 'alice@newer.example.test', '--email-verified']);
  assert.deepEqual([vouched.email, vouched.email_verified], ['alice@newer.example.test', true]);
  assert.equal((await cliJson<UserJson>(dir, ['user', 'update', 'alice', '--email-unverified'])).email_verified, false);

  const [listed] = (await cliJson<{ users: UserJson[] }>(dir, ['user', 'list'])).users;
  assert.deepEqual(listed && [listed.name, listed.given_name, listed.family_name, listed.email, listed.email_verified],
    ['Alice Pleasance Liddell', 'Alice', 'Liddell', 'alice@newer.example.test', false]);

  // --env: the user of another environment, found there only.
  await cliJson<EnvironmentJson>(dir, ['env', 'create', '--name', 'branch']);
  await cliJson(dir, ['user', 'create', '--username', 'bob', '--email', 'bob@example.test', '--env', 'branch'], PASSWORD);
  assertFailure(await runCli(dir, ['user', 'update', 'bob', '--name', 'Bob']), /no user bob/);
  assert.equal((await cliJson<UserJson>(dir, ['user', 'update', 'bob', '--name', 'Bob', '--env', 'branch'])).name, 'Bob');
});

test('user update fails cleanly: nothing to change, contradicting flags, unknown user, taken or malformed email, bad names', async (t) => {
  const dir = await dataDir(t);
  const alice = await cliJson<UserJson>(dir, ['user', 'create', '--username', 'alice', '--email', 'alice@example.test', '--name', 'Alice'], PASSWORD);
  await cliJson(dir, ['user', 'create', '--username', 'bob', '--email', 'bob@example.test'], PASSWORD);
  assertFailure(await runCli(dir, ['user', 'update', 'alice']), /user update: nothing to change \(give --name, .*\) \(see `device-code-server user update --help`\)/);
  assertFailure(await runCli(dir, ['user', 'update', 'alice', '--email-verified', '--email-unverified']), /--email-verified and --email-unverified contradict/);
  assertFailure(await runCli(dir, ['user', 'update', '--name', 'Alice']), /user update: missing <username>/);
  assertFailure(await runCli(dir, ['user', 'update', 'ghost', '--name', 'Ghost']), /no user ghost/);
  assertFailure(await runCli(dir, ['user', 'update', 'alice', '--email', 'BOB@example.test']), /email already in use/);
  assertFailure(await runCli(dir, ['user', 'update', 'alice', '--email', 'not-an-email']), /email is not an email address/);
  assertFailure(await runCli(dir, ['user', 'update', 'alice', '--family-name', 'L'.repeat(201)]), /family name must be 1-200 characters/);
  assertFailure(await runCli(dir, ['user', 'update', 'alice', '--name', 'Al\tice']), /name must not contain control characters/);
  assertFailure(await runCli(dir, ['user', 'update', 'alice', '--name', '']), /--name must not be empty/);
  assertFailure(await runCli(dir, ['user', 'update', 'alice', '--username', 'alicia']), /unknown option --username/);
  assertFailure(await runCli(dir, ['user', 'update', 'alice', '--name', 'A', '--env', 'nowhere']), /no environment nowhere/);
  const r = await runCli(dir, ['user', 'update', 'alice', '--json']);
  assert.equal(r.code, 1);
  assert.equal((JSON.parse(r.stdout) as { error: string }).error, 'usage');

  const [after] = (await cliJson<{ users: UserJson[] }>(dir, ['user', 'list'])).users;
  assert.deepEqual(after, alice, 'no failed update changed anything');

  const help = await runCli(dir, ['user', 'update', '--help']);
  assert.equal(help.code, 0);
  for (const flag of ['<username>', '--name <full name>', '--given-name <given name>', '--family-name <family name>', '--email <email>',
    '--email-verified', '--email-unverified', '--env <id|name>', '--json']) assert.ok(help.stdout.includes(flag), `help names ${flag}`);
});

test('Admin.updateUser: null clears a name; an update that changes nothing is refused', async (t) => {
  const dir = await dataDir(t);
  await cliJson(dir, ['user', 'create', '--username', 'alice', '--email', 'alice@example.test', '--name', 'Alice Liddell', '--given-name', 'Alice'],
    PASSWORD);
  const services = await openServices(loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent' }));
  try {
    const envId = services.defaultEnv.id;
    const cleared = await services.admin.users.update(envId, 'alice', { name: null, familyName: 'Liddell' });
    assert.deepEqual([cleared.name, cleared.givenName, cleared.familyName], [null, 'Alice', 'Liddell']);
    await assert.rejects(services.admin.users.update(envId, 'alice', {}), /nothing to change/);
    await assert.rejects(services.admin.users.update(envId, 'alice', { name: undefined }), /nothing to change/);
    assert.deepEqual(await services.admin.users.getByUsername(envId, 'alice'), cleared);
  } finally {
    await services.close();
  }
});
