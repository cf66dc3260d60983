// A schema as an older version of the server left it: one dialect's migrations up to a version,
// written to a directory of their own, so a test can fill a database at that version and then
// upgrade it with the real migrations (the path every existing deployment takes).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';
import type { User } from '../../src/model/records.ts';
import { listMigrations, migrationsDir, type Dialect } from '../../src/store/migrations.ts';
import { StoreConflictError, type Store } from '../../src/store/store.ts';
import { tempDir } from './build.ts';

/** A migrations directory holding `dialect`'s migrations numbered `version` or lower. */
export function migrationsUpTo(t: TestContext, dialect: Dialect, version: number): string {
  const dir = tempDir(t);
  const kept = listMigrations(migrationsDir(dialect)).filter((m) => m.version <= version);
  if (kept.at(-1)?.version !== version) throw new Error(`no ${dialect} migration numbered ${version}`);
  for (const m of kept) writeFileSync(path.join(dir, `${String(m.version).padStart(3, '0')}_${m.name}.sql`), m.sql);
  return dir;
}

/** The versions after `version`, as the real directory lists them: what an upgrade from `version` applies. */
export function migrationsAfter(dialect: Dialect, version: number): number[] {
  return listMigrations(migrationsDir(dialect)).map((m) => m.version).filter((v) => v > version);
}

/** What a store upgraded from 012 (one environment, one user alice) holds and allows: shared by both dialects' tests. */
export async function upgradedFrom012(store: Store, envId: string, userId: string, now: number): Promise<void> {
  assert.equal((await store.environments.get(envId))?.passwordSignIn, true);
  // Migration 015 leaves every environment that exists without branding (the product's own page).
  assert.deepEqual((await store.environments.get(envId))?.branding, { displayName: null, logoUrl: null, primaryColor: null, supportUrl: null });
  const alice = await store.users.get(envId, userId);
  assert.deepEqual([alice?.username, alice?.idpIssuer, alice?.idpSubject], ['alice', null, null]);
  assert.equal((await store.users.getByEmail(envId, 'alice@example.test'))?.id, userId, 'found by email as before');
  assert.deepEqual(await store.identityProviders.list(envId), []);
  const person = (o: Partial<User>): User => ({
    id: randomUUID(), envId, username: `u-${randomUUID()}`, email: 'alice@example.test', passwordHash: '', disabled: false, name: null,
    givenName: null, familyName: null, emailVerified: false, createdAt: now, updatedAt: now, idpIssuer: null, idpSubject: null, ...o,
  });
  // The email index was rebuilt for password users only, and the identity index is in place.
  await assert.rejects(store.users.create(person({ passwordHash: 'scrypt$y' })), StoreConflictError);
  await store.users.create(person({ idpIssuer: 'https://okta.example.test', idpSubject: 'alice' }));
  await store.users.create(person({ idpIssuer: 'https://login.microsoftonline.example.test/t/v2.0', idpSubject: 'alice' }));
  await assert.rejects(store.users.create(person({ idpIssuer: 'https://okta.example.test', idpSubject: 'alice' })), StoreConflictError);
}
