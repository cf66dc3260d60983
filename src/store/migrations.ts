// Numbered SQL migrations, one folder per dialect (migrations/sqlite/, migrations/postgres/): the
// same numbers in both, so a version means the same schema whichever store holds it.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type Dialect = 'sqlite' | 'postgres';

export const migrationsDir = (dialect: Dialect): string => fileURLToPath(new URL(`../../migrations/${dialect}/`, import.meta.url));

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The folder's NNN_name.sql files in order; two files with one number are refused. */
export function listMigrations(dir: string): Migration[] {
  const migrations = readdirSync(dir)
    .map((file) => /^(\d+)_([\w-]+)\.sql$/.exec(file))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ version: Number(m[1]), name: m[2] ?? '', sql: readFileSync(`${dir}/${m[0]}`, 'utf8') }))
    .sort((a, b) => a.version - b.version);
  const twice = migrations.find((m, i) => migrations[i + 1]?.version === m.version);
  if (twice) throw new Error(`two migrations are numbered ${twice.version} in ${dir}`);
  return migrations;
}
