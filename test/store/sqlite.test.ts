// The store contract on SQLite: a real file in a temp directory per test, and for the races
// several connections (one SqliteStore each) on that one file.
import path from 'node:path';
import type { TestContext } from 'node:test';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { tempDir } from '../helpers/build.ts';
import { storeContract } from './contract/index.ts';
import { NOW } from './contract/fixtures.ts';

storeContract((t: TestContext, count = 1) => {
  const file = path.join(tempDir(t), 'store.db');
  const stores = Array.from({ length: count }, () => new SqliteStore({ file, now: NOW }));
  t.after(async () => { for (const s of stores) await s.close(); });
  return Promise.resolve(stores);
});
