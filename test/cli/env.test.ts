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

interface BrandingJson extends EnvironmentJson {
  branding: { display_name: string | null; logo_url: string | null; primary_color: string | null; support_url: string | null };
}

test('env update <env> sets, keeps and clears the page\'s branding; env show and env list --json show it; bad values change nothing', async (t) => {
  const dir = tempDir(t);
  const staging = await cliJson<EnvironmentJson>(dir, ['env', 'create', '--name', 'staging']);
  const none = { display_name: null, logo_url: null, primary_color: null, support_url: null };
  assert.deepEqual((await cliJson<BrandingJson>(dir, ['env', 'show', 'staging'])).branding, none);

  const set = await runCli(dir, ['env', 'update', 'staging', '--display-name', '  Acme Corp · 東京  ', '--logo-url', 'https://cdn.acme.example/logo.svg',
    '--primary-color', '#0A7CFF', '--support-url', 'https://help.acme.example/device']);
  assert.equal(set.code, 0, set.stderr);
  assert.match(set.stdout, /^display name: +Acme Corp · 東京$/m);
  assert.match(set.stdout, /^logo URL: +https:\/\/cdn\.acme\.example\/logo\.svg$/m);
  assert.match(set.stdout, /^primary colour: +#0a7cff$/m);
  assert.match(set.stdout, /^support URL: +https:\/\/help\.acme\.example\/device$/m);
  const full = { display_name: 'Acme Corp · 東京', logo_url: 'https://cdn.acme.example/logo.svg', primary_color: '#0a7cff', support_url: 'https://help.acme.example/device' };
  // By name, by id, as the argument or with --env: the same environment.
  assert.deepEqual((await cliJson<BrandingJson>(dir, ['env', 'show', staging.id])).branding, full);
  assert.deepEqual((await cliJson<BrandingJson>(dir, ['env', 'show', '--env', 'staging'])).branding, full);
  const listed = await cliJson<{ environments: BrandingJson[] }>(dir, ['env', 'list']);
  assert.deepEqual(listed.environments.map((e) => [e.name, e.branding]), [['default', none], ['staging', full]]);
  const shown = await runCli(dir, ['env', 'show', 'staging']);
  assert.match(shown.stdout, /^Environment staging$/m);
  assert.match(shown.stdout, /^display name: +Acme Corp · 東京$/m);

  // One flag changes one value; "" clears it; http is fine on loopback; #rgb is kept as given (lowercase).
  const one = await cliJson<BrandingJson>(dir, ['env', 'update', '--env', 'staging', '--logo-url', '', '--primary-color', '#FA0',
    '--support-url', 'http://127.0.0.1:8080/help']);
  assert.deepEqual(one.branding, { ...full, logo_url: null, primary_color: '#fa0', support_url: 'http://127.0.0.1:8080/help' });
  const cleared = await cliJson<BrandingJson>(dir, ['env', 'update', 'staging', '--display-name', '', '--primary-color', '', '--support-url', '']);
  assert.deepEqual(cleared.branding, none);
  assert.deepEqual((await cliJson<BrandingJson>(dir, ['env', 'show'])).branding, none, 'the default environment was never touched');

  await cliJson(dir, ['env', 'update', 'staging', '--display-name', 'Acme']);
  const refused: [string[], RegExp][] = [
    [['--display-name', 'x'.repeat(101)], /device-code-server: display name: 1-100 characters without control characters/],
    [['--display-name', 'Acme\u0007Corp'], /display name: 1-100 characters without control characters/],
    [['--logo-url', 'http://cdn.acme.example/logo.png'], /logo URL: http:\/\/cdn\.acme\.example is plain http to another machine; use https/],
    [['--logo-url', '/logo.png'], /logo URL: "\/logo\.png" is not an absolute URL/],
    [['--logo-url', 'ftp://cdn.acme.example/logo.png'], /logo URL: must be an https URL, got ftp:/],
    [['--logo-url', 'https://user:pw@cdn.acme.example/logo.png'], /logo URL: must not contain credentials/],
    [['--logo-url', "https://cdn;'unsafe-inline'.example/x.png"], /logo URL: the host .* must be a name or IPv4 address/],
    [['--support-url', 'javascript:alert(1)'], /support URL: must be an https URL, got javascript:/],
    [['--primary-color', 'blue'], /primary colour: #rgb or #rrggbb \(hex digits\), got "blue"/],
    [['--primary-color', '#12345'], /primary colour: #rgb or #rrggbb/],
    // A bad value among good ones: nothing is changed.
    [['--display-name', 'Other', '--device-scopes', 'openid', '--primary-color', '#ggg'], /primary colour/],
  ];
  for (const [flags, message] of refused) assertFailure(await runCli(dir, ['env', 'update', 'staging', ...flags]), message);
  const after = await cliJson<BrandingJson & { device_defaults: { scopes: string | null } }>(dir, ['env', 'show', 'staging']);
  assert.deepEqual([after.branding, after.device_defaults.scopes], [{ ...none, display_name: 'Acme' }, null]);
  assertFailure(await runCli(dir, ['env', 'update', 'staging', '--env', 'default', '--display-name', 'X']), /env update: name the environment once/);
  assertFailure(await runCli(dir, ['env', 'show', 'nowhere']), /no environment nowhere/);

  const events = await cliJson<{ events: { details: Record<string, unknown> }[] }>(dir, ['audit', 'list', '--type', 'admin.changed', '--env', 'staging']);
  assert.deepEqual(events.events.filter((e) => e.details.branding !== undefined).at(0)?.details,
    { action: 'environment.updated', branding: full });
});
