// Command specs and argument parsing (node:util parseArgs, strict): unknown flags, missing values
// and stray arguments are usage errors, never guesses.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import type { Io } from './io.ts';

export const PROGRAM = 'device-code-server';

/** A mistake in the command line (exit 1). */
export class UsageError extends Error {
  override name = 'UsageError';
  /** The command whose --help explains the mistake ('' for the top level). */
  readonly helpFor: string;

  constructor(message: string, helpFor = '') {
    super(message);
    this.helpFor = helpFor;
  }
}

/** Bad input that is not a command-line mistake, e.g. a cancelled prompt (exit 1, no usage hint). */
export class InputError extends Error {
  override name = 'InputError';
}

export interface FlagSpec {
  type: 'string' | 'boolean';
  /** Shown in help: `--name <name>`. */
  placeholder?: string;
  description: string;
  required?: boolean;
  /** An empty value is allowed (it clears a setting) rather than a usage error. */
  allowEmpty?: boolean;
}

export interface PositionalSpec {
  name: string;
  /** Every remaining word, joined by spaces (a user code typed as `wdjb mjht`). */
  rest?: boolean;
  /** May be left out (usage shows `[<name>]`). */
  optional?: boolean;
}

/**
 * What a command does with the database: most work on the server's existing one and refuse to
 * create a new, empty one unless --init is given (a wrong directory is then a message, not a second
 * database nobody serves); `create` may make it (serve, migrate, env create); `none` never opens it.
 */
export type DatabaseUse = 'existing' | 'create' | 'none';

/** The global flag that lets any command create the database (README "Command line"). */
export const INIT_FLAG = '--init';

export interface CommandSpec {
  /** The words that select it, e.g. ['client', 'create']. */
  path: readonly string[];
  /** Default 'existing'. */
  database?: DatabaseUse;
  summary: string;
  /** More help text, printed under the usage line. */
  details?: string;
  flags: Readonly<Record<string, FlagSpec>>;
  positional?: PositionalSpec;
  run(args: Args, io: Io): Promise<Outcome>;
}

/** What a command printed: one JSON object for --json, lines for people; `serving` prints nothing. */
export type Outcome = { json: Record<string, unknown>; text: string[] } | { serving: true };

export const ENV_FLAG: FlagSpec = {
  type: 'string',
  placeholder: 'id|name',
  description: 'Environment, by id or by name (default: the "default" environment)',
};
export const JSON_FLAG: FlagSpec = { type: 'boolean', description: 'Print exactly one JSON object on stdout' };

export const EXIT_STATUS_HELP = 'Exit status: 0 success; 1 usage or input error (message on stderr); 2 internal error.';

/** True when the words ask for help (`-h`/`--help` anywhere before a `--`). */
export function wantsHelp(words: readonly string[]): boolean {
  for (const w of words) {
    if (w === '--') return false;
    if (w === '--help' || w === '-h') return true;
  }
  return false;
}

export class Args {
  readonly command: string;
  readonly positional: string | undefined;
  /** The command may create a new, empty database: it is one that does, or --init was given. */
  readonly mayCreateDatabase: boolean;
  readonly #positionalName: string;
  readonly #values: Record<string, string | boolean | undefined>;

  constructor(spec: CommandSpec, values: Record<string, string | boolean | undefined>, positional: string | undefined, init = false) {
    this.command = spec.path.join(' ');
    this.mayCreateDatabase = init || spec.database === 'create';
    this.#positionalName = spec.positional?.name ?? 'argument';
    this.#values = values;
    this.positional = positional;
  }

  string(name: string): string | undefined {
    const v = this.#values[name];
    return typeof v === 'string' ? v : undefined;
  }

  bool(name: string): boolean {
    return this.#values[name] === true;
  }

  /** A whole number of seconds (ranges are the engine's to check). */
  int(name: string): number | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (!/^\d{1,9}$/.test(v)) throw new UsageError(`${this.command}: --${name} must be a whole number, got "${v}"`, this.command);
    return Number(v);
  }

  requiredPositional(): string {
    if (this.positional === undefined) throw new UsageError(`${this.command}: missing <${this.#positionalName}>`, this.command);
    return this.positional;
  }
}

/**
 * Takes the global --init out of argv (anywhere before a `--`): it may stand before or after the
 * command and its options, and no command declares it.
 */
