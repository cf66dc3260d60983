// The data directory is 0700 and every file holding data or the secret is 0600, whatever the umask
// (SQLite alone would make the database 0644 and its -wal and -shm after it).
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { openServices } from '../../src/services.ts';
import { cliJson, type ClientJson } from '../cli/run.ts';
import { startServe } from '../cli/serve-process.ts';
import { tempDir } from '../helpers/build.ts';

const DB = 'device-code-server.db';

function modeOf(file: string): string {
  return (statSync(file).mode & 0o777).toString(8).padStart(4, '0');
}

/**
 * `mask` as the umask for the rest of the test. 000: anything not chmodded on purpose comes out
 * world-writable; 377: anything created with a mode (not chmodded after) loses the owner's write bit.
 */
function withUmask(t: TestContext, mask: number): void {
  const old = process.umask(mask);
  t.after(() => process.umask(old));
}

const permissiveUmask = (t: TestContext): void => { withUmask(t, 0o000); };

function assertPrivate(dataDir: string, opts: { dirMode?: string } = {}): void {
  assert.equal(modeOf(dataDir), opts.dirMode ?? '0700', 'the data directory');
  for (const name of [DB, `${DB}-wal`, `${DB}-shm`, 'server-secret']) {
    const file = path.join(dataDir, name);
    assert.ok(existsSync(file), `${name} exists`);
    assert.equal(modeOf(file), '0600', name);
  }
}

for (const mask of [0o000, 0o377]) {
  const umask = mask.toString(8).padStart(3, '0');
  test(`openServices on a new DATA_DIR under umask ${umask}: directory 0700; database, -wal, -shm and secret 0600`, async (t) => {
    withUmask(t, mask);
    const dir = path.join(tempDir(t), 'nested', 'data');
    const services = await openServices(loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent' }));
    try {
      await services.admin.createClient({ envId: services.defaultEnv.id, name: 'TV' }); // a write, so the WAL has frames
      assertPrivate(dir);
      // The parent we had to create is private too.
      assert.equal(modeOf(path.dirname(dir)), '0700');
    } finally {
      await services.close();
    }
  });
}

test('an existing data directory keeps its mode; the files created in it are 0600 anyway', async (t) => {
  permissiveUmask(t);
  const dir = path.join(tempDir(t), 'data');
  mkdirSync(dir);
  chmodSync(dir, 0o750);
  const services = await openServices(loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent' }));
  try {
    await services.admin.users.create({ envId: services.defaultEnv.id, username: 'alice', email: 'alice@example.test', password: 'correct horse battery' });
    assertPrivate(dir, { dirMode: '0750' });
  } finally {
    await services.close();
  }
});

test('leftover -wal and -shm follow the database file\'s mode on the next open', async (t) => {
  const dir = tempDir(t);
  const config = loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent' });
  const first = await openServices(config);
  await first.admin.createClient({ envId: first.defaultEnv.id, name: 'TV' });
  // A second connection keeps the WAL from being deleted when the first closes.
  const holder = await openServices(config);
  await first.close();
  try {
    chmodSync(path.join(dir, `${DB}-wal`), 0o644);
    chmodSync(path.join(dir, `${DB}-shm`), 0o644);
    const again = await openServices(config);
    try {
      assertPrivate(dir);
    } finally {
      await again.close();
    }
  } finally {
    await holder.close();
  }
});

test('through the CLI and a running server under umask 000: the same modes', async (t) => {
  permissiveUmask(t);
  const dir = path.join(tempDir(t), 'data');
  const server = await startServe(t, dir);
  const client = await cliJson<ClientJson>(dir, ['client', 'create', '--name', 'TV']);
  const res = await fetch(`${server.url}/oauth/device_authorization`, { method: 'POST', body: new URLSearchParams({ client_id: client.client_id }) });
  assert.equal(res.status, 200, await res.text());
  // The server holds the database open, so its -wal and -shm are there to check.
  assertPrivate(dir);
  assert.equal(await server.stop(), 0);
});
