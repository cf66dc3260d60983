// A schema as an older version of the server left it: one dialect's migrations up to a version,
// written to a directory of their own, so a test can fill a database at that version and then
// upgrade it with the real migrations (the path every existing deployment takes).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { listMigrations, migrationsDir, type Dialect } from '../../src/store/migrations.ts';
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
