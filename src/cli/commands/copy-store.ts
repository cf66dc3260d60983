// `copy-store --from <sqlite file> --to <postgres url>`: moves a deployment from one machine to
// several. Every row of every table, codes still hashed, in one PostgreSQL transaction;
// a target that already holds records is refused, so nothing is ever merged or overwritten.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { postgresUrl, redactDatabaseUrl } from '../../config.ts';
import { InputError, JSON_FLAG, UsageError, type CommandSpec } from '../args.ts';
import { safe, table } from '../output.ts';

export const copyStoreCommand: CommandSpec = {
  path: ['copy-store'],
  database: 'none',
  summary: 'Copy every record of a SQLite database into a new, empty PostgreSQL database.',
  details: [
    'For moving up to several instances: clients, users, keys, grants, refresh tokens, live codes and',
    'flows are copied as stored (codes stay hashed, private keys stay encrypted), in one transaction.',
    'The target gets the schema first; a target that already holds any record is refused.',
    'Run every instance on the copy with the server secret of the SQLite deployment (SERVER_SECRET_FILE,',
    'or the DATA_DIR/server-secret file): without it the copied codes and signing keys are unusable.',
    'Stop the old server first, or records it writes after the copy began stay behind.',
  ].join('\n'),
  flags: {
    from: { type: 'string', placeholder: 'sqlite file', required: true, description: 'The SQLite database (DATABASE_PATH of the old deployment)' },
    to: { type: 'string', placeholder: 'postgres url', required: true, description: 'postgres://user:password@host:port/database of the new one' },
    json: JSON_FLAG,
  },
  run: async (args) => {
    const from = path.resolve(args.string('from') ?? '');
    const parsed = postgresUrl.safeParse(args.string('to'));
    if (!parsed.success) throw new UsageError('copy-store: --to must be a postgres:// or postgresql:// URL', 'copy-store');
    const url = parsed.data;
    const label = redactDatabaseUrl(url);
    if (!existsSync(from)) throw new InputError(`no SQLite database at ${from}`);
    // Loaded here: the other commands never load pg.
    const { PostgresStore } = await import('../../store/postgres/postgres-store.ts');
    const { connectionFailure } = await import('../../store/postgres/db.ts');
    const { copySqliteToPostgres, CopyRefusedError } = await import('../../store/postgres/copy-from-sqlite.ts');
    let counts: Record<string, number>;
    try {
      const target = await PostgresStore.open({ url, poolSize: 1, now: Date.now() });
      try {
        counts = await copySqliteToPostgres(from, target.db, label);
      } finally {
        await target.close();
      }
    } catch (err) {
      if (err instanceof CopyRefusedError) throw new InputError(err.message);
      const failure = connectionFailure(err);
      if (failure !== undefined) throw new InputError(`cannot connect to ${label}: ${failure}`);
      throw err;
    }
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    return {
      json: { from, to: label, tables: counts, total },
      text: [
        `Copied ${total} records from ${safe(from)} to ${safe(label)}:`,
        ...table(['TABLE', 'ROWS'], Object.entries(counts).map(([t, n]) => [t, String(n)])).map((l) => `  ${l}`),
        'Start the instances with DATABASE_URL and the server secret of the SQLite deployment.',
      ],
    };
  },
};
