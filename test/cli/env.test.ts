import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers/build.ts';
import { assertFailure, cliJson, runCli, type ClientJson, type EnvironmentJson, type UserJson } from './run.ts';

test('migrate creates the database and reports it', async (t) => {
  const dir = tempDir(t);
  const out = await cliJson<{ status: string; database: string }>(dir, ['migrate']);
  assert.deepEqual(out, { status: 'ok', database: path.join(dir, 'device-code-server.db') });
  assert.ok(existsSync(out.database));
  const again = await runCli(dir, ['migrate']);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /schema is up to date/);
});

test('env create and list', async (t) => {
  const dir = tempDir(t);
  const staging = await cliJson<EnvironmentJson>(dir, ['env', 'create', '--name', 'staging']);
  assert.equal(staging.name, 'staging');
  assert.match(staging.id, /^[0-9a-f-]{36}$/);
  const list = await cliJson<{ environments: EnvironmentJson[] }>(dir, ['env', 'list']);
  assert.deepEqual(list.environments.map((e) => e.name).sort(), ['default', 'staging']);
  assert.equal(list.environments.find((e) => e.name === 'staging')?.id, staging.id);

  const human = await runCli(dir, ['env', 'list']);
  assert.match(human.stdout, new RegExp(`^${staging.id} +staging`, 'm'));
  assertFailure(await runCli(dir, ['env', 'create', '--name', 'staging']), /an environment named staging exists/);
  assertFailure(await runCli(dir, ['env', 'create', '--name', 'no spaces']), /environment name/);
});

test('--env selects an environment by name or by id; the default one otherwise', async (t) => {
  const dir = tempDir(t);
  const staging = await cliJson<EnvironmentJson>(dir, ['env', 'create', '--name', 'staging']);
  const byName = await cliJson<ClientJson>(dir, ['client', 'create', '--name', 'Staging TV', '--env', 'staging']);
  const byId = await cliJson<ClientJson>(dir, ['client', 'create', '--name', 'Staging kiosk', '--env', staging.id]);
  const inDefault = await cliJson<ClientJson>(dir, ['client', 'create', '--name', 'Default TV']);
  assert.equal(byName.environment_id, staging.id);
  assert.equal(byId.environment_id, staging.id);
  assert.notEqual(inDefault.environment_id, staging.id);

  const stagingClients = await cliJson<{ clients: ClientJson[] }>(dir, ['client', 'list', '--env', staging.id.toUpperCase()]);
  assert.deepEqual(stagingClients.clients.map((c) => c.name).sort(), ['Staging TV', 'Staging kiosk']);
  const defaultClients = await cliJson<{ clients: ClientJson[] }>(dir, ['client', 'list', '--env', 'default']);
  assert.deepEqual(defaultClients.clients.map((c) => c.name), ['Default TV']);

  // A client is deleted only in its own environment.
  assertFailure(await runCli(dir, ['client', 'delete', byName.client_id]), /no client .* in environment default/);
  assert.equal((await cliJson(dir, ['client', 'delete', byName.client_id, '--env', 'staging'])).deleted, true);

  const u = await cliJson<UserJson>(dir, ['user', 'create', '--username', 'alice', '--email', 'a@example.test', '--env', 'staging'], { stdin: 'a long password\n' });
  assert.equal(u.environment_id, staging.id);
  assert.deepEqual((await cliJson<{ users: UserJson[] }>(dir, ['user', 'list'])).users, []);
  assert.equal((await cliJson<{ users: UserJson[] }>(dir, ['user', 'list', '--env', 'staging'])).users.length, 1);

  assertFailure(await runCli(dir, ['client', 'list', '--env', 'production']), /no environment production/);
});

interface DefaultsJson extends EnvironmentJson {
  device_defaults: { networks: string[] | null; scopes: string | null };
}

test('env update sets and lifts the device policy defaults of an environment (--env), refusing bad values', async (t) => {
  const dir = tempDir(t);
  await cliJson<EnvironmentJson>(dir, ['env', 'create', '--name', 'staging']);
  const set = await cliJson<DefaultsJson>(dir, ['env', 'update', '--env', 'staging', '--device-networks', '10.0.0.0/8,2001:db8::/32', '--device-scopes', 'openid']);
  assert.equal(set.name, 'staging');
  assert.deepEqual(set.device_defaults, { networks: ['10.0.0.0/8', '2001:db8::/32'], scopes: 'openid' });
  const listed = await cliJson<{ environments: DefaultsJson[] }>(dir, ['env', 'list']);
  assert.deepEqual(listed.environments.map((e) => [e.name, e.device_defaults]), [
    ['default', { networks: null, scopes: null }], ['staging', { networks: ['10.0.0.0/8', '2001:db8::/32'], scopes: 'openid' }],
  ]);
  const lifted = await runCli(dir, ['env', 'update', '--env', 'staging', '--device-networks', 'any']);
  assert.equal(lifted.code, 0, lifted.stderr);
  assert.match(lifted.stdout, /^device networks: any$/m);
  assert.match(lifted.stdout, /^device scopes: +openid$/m, 'what was not given stays');
  assertFailure(await runCli(dir, ['env', 'update', '--env', 'staging', '--device-networks', '10.0.0.1/8']),
    /env update: --device-networks: .*did you mean 10\.0\.0\.0\/8\?.*\(see `device-code-server env update --help`\)/);
  assertFailure(await runCli(dir, ['env', 'update', '--device-scopes', 'openid\tprofile']), /env update: --device-scopes: .* is not a scope/);
  assertFailure(await runCli(dir, ['env', 'update', '--env', 'staging']), /env update: nothing to change/);
  assertFailure(await runCli(dir, ['env', 'update', '--env', 'nowhere', '--device-scopes', 'openid']), /no environment nowhere/);
});
