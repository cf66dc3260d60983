// `serve` and `migrate`: run the server, or bring the database schema up to date and stop.
import { loadConfig } from '../../config.ts';
import { JSON_FLAG, type CommandSpec } from '../args.ts';
import { withServices } from '../session.ts';

export const serveCommand: CommandSpec = {
  path: ['serve'],
  database: 'create',
  summary: 'Run the HTTP server (the default command) until SIGTERM or SIGINT.',
  details: [
    'Configured by environment variables, e.g. PORT (3000), HOST (127.0.0.1), DATA_DIR (./data),',
    'DATABASE_PATH (or DATABASE_URL for PostgreSQL), PUBLIC_URL, LOG_LEVEL (info), SERVER_SECRET_FILE, TRUST_PROXY.',
  ].join('\n'),
  flags: {},
  run: async () => {
    const config = loadConfig();
    // Loaded here, not at the top: the other commands need no HTTP stack.
    const { runServer } = await import('../../server.ts');
    await runServer(config);
    return { serving: true };
  },
};

export const migrateCommand: CommandSpec = {
  path: ['migrate'],
  database: 'create',
  summary: 'Create the database or apply pending schema migrations, then exit.',
  flags: { json: JSON_FLAG },
  run: (args, io) =>
    withServices(args, io, async (services) => {
      if (!(await services.store.isMigrated())) throw new Error('migrations did not apply');
      const database = services.config.databaseLabel;
      return { json: { status: 'ok', database }, text: [`Database ${database}: schema is up to date.`] };
    }),
};
