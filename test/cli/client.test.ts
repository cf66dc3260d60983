import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { openServices } from '../../src/services.ts';
import { assertFailure, cliJson, dataDir, runCli, type ClientJson } from './run.ts';

test('client create --json: a public client has a client_id and no secret', async (t) => {
  const dir = await dataDir(t);
  const c = await cliJson<ClientJson>(dir, ['client', 'create', '--name', 'Living room TV']);
  assert.match(c.client_id, /^[0-9a-f-]{36}$/);
  assert.equal(c.type, 'public');
  assert.equal(c.name, 'Living room TV');
  assert.equal(c.scope, 'openid profile email');
  assert.ok(!('client_secret' in c), 'no client_secret for a public client');
  assert.ok(!('secret_hash' in c) && !('secretHash' in c));
});

test('client create --confidential --json: the secret is printed once, works, and is stored only as a hash', async (t) => {
  const dir = await dataDir(t);
  const r = await runCli(dir, ['client', 'create', '--name', 'Backend', '--confidential', '--scope', 'openid api',
    '--code-lifetime', '120', '--poll-interval', '7', '--token-lifetime', '900', '--audience', 'https://api.example', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const c = JSON.parse(r.stdout) as ClientJson;
  assert.equal(c.type, 'confidential');
  assert.equal(typeof c.client_secret, 'string');
  assert.ok((c.client_secret ?? '').length >= 40);
  assert.deepEqual([c.scope, c.code_lifetime, c.poll_interval, c.token_lifetime, c.audience], ['openid api', 120, 7, 900, 'https://api.example']);
  assert.match(r.stderr, /shown only this once/);
  assert.ok(!r.stdout.includes('scrypt$'));

  const services = await openServices(loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent' }));
  try {
    const stored = await services.store.clients.get(services.defaultEnv.id, c.client_id);
    assert.ok(stored?.secretHash);
    assert.match(stored.secretHash, /^hmac-sha256\$[\w-]{43}$/, 'a keyed hash');
    assert.equal(services.secrets.matchesClientSecret(c.client_secret ?? '', stored.secretHash), true);
    assert.equal(stored.secretHash.includes(c.client_secret ?? ''), false);
  } finally {
    await services.close();
  }

  const list = await cliJson<{ clients: ClientJson[] }>(dir, ['client', 'list']);
  assert.equal(list.clients.length, 1);
  assert.ok(!('client_secret' in (list.clients[0] ?? {})), 'list never shows the secret');
});

test('client create (human): prints client_id and client_secret lines', async (t) => {
  const dir = await dataDir(t);
  const r = await runCli(dir, ['client', 'create', '--name', 'Kiosk', '--confidential']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^client_id: +[0-9a-f-]{36}$/m);
  assert.match(r.stdout, /^client_secret: +[\w-]{40,}$/m);
  const pub = await runCli(dir, ['client', 'create', '--name', 'Kiosk 2']);
  assert.match(pub.stdout, /^client_id: +[0-9a-f-]{36}$/m);
  assert.doesNotMatch(pub.stdout, /client_secret/);
  assert.doesNotMatch(pub.stderr, /shown only this once/);
});

test('client list and delete', async (t) => {
  const dir = await dataDir(t);
  const a = await cliJson<ClientJson>(dir, ['client', 'create', '--name', 'A']);
  const b = await cliJson<ClientJson>(dir, ['client', 'create', '--name', 'B', '--confidential']);
  const list = await cliJson<{ clients: ClientJson[] }>(dir, ['client', 'list']);
  assert.deepEqual(list.clients.map((c) => c.client_id).sort(), [a.client_id, b.client_id].sort());

  const human = await runCli(dir, ['client', 'list']);
  assert.equal(human.code, 0);
  assert.match(human.stdout, new RegExp(`^${a.client_id} +public +A`, 'm'));

  assert.deepEqual(await cliJson(dir, ['client', 'delete', a.client_id]), { deleted: true, client_id: a.client_id });
  const after = await cliJson<{ clients: ClientJson[] }>(dir, ['client', 'list']);
  assert.deepEqual(after.clients.map((c) => c.client_id), [b.client_id]);

  assertFailure(await runCli(dir, ['client', 'delete', a.client_id]), /no client/);
});

test('client create rejects bad values with exit 1', async (t) => {
  const dir = await dataDir(t);
  assertFailure(await runCli(dir, ['client', 'create', '--name', 'X', '--code-lifetime', '99999']), /code lifetime must be an integer from 1 to 3600/);
  assertFailure(await runCli(dir, ['client', 'create', '--name', 'X', '--poll-interval', 'soon']), /--poll-interval must be a whole number/);
  assertFailure(await runCli(dir, ['client', 'create', '--name']), /--name needs a value/);
  const list = await cliJson<{ clients: ClientJson[] }>(dir, ['client', 'list']);
  assert.deepEqual(list.clients, []);
});

interface PolicyJson {
  device_policy: { networks: string[] | null; scopes: string | null; same_network: boolean };
}

test('client create takes a device policy: networks (canonical), device scopes and same-network; people see it', async (t) => {
  const dir = await dataDir(t);
  const c = await cliJson<ClientJson & PolicyJson>(dir, ['client', 'create', '--name', 'TV', '--scope', 'openid profile email',
    '--device-networks', '203.0.113.0/24, 2001:DB8:1::/48,198.51.100.7', '--device-scopes', 'openid profile', '--same-network']);
  assert.deepEqual(c.device_policy, { networks: ['203.0.113.0/24', '2001:db8:1::/48', '198.51.100.7/32'], scopes: 'openid profile', same_network: true });
  const plain = await cliJson<ClientJson & PolicyJson>(dir, ['client', 'create', '--name', 'Kiosk']);
  assert.deepEqual(plain.device_policy, { networks: null, scopes: null, same_network: false }, 'none unless given: the environment\'s defaults apply');
  const human = await runCli(dir, ['client', 'create', '--name', 'Box', '--device-networks', '10.0.0.0/8', '--same-network']);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /^device networks: 10\.0\.0\.0\/8$/m);
  assert.match(human.stdout, /^same network: +the approver must be on the device's network$/m);
});

test('client create and update refuse bad networks and scopes with exit 1 and a usage message naming the flag and the value', async (t) => {
  const dir = await dataDir(t);
  const usage = /\(see `device-code-server client create --help`\)$/;
  const created = (r: Awaited<ReturnType<typeof runCli>>, pattern: RegExp) => {
    assertFailure(r, pattern);
    assert.match(r.stderr.trim(), usage);
  };
  created(await runCli(dir, ['client', 'create', '--name', 'X', '--device-networks', '10.1.2.3/8']),
    /client create: --device-networks: "10\.1\.2\.3\/8" has address bits set beyond its \/8 prefix; did you mean 10\.0\.0\.0\/8\?/);
  created(await runCli(dir, ['client', 'create', '--name', 'X', '--device-networks', '10.0.0.0/8,intranet']), /--device-networks: "intranet" is not a network/);
  created(await runCli(dir, ['client', 'create', '--name', 'X', '--device-networks', '10.0.0.0/40']), /--device-networks: "10\.0\.0\.0\/40": the prefix length/);
  created(await runCli(dir, ['client', 'create', '--name', 'X', '--device-networks', ',']), /--device-networks: name at least one network/);
  created(await runCli(dir, ['client', 'create', '--name', 'X', '--device-scopes', 'openid "profile"']), /--device-scopes: ""profile"" is not a scope/);
  // Well-formed, but beyond the client's own scopes: the engine refuses it.
  assertFailure(await runCli(dir, ['client', 'create', '--name', 'X', '--scope', 'openid', '--device-scopes', 'openid email']),
    /device scopes must be among the client's scopes \(openid\); not: email/);
  const c = await cliJson<ClientJson>(dir, ['client', 'create', '--name', 'TV']);
  assertFailure(await runCli(dir, ['client', 'update', c.client_id, '--device-networks', '2001:db8::1/32']),
    /client update: --device-networks: .*did you mean 2001:db8::\/32\?.*\(see `device-code-server client update --help`\)/);
  assertFailure(await runCli(dir, ['client', 'update', c.client_id, '--same-network', '--no-same-network']), /contradict each other/);
  assertFailure(await runCli(dir, ['client', 'update', c.client_id]), /client update: nothing to change/);
  assertFailure(await runCli(dir, ['client', 'update', '--name', 'Y']), /client update: missing <client_id>/);
  assertFailure(await runCli(dir, ['client', 'update', 'no-such-client', '--name', 'Y']), /no client no-such-client in environment default/);
  assertFailure(await runCli(dir, ['client', 'update', c.client_id, '--refresh-idle', '600']), /refresh settings need refresh tokens enabled/);
  assert.deepEqual((await cliJson<{ clients: ClientJson[] }>(dir, ['client', 'list'])).clients.map((x) => x.name), ['TV'], 'nothing was created');
});

test('client update changes lifetimes and the device policy, keeps what is not given, and `default` drops the client\'s own setting', async (t) => {
  const dir = await dataDir(t);
  const c = await cliJson<ClientJson & PolicyJson>(dir, ['client', 'create', '--name', 'TV', '--refresh', '--scope', 'openid profile',
    '--device-scopes', 'openid']);
  const u = await cliJson<ClientJson & PolicyJson & { refresh: { idle_seconds: number; lifetime_seconds: number } }>(dir, [
    'client', 'update', c.client_id, '--code-lifetime', '300', '--poll-interval', '10', '--token-lifetime', '600',
    '--refresh-lifetime', '86400', '--device-networks', '192.0.2.0/24', '--same-network',
  ]);
  assert.deepEqual([u.code_lifetime, u.poll_interval, u.token_lifetime, u.refresh.lifetime_seconds, u.refresh.idle_seconds], [300, 10, 600, 86_400, 86_400],
    'the idle time follows a lifetime that became shorter');
  assert.deepEqual(u.device_policy, { networks: ['192.0.2.0/24'], scopes: 'openid', same_network: true });
  assert.deepEqual([u.name, u.scope, u.client_id, u.type], ['TV', 'openid profile offline_access', c.client_id, 'public'], 'what was not given stays');
  const reset = await cliJson<ClientJson & PolicyJson>(dir, ['client', 'update', c.client_id, '--device-networks', 'default', '--device-scopes', 'default',
    '--no-same-network', '--name', 'Kitchen TV']);
  assert.deepEqual(reset.device_policy, { networks: null, scopes: null, same_network: false });
  assert.equal(reset.name, 'Kitchen TV');
  assert.equal(reset.code_lifetime, 300);
  const human = await runCli(dir, ['client', 'update', c.client_id, '--device-scopes', 'openid profile']);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, new RegExp(`^Updated client "Kitchen TV" \\(${c.client_id}\\) in environment default$`, 'm'));
  assert.match(human.stdout, /^device scopes: +openid profile$/m);
  assertFailure(await runCli(dir, ['client', 'update', c.client_id, '--code-lifetime', '0']), /code lifetime must be an integer from 1 to 3600/);
});

test('--scope with offline_access needs --refresh (the fix is named); client update --refresh turns refresh tokens on', async (t) => {
  const dir = await dataDir(t);
  for (const scope of ['openid offline_access', 'offline_access  profile']) {
    assertFailure(await runCli(dir, ['client', 'create', '--name', 'TV', '--scope', scope]),
      /^device-code-server: client create: --scope has offline_access, which asks for refresh tokens: add --refresh, or leave offline_access out/);
  }
  const withRefresh = await cliJson<ClientJson & { grant_types: string[] }>(dir, ['client', 'create', '--name', 'CLI', '--scope', 'openid offline_access', '--refresh']);
  assert.equal(withRefresh.scope, 'openid offline_access');
  assert.ok(withRefresh.grant_types.includes('refresh_token'));

  const tv = await cliJson<ClientJson & { grant_types: string[] }>(dir, ['client', 'create', '--name', 'TV', '--scope', 'openid profile']);
  assert.deepEqual(tv.grant_types, ['urn:ietf:params:oauth:grant-type:device_code']);
  const on = await cliJson<ClientJson & { grant_types: string[]; refresh: { idle_seconds: number } }>(dir,
    ['client', 'update', tv.client_id, '--refresh', '--refresh-idle', '600']);
  assert.deepEqual(on.grant_types, ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token']);
  assert.equal(on.scope, 'openid profile offline_access');
  assert.equal(on.refresh.idle_seconds, 600);
  assert.deepEqual([on.client_id, on.name], [tv.client_id, 'TV'], 'the same client');
  const again = await cliJson<ClientJson & { grant_types: string[] }>(dir, ['client', 'update', tv.client_id, '--refresh']);
  assert.deepEqual([again.grant_types.length, again.scope], [2, 'openid profile offline_access'], 'a second --refresh changes nothing');
});
