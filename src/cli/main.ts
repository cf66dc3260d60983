// `device-code-server [command]`: picks the command, runs it, prints its outcome, and turns every
// failure into one line on stderr and an exit status (0 ok, 1 usage or input error, 2 internal error).
import { ConfigError } from '../config.ts';
import { isCoreError } from '../core/errors.ts';
import {
  commandHelp, EXIT_STATUS_HELP, firstLine, INIT_FLAG, InputError, parseCommandArgs, PROGRAM, takeInitFlag, UsageError, wantsHelp, type CommandSpec,
} from './args.ts';
import { adminKeyCreate, adminKeyList, adminKeyRevoke } from './commands/admin-key.ts';
import { appAdd, appList } from './commands/app.ts';
import { auditList } from './commands/audit.ts';
import { clientCreate, clientDelete, clientList, clientUpdate } from './commands/client.ts';
import { copyStoreCommand } from './commands/copy-store.ts';
import { approveCommand, denyCommand } from './commands/decide.ts';
import { envCreate, envList, envShow, envUpdate } from './commands/env.ts';
import { grantsList, grantsRevoke } from './commands/grants.ts';
import { idpAdd, idpList, idpRemove } from './commands/idp.ts';
import { loginCommand } from './commands/login.ts';
import { keysList, keysRotate } from './commands/keys.ts';
import { backupCommand, sweepCommand } from './commands/maintenance.ts';
import { migrateCommand, serveCommand } from './commands/server.ts';
import { sessionTokenCommand } from './commands/session-token.ts';
import { userCreate, userDisable, userEnable, userList, userUpdate } from './commands/user.ts';
import { processIo, type Io } from './io.ts';

interface Group {
  name: string;
  summary: string;
  commands: readonly CommandSpec[];
}

const single = (spec: CommandSpec): Group => ({ name: spec.path.join(' '), summary: spec.summary, commands: [spec] });

const groups: readonly Group[] = [
  single(serveCommand),
  single(migrateCommand),
  { name: 'env', summary: 'Create, update, show and list environments.', commands: [envCreate, envUpdate, envShow, envList] },
  { name: 'idp', summary: 'Add, list and remove the identity providers people may sign in with.', commands: [idpAdd, idpList, idpRemove] },
  { name: 'client', summary: 'Create, update, list and delete OAuth clients.', commands: [clientCreate, clientUpdate, clientList, clientDelete] },
  { name: 'user', summary: 'Create, update, disable, enable and list users.', commands: [userCreate, userUpdate, userDisable, userEnable, userList] },
  single(approveCommand),
  single(denyCommand),
  single(sessionTokenCommand),
  single(loginCommand),
  { name: 'admin-key', summary: 'Create, list and revoke RSA-style admin API keys.', commands: [adminKeyCreate, adminKeyList, adminKeyRevoke] },
  { name: 'app', summary: 'Add and list the authenticator apps devices register with.', commands: [appAdd, appList] },
  { name: 'grants', summary: 'List and end the devices and sessions a user is signed in on.', commands: [grantsList, grantsRevoke] },
  { name: 'keys', summary: 'Rotate and list the token-signing keys of an environment.', commands: [keysRotate, keysList] },
  { name: 'audit', summary: 'Read the audit trail of an environment.', commands: [auditList] },
  single(sweepCommand),
  single(backupCommand),
  single(copyStoreCommand),
];

/** Every command, as typed (`client create`, `session-token`, …). */
export const COMMANDS: readonly string[] = groups.flatMap((g) => g.commands.map((c) => c.path.join(' ')));

const isGroup = (g: Group): boolean => g.commands.length > 1 || (g.commands[0]?.path.length ?? 0) > 1;

function topHelp(): string {
  const rows = groups.flatMap((g) => (isGroup(g) ? g.commands.map((c) => [c.path.join(' '), c.summary]) : [[g.name, g.summary]]));
  const width = Math.max(...rows.map(([n]) => (n ?? '').length)) + 2;
  return [
    `Usage: ${PROGRAM} [command] [options]`,
    '',
    'OAuth 2.0 device authorization server (RFC 8628). Without a command it runs `serve`.',
    '',
    'Commands:',
    ...rows.map(([n, s]) => `  ${(n ?? '').padEnd(width)}${s ?? ''}`),
    '',
    'Commands that work inside an environment (client, user, idp, approve, deny, session-token, admin-key,',
    'app, env update) take --env <id|name>;',
    'commands that print something take --json (exactly one JSON object on stdout).',
    `Commands other than serve, migrate and env create work on an existing database: where there is none they stop,`,
    `saying where they looked, unless given ${INIT_FLAG} (create a new, empty one).`,
    `Run \`${PROGRAM} <command> --help\` for a command's options.`,
    'The database and secrets come from the environment: DATA_DIR (./data), DATABASE_PATH or DATABASE_URL, SERVER_SECRET_FILE.',
    '',
    EXIT_STATUS_HELP,
    '',
  ].join('\n');
}