export function takeInitFlag(argv: readonly string[]): { argv: string[]; init: boolean } {
  const end = argv.includes('--') ? argv.indexOf('--') : argv.length;
  const before = argv.slice(0, end);
  return { argv: [...before.filter((w) => w !== INIT_FLAG), ...argv.slice(end)], init: before.includes(INIT_FLAG) };
}

/** Parses the words after the command name against its spec; `init`: --init was given. */
export function parseCommandArgs(spec: CommandSpec, words: readonly string[], init = false): Args {
  const command = spec.path.join(' ');
  const options: ParseArgsOptionsConfig = {};
  for (const [name, flag] of Object.entries(spec.flags)) options[name] = { type: flag.type };
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...words], options, strict: true, allowPositionals: spec.positional !== undefined });
  } catch (err) {
    throw new UsageError(`${command}: ${describeParseError(err)}`, command);
  }
  const values: Record<string, string | boolean | undefined> = {};
  for (const [k, v] of Object.entries(parsed.values)) if (typeof v === 'string' || typeof v === 'boolean') values[k] = v;
  for (const [name, flag] of Object.entries(spec.flags)) {
    const v = values[name];
    if (flag.required === true && v === undefined) throw new UsageError(`${command}: missing --${name}`, command);
    if (flag.type === 'string' && typeof v === 'string' && v.trim() === '' && flag.allowEmpty !== true) throw new UsageError(`${command}: --${name} must not be empty`, command);
  }
  const pos = parsed.positionals;
  let positional: string | undefined;
  if (spec.positional !== undefined && pos.length > 0) {
    if (pos.length > 1 && spec.positional.rest !== true) throw new UsageError(`${command}: unexpected argument "${pos[1] ?? ''}"`, command);
    positional = pos.join(' ');
  }
  return new Args(spec, values, positional, init);
}

// parseArgs messages are long and suggest `--` tricks; keep the gist on one line.
function describeParseError(err: unknown): string {
  const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
  const message = err instanceof Error ? err.message : String(err);
  const flag = /'(-[^' ]*)/.exec(message)?.[1] ?? '';
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${flag}`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument "${/'([^']*)'/.exec(message)?.[1] ?? ''}"`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (message.includes('argument missing') || message.includes('ambiguous')) return `${flag} needs a value`;
      if (message.includes('does not take an argument')) return `${flag} does not take a value`;
      return firstLine(message);
    default:
      return firstLine(message);
  }
}

/** Several lines made one: `invalid configuration:\n  PORT: ...\n  HOST: ...` → `invalid configuration: PORT: ...; HOST: ...`. */
export function firstLine(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .reduce((acc, line) => (acc === '' ? line : `${acc}${acc.endsWith(':') ? ' ' : '; '}${line}`), '');
}

function flagLabel(name: string, flag: FlagSpec): string {
  return flag.type === 'string' ? `--${name} <${flag.placeholder ?? name}>` : `--${name}`;
}

export function usageLine(spec: CommandSpec): string {
  const parts = [PROGRAM, ...spec.path];
  if (spec.positional !== undefined) parts.push(spec.positional.optional === true ? `[<${spec.positional.name}>]` : `<${spec.positional.name}>`);
  for (const [name, flag] of Object.entries(spec.flags)) if (flag.required === true) parts.push(flagLabel(name, flag));
  if (Object.values(spec.flags).some((f) => f.required !== true)) parts.push('[options]');
  return parts.join(' ');
}

export function commandHelp(spec: CommandSpec): string {
  const rows: [string, string][] = Object.entries(spec.flags).map(([name, flag]) => [
    flagLabel(name, flag),
    flag.required === true ? `${flag.description} (required)` : flag.description,
  ]);
  if ((spec.database ?? 'existing') === 'existing') rows.push([INIT_FLAG, 'Create a new, empty database if there is none (otherwise refused)']);
  rows.push(['-h, --help', 'Show this help']);
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return [
    `Usage: ${usageLine(spec)}`,
    '',
    spec.summary,
    ...(spec.details === undefined ? [] : ['', spec.details]),
    '',
    'Options:',
    ...rows.map(([l, d]) => `  ${l.padEnd(width)}${d}`),
    '',
    EXIT_STATUS_HELP,
    '',
  ].join('\n');
}
