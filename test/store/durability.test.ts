// SQLITE_SYNCHRONOUS (README "Durability"): normal by default, full when asked, nothing else.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { build, tempDir } from '../helpers/build.ts';

async function synchronousOf(t: Parameters<typeof build>[0], env: Record<string, string>): Promise<string> {
  const h = await build(t, { env });
  assert.ok(h.services.store instanceof SqliteStore);
  return h.services.store.synchronous;
}

test('the server\'s connection runs synchronous=NORMAL by default and FULL with SQLITE_SYNCHRONOUS=full', async (t) => {
  assert.equal(await synchronousOf(t, {}), 'normal');
  assert.equal(await synchronousOf(t, { SQLITE_SYNCHRONOUS: 'full' }), 'full');
  assert.equal(await synchronousOf(t, { SQLITE_SYNCHRONOUS: 'normal' }), 'normal');
});

test('SQLITE_SYNCHRONOUS takes normal or full only', (t) => {
  for (const value of ['off', 'FULL ', 'extra', '2']) {
    assert.throws(() => loadConfig({ DATA_DIR: tempDir(t), SQLITE_SYNCHRONOUS: value }), /SQLITE_SYNCHRONOUS/, value);
  }
});
