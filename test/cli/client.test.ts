import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { openServices } from '../../src/services.ts';
import { tempDir } from '../helpers/build.ts';
import { assertFailure, cliJson, runCli, type ClientJson } from './run.ts';

test('client create --json: a public client has a client_id and no secret', async (t) => {
  const dir = tempDir(t);
  const c = await cliJson<ClientJson>(dir, ['client', 'create', '--name', 'Living room TV']);
  assert.match(c.client_id, /^[0-9a-f-]{36}$/);
  assert.equal(c.type, 'public');
  assert.equal(c.name, 'Living room TV');
  assert.equal(c.scope, 'openid profile email');
  assert.ok(!('client_secret' in c), 'no client_secret for a public client');
  assert.ok(!('secret_hash' in c) && !('secretHash' in c));
});

test('client create --confidential --json: the secret is printed once, works, and is stored only as a hash', async (t) => {
  const dir = tempDir(t);
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
  const dir = tempDir(t);
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
  const dir = tempDir(t);
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
  const dir = tempDir(t);
  assertFailure(await runCli(dir, ['client', 'create', '--name', 'X', '--code-lifetime', '99999']), /code lifetime must be an integer from 1 to 3600/);
  assertFailure(await runCli(dir, ['client', 'create', '--name', 'X', '--poll-interval', 'soon']), /--poll-interval must be a whole number/);
  assertFailure(await runCli(dir, ['client', 'create', '--name']), /--name needs a value/);
  const list = await cliJson<{ clients: ClientJson[] }>(dir, ['client', 'list']);
  assert.deepEqual(list.clients, []);
});
