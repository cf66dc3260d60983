// `sweep` and `backup <file>`: data care for operators. Both are safe next to a running
// server: the sweep is the server's own periodic one, run once; the backup is SQLite's online copy.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../config.ts';
import { SECRET_FILE_NAME } from '../../crypto/secret.ts';
import { InputError, JSON_FLAG, type CommandSpec } from '../args.ts';
import { safe } from '../output.ts';
import { withServices } from '../session.ts';

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

export const sweepCommand: CommandSpec = {
  path: ['sweep'],
  summary: 'Delete expired rows once (the server does it every SWEEP_INTERVAL_SECONDS).',
  details: [
    'Removes device authorizations an hour after they expired, expired flows and registration codes,',
    'wrong-code records older than a day, retired signing keys past their RETIRED_UNTIL time, ended grants,',
    'and audit events older than AUDIT_RETENTION_DAYS.',
  ].join('\n'),
  flags: { json: JSON_FLAG },
  run: (args, io) =>
    withServices(args, io, async (services) => {
      const now = services.clock.now();
      const r = await services.store.sweep(now, now - services.config.auditRetentionDays * 86_400_000);
      return {
        json: {
          device_authorizations: r.deviceAuthorizations,
          flows: r.flows,
          registration_codes: r.registrationCodes,
          code_guesses: r.codeGuesses,
          signing_keys: r.signingKeys,
          grants: r.grants,
          revoked_access_tokens: r.revokedAccessTokens,
          audit_events: r.auditEvents,
        },
        text: [
          `Swept ${plural(r.deviceAuthorizations, 'device authorization', 'device authorizations')}, ${plural(r.flows, 'flow', 'flows')}, `
          + `${plural(r.registrationCodes, 'registration code', 'registration codes')}, ${plural(r.codeGuesses, 'code guess', 'code guesses')}, `
          + `${plural(r.signingKeys, 'signing key', 'signing keys')}, ${plural(r.grants, 'ended grant', 'ended grants')}, `
          + `${plural(r.revokedAccessTokens, 'revoked access token', 'revoked access tokens')}, `
          + `${plural(r.auditEvents, 'audit event', 'audit events')} past their retention.`,
        ],
      };
    }),
};

/** Why a backup file could not be made, in the user's terms. */
function backupFailure(err: unknown, file: string): Error {
  const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
  if (code === 'EEXIST') return new InputError(`${file} exists; a backup never overwrites a file (choose another name)`);
  if (code === 'ENOENT' || code === 'EACCES' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'EROFS') {
    return new InputError(`cannot create ${file} (${code})`);
  }
  return err instanceof Error ? err : new Error(String(err));
}

export const backupCommand: CommandSpec = {
  path: ['backup'],
  summary: 'Copy the database into a new file, consistently, even while the server runs and writes.',
  details: [
    'Uses SQLite\'s online backup API; the file is created with mode 0600 and never overwritten.',
    'Keep the server secret (DATA_DIR/server-secret, or SERVER_SECRET[_FILE]) with the backup: without',
    'it the backup\'s codes and signing keys are unusable. To restore, stop the server, put the file at',
    'DATABASE_PATH and the secret in place, and start it.',
  ].join('\n'),
  positional: { name: 'file' },
  flags: { json: JSON_FLAG },
  run: async (args, io) => {
    const file = path.resolve(args.requiredPositional());
    const config = loadConfig();
    if (config.databaseUrl !== undefined) {
      throw new InputError(`backup copies the SQLite file, and this configuration uses PostgreSQL (DATABASE_URL=${config.databaseLabel}): `
        + 'back it up with pg_dump (e.g. pg_dump --format=custom --file=dcs.dump "$DATABASE_URL"), and keep the server secret with it');
    }
    // Opening a missing database creates one (and a secret): a wrong DATA_DIR would back up nothing.
    if (!existsSync(config.databasePath)) throw new InputError(`no database at ${config.databasePath} (check DATA_DIR or DATABASE_PATH)`);
    return withServices(args, io, async (services) => {
      const { store } = services;
      if (store.backup === undefined) throw new InputError('this store has no online backup; use the database\'s own tools (PostgreSQL: pg_dump)');
      try {
        await store.backup(file);
      } catch (err) {
        throw backupFailure(err, file);
      }
      const bytes = statSync(file).size;
      const secret = services.config.serverSecret === undefined ? path.join(services.config.dataDir, SECRET_FILE_NAME) : null;
      return {
        json: { file, database: services.config.databasePath, bytes, server_secret: secret },
        text: [
          `Backed up ${safe(services.config.databasePath)} to ${safe(file)} (${bytes} bytes, mode 0600).`,
          `Keep the server secret with it (${secret === null ? 'SERVER_SECRET or SERVER_SECRET_FILE' : safe(secret)}): without it the backup's codes and keys are unusable.`,
        ],
      };
    });
  },
};