function groupHelp(group: Group): string {
  const width = Math.max(...group.commands.map((c) => c.path.join(' ').length)) + 2;
  return [
    `Usage: ${PROGRAM} ${group.name} <command> [options]`,
    '',
    group.summary,
    '',
    'Commands:',
    ...group.commands.map((c) => `  ${c.path.join(' ').padEnd(width)}${c.summary}`),
    '',
    `Run \`${PROGRAM} ${group.name} <command> --help\` for its options.`,
    '',
    EXIT_STATUS_HELP,
    '',
  ].join('\n');
}

type Selection = { help: string } | { spec: CommandSpec; words: string[] };

function select(argv: readonly string[]): Selection {
  const [first, ...rest] = argv;
  if (first === undefined) return { spec: serveCommand, words: [] };
  if (first === '--help' || first === '-h' || first === 'help') return { help: topHelp() };
  if (first.startsWith('-')) throw new UsageError(`unknown option ${first} (options go after the command)`);
  const group = groups.find((g) => g.name === first);
  if (!group) throw new UsageError(`unknown command "${first}"`);
  if (!isGroup(group)) {
    const spec = group.commands[0];
    if (!spec) throw new Error(`empty command group ${group.name}`);
    return wantsHelp(rest) ? { help: commandHelp(spec) } : { spec, words: rest };
  }
  const [sub, ...words] = rest;
  const names = group.commands.map((c) => c.path[1]).join(', ');
  if (sub === undefined) throw new UsageError(`${group.name}: missing command (one of: ${names})`, group.name);
  if (sub === '--help' || sub === '-h') return { help: groupHelp(group) };
  const spec = group.commands.find((c) => c.path[1] === sub);
  if (!spec) throw new UsageError(`${group.name}: unknown command "${sub}" (one of: ${names})`, group.name);
  return wantsHelp(words) ? { help: commandHelp(spec) } : { spec, words };
}

interface Failure {
  exit: 1 | 2;
  code: string;
  message: string;
  hint?: string;
}

/** Input errors are the user's to fix (exit 1); anything else is ours (exit 2). Never a stack trace. */
function classify(err: unknown): Failure {
  if (err instanceof UsageError) {
    return { exit: 1, code: 'usage', message: err.message, hint: `see \`${[PROGRAM, err.helpFor, '--help'].filter(Boolean).join(' ')}\`` };
  }
  if (err instanceof InputError) return { exit: 1, code: 'input', message: err.message };
  if (isCoreError(err)) return { exit: 1, code: err.code, message: err.message };
  if (err instanceof ConfigError) return { exit: 1, code: 'config', message: err.message };
  const sys = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
  if (err instanceof Error && (sys === 'EADDRINUSE' || sys === 'EACCES' || sys === 'EADDRNOTAVAIL')) {
    return { exit: 1, code: sys, message: err.message };
  }
  const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return { exit: 2, code: 'internal_error', message: `internal error (${detail})` };
}

/** Runs one invocation and returns its exit status; `serve` resolves once listening and keeps running. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  // A reader that went away (`| head`) is not our failure; anything else on stdout is reported, once.
  io.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') io.stderr.write(`${PROGRAM}: cannot write output (${err.code ?? err.message})\n`);
    process.exitCode = err.code === 'EPIPE' ? process.exitCode : 2;
  });
  const json = argv.slice(0, argv.includes('--') ? argv.indexOf('--') : undefined).includes('--json');
  try {
    // --init is global: taken here, once, for whichever command follows.
    const { argv: words, init } = takeInitFlag(argv);
    const selection = select(words);
    if ('help' in selection) {
      io.stdout.write(selection.help);
      return 0;
    }
    const args = parseCommandArgs(selection.spec, selection.words, init);
    const outcome = await selection.spec.run(args, io);
    if ('serving' in outcome) return 0;
    io.stdout.write(args.bool('json') ? `${JSON.stringify(outcome.json)}\n` : `${outcome.text.join('\n')}\n`);
    return 0;
  } catch (err) {
    const failure = classify(err);
    const message = firstLine(failure.message);
    io.stderr.write(`${PROGRAM}: ${message}${failure.hint === undefined ? '' : ` (${failure.hint})`}\n`);
    if (json) io.stdout.write(`${JSON.stringify({ error: failure.code, message })}\n`);
    return failure.exit;
  }
}
