// `login --issuer <url> --client-id <id>`: signs in from this terminal with the device flow, like
// `gh auth login`. It talks HTTP to a server (this one or any RFC 8628 server) and never opens the
// database. Everything for the person (the URL, the code, the QR code, the spinner) goes to stderr,
// so stdout carries only the result: the token alone, so `$(…)` captures it, or with --json one object.
// `login --refresh --out FILE` trades the saved refresh token for new tokens (RFC 6749 §6) and
// writes them back to the same file: no browser, no code. An ID token in either answer is
// validated by the client library (OpenID Connect Core §3.1.3.7) and names who signed in.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { deviceLogin, type DeviceLoginResult, type UserCodePrompt } from '../../client/device-login.ts';
import { DeviceLoginError, type DeviceLoginErrorCode } from '../../client/errors.ts';
import type { IdTokenClaims } from '../../client/id-token.ts';
import { terminalQr } from '../../client/qr.ts';
import { refreshToken } from '../../client/refresh.ts';
import { CoreError, type CoreErrorCode } from '../../core/errors.ts';
import { InputError, JSON_FLAG, PROGRAM, UsageError, type Args, type CommandSpec, type Outcome } from '../args.ts';
import { warn, type Io } from '../io.ts';
import { safe } from '../output.ts';
import { checkOutTarget, readTokenFile, savedOutcome, tokenRecord, withTokenFileLock, writeTokenFile } from '../token-file.ts';

/** Failures that the CLI's closed error set names the same way keep their name in --json output. */
const SAME_CODE: Partial<Record<DeviceLoginErrorCode, CoreErrorCode>> = {
  access_denied: 'access_denied',
  expired_token: 'expired_token',
  invalid_client: 'invalid_client',
  invalid_grant: 'invalid_grant',
  invalid_request: 'invalid_request',
  invalid_scope: 'invalid_scope',
  unauthorized_client: 'unauthorized_client',
  unsupported_grant_type: 'unsupported_grant_type',
  server_error: 'server_error',
};

/** A refusal, an expiry or an unreachable server is not our bug: exit 1, one line, no stack. */
function cliError(err: DeviceLoginError): Error {
  const message = err.code === 'expired_token' ? `${err.message}; run login again` : err.message;
  const code = SAME_CODE[err.code];
  return code === undefined ? new InputError(`login: ${message} (${err.code})`) : new CoreError(code, `login: ${message}`);
}

function isTty(stream: NodeJS.WritableStream): boolean {
  return 'isTTY' in stream && stream.isTTY === true;
}

function readSecret(file: string, io: Io): string {
  let text: string;
  try {
    if ((statSync(file).mode & 0o077) !== 0) warn(io, `${safe(file)} can be read by other users; chmod 600 it`);
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`login: cannot read --client-secret-file ${safe(file)} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  // One trailing newline (from `echo` or an editor) is not part of the secret.
  const secret = text.replace(/\r?\n$/, '');
  if (secret === '') throw new InputError(`login: --client-secret-file ${safe(file)} is empty`);
  return secret;
}

const shellWord = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** "9:58" */
function clockText(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** The person's side: instructions, a QR code and a spinner on a terminal, plain lines elsewhere. */
class Screen {
  readonly #out: NodeJS.WritableStream;
  readonly #tty: boolean;
  #timer: NodeJS.Timeout | undefined;
  #frame = 0;
  #deadline = 0;
  #interval = 0;

  constructor(out: NodeJS.WritableStream) {
    this.#out = out;
    this.#tty = isTty(out);
  }

  async showCode(prompt: UserCodePrompt): Promise<void> {
    const complete = prompt.verification_uri_complete;
    const lines = [
      '',
      `! Your one-time code: ${safe(prompt.user_code)}`,
      `  Open ${safe(prompt.verification_uri)} in a browser and enter it,`,
      ...(complete === undefined ? [] : [`  or open ${safe(complete)} (the code filled in)${this.#tty ? ', or scan:' : '.'}`]),
      '',
    ];
    this.#out.write(`${lines.join('\n')}\n`);
    if (this.#tty) this.#out.write(`${await terminalQr(complete ?? prompt.verification_uri)}\n`);
    this.#deadline = Date.now() + prompt.expires_in * 1000;
    this.#interval = prompt.interval;
    if (this.#tty) {
      this.#draw();
      this.#timer = setInterval(() => { this.#draw(); }, 100);
      this.#timer.unref();
    } else {
      this.#out.write(`Waiting for approval (the code expires in ${clockText(prompt.expires_in * 1000)})...\n`);
    }
  }

  slowedDown(interval: number): void {
    this.#interval = interval;
  }

  #draw(): void {
    const frame = FRAMES[this.#frame++ % FRAMES.length] ?? '';
    const text = `${frame} Waiting for approval… code expires in ${clockText(this.#deadline - Date.now())} (checking every ${this.#interval} s)`;
    // A line that wraps would leave a trail of copies: \r only returns to the start of the last row.
    const columns = 'columns' in this.#out && typeof this.#out.columns === 'number' ? this.#out.columns : 80;
    this.#out.write(`\r${text.slice(0, Math.max(columns - 1, 1))}\x1b[K`);
  }

  stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#out.write('\r\x1b[K');
  }

  line(text: string): void {
    this.#out.write(`${text}\n`);
  }
}

/** Exit 1 and one line: the refresh token is spent, so the way on is a new login, spelled out. */
function refreshCliError(err: DeviceLoginError, again: string): Error {
  if (err.code === 'invalid_grant') return new CoreError('invalid_grant', `login: ${err.message}; run login again: ${again}`);
  // The server answered, so it has most likely rotated the refresh token the file still holds.
  if (err.code === 'invalid_id_token') return new InputError(`login: ${err.message} (invalid_id_token); the file is unchanged, but its refresh token may be spent: run login again: ${again}`);
  return cliError(err);
}

/** " as alice": whom the ID token names, by the name a person knows (OpenID Connect Core §5.1), else the subject id. */
function asWhom(claims: IdTokenClaims | undefined): string {
  if (claims === undefined) return '';
  const name = [claims.preferred_username, claims.name].find((n) => n !== undefined && n.trim() !== '') ?? claims.sub;
  return ` as ${safe(name)}`;
}

/** The sub of the ID token a token file keeps, which a refreshed ID token must repeat (OpenID Connect Core §12.2). */
function savedSubject(file: string, idToken: string | undefined): string | undefined {
  if (idToken === undefined) return undefined;
  try {
    const { sub } = decodeJwt(idToken);
    if (typeof sub === 'string' && sub !== '') return sub;
  } catch {
    // not a JWT: refused below
  }
  throw new InputError(`login: ${safe(file)} holds an id_token without a subject (not the file a login wrote?)`);
}

async function signIn(args: Args, io: Io): Promise<Outcome> {
  const issuer = args.string('issuer');
  if (issuer === undefined) throw new UsageError('login: missing --issuer', 'login');
  const clientId = args.string('client-id');
  if (clientId === undefined) throw new UsageError('login: missing --client-id', 'login');
  const secretFile = args.string('client-secret-file');
  const clientSecret = secretFile === undefined ? undefined : readSecret(secretFile, io);
  const outArg = args.string('out');
  const out = outArg === undefined ? undefined : path.resolve(outArg);
  // Before the person approves anything: a token with nowhere to go would be wasted.
  if (out !== undefined) checkOutTarget(out);
  const scope = args.string('scope');

  const screen = new Screen(io.stderr);
  let result: DeviceLoginResult;
  try {
    result = await deviceLogin({
      issuer,
      clientId,
      clientSecret,
      scope,
      allowHttp: args.bool('allow-http'),
      onCode: (prompt) => screen.showCode(prompt),
      onPoll: (event) => {
        if (event.outcome === 'slow_down') screen.slowedDown(event.interval);
      },
    });
  } catch (err) {
    if (err instanceof DeviceLoginError) throw cliError(err);
    throw err;
  } finally {
    screen.stop();
  }

  const { token, metadata, obtainedAt } = result;
  const record = tokenRecord(token, metadata.issuer, clientId, obtainedAt, scope);
  screen.line(`✓ Signed in to ${safe(metadata.issuer)}${asWhom(result.idTokenClaims)}${record.scope === null ? '' : ` (scope: ${safe(record.scope)})`}.`);
  if (out === undefined) return { json: record, text: [token.access_token] };
  writeTokenFile(out, record);
  return savedOutcome(out, record);
}

async function refresh(args: Args, io: Io): Promise<Outcome> {
  const outArg = args.string('out');
  if (outArg === undefined) throw new UsageError('login: --refresh needs --out <file>, the token file of an earlier login --out', 'login');
  const out = path.resolve(outArg);
  // One refresh of a file at a time: the second reads the token the first saved.
  return withTokenFileLock(out, () => refreshFile(out, args, io));
}

async function refreshFile(out: string, args: Args, io: Io): Promise<Outcome> {
  const saved = readTokenFile(out);
  const issuer = saved.issuer ?? args.string('issuer');
  if (issuer === undefined) throw new InputError(`login: ${safe(out)} names no issuer: pass --issuer`);
  // The refresh token goes only to the server that issued it.
  const asked = args.string('issuer');
  if (asked !== undefined && asked.replace(/\/+$/, '') !== issuer.replace(/\/+$/, '')) {
    throw new InputError(`login: ${safe(out)} holds a token of ${safe(issuer)}, not of ${safe(asked)}`);
  }
  const clientId = args.string('client-id') ?? saved.clientId;
  if (clientId === undefined) throw new InputError(`login: ${safe(out)} names no client_id (an older token file): pass --client-id`);
  const scope = args.string('scope');
  const again = [PROGRAM, 'login', '--issuer', issuer, '--client-id', clientId, ...(saved.scope === undefined ? [] : ['--scope', saved.scope]), '--out', out]
    .map((w) => safe(shellWord(w))).join(' ');
  if (saved.refreshToken === undefined) {
    throw new InputError(`login: ${safe(out)} has no refresh_token (the server sent none; ask for offline_access); run login again: ${again}`);
  }
  const secretFile = args.string('client-secret-file');
  const clientSecret = secretFile === undefined ? undefined : readSecret(secretFile, io);
  const expectedSubject = savedSubject(out, saved.idToken);

  let result: DeviceLoginResult;
  try {
    result = await refreshToken({ issuer, clientId, clientSecret, refreshToken: saved.refreshToken, scope, expectedSubject, allowHttp: args.bool('allow-http') });
  } catch (err) {
    if (err instanceof DeviceLoginError) throw refreshCliError(err, again);
    throw err;
  }
  const { token, metadata, obtainedAt } = result;
  // A refresh answer without a scope has the grant's (RFC 6749 §5.1), which is what was saved unless narrowed.
  const record = tokenRecord(token, metadata.issuer, clientId, obtainedAt, scope ?? saved.scope, token.id_token ?? saved.idToken);
  // The file gets the new refresh token: after a rotation the old one is dead, and presenting it would end the grant.
  writeTokenFile(out, record, `; the old refresh token is spent, run login again: ${again}`);
  io.stderr.write(`✓ Refreshed the token from ${safe(metadata.issuer)}${asWhom(result.idTokenClaims)}${record.scope === null ? '' : ` (scope: ${safe(record.scope)})`}.\n`);
  return savedOutcome(out, record);
}

export const loginCommand: CommandSpec = {
  path: ['login'],
  database: 'none',
  summary: 'Sign in from this terminal with the device flow and print the access token.',
  details: [
    'Shows a URL and a one-time code (and a QR code on a terminal) on stderr, waits while you approve',
    'in a browser, then prints the access token alone on stdout. --out saves it instead, as JSON',
    '{access_token, token_type, expires_in, scope, issuer, client_id, obtained_at} (+ refresh_token',
    'and id_token when the server sent them) with mode 0600; an existing file is replaced only if it',
    'is a regular 0600 file of yours. The issuer is PUBLIC_URL for the default environment,',
    'PUBLIC_URL/<envID>/as for another one. Exit 1 when the request is denied, the code expires, or',
    'the server refuses the client. With the scope openid, the ID token is checked (signature by the',
    'issuer\'s keys, issuer, audience, expiry; exit 1 when it fails) and "Signed in to <issuer> as',
    '<username>" on stderr names who approved.',
    '',
    '--refresh --out FILE uses the refresh token saved in FILE (with its issuer and client_id) for new',
    'tokens, no browser needed, and writes them back to FILE: the new refresh token replaces the old',
    'one, which the server will not take again. A refresh token the server no longer takes (expired,',
    'revoked, already used) is exit 1: run login again. Run one --refresh per file at a time. A new',
    'ID token must name the same person (sub) as the saved one.',
  ].join('\n'),
  flags: {
    issuer: { type: 'string', placeholder: 'url', description: 'The authorization server (its metadata is discovered); required unless --refresh' },
    'client-id': { type: 'string', placeholder: 'id', description: 'The OAuth client to sign in as; required unless --refresh (then it overrides the file\'s)' },
    scope: { type: 'string', placeholder: 's1 s2', description: 'Scopes to ask for (default: the client\'s; with --refresh: narrower than granted)' },
    'client-secret-file': { type: 'string', placeholder: 'file', description: 'Confidential clients: a file holding the secret (never on the command line)' },
    out: { type: 'string', placeholder: 'file', description: 'Save the token as JSON (mode 0600) instead of printing it' },
    refresh: { type: 'boolean', description: 'Refresh the token saved in --out with its refresh token instead of signing in' },
    'allow-http': { type: 'boolean', description: 'Allow plain http:// to another machine (the token travels unencrypted)' },
    json: JSON_FLAG,
  },
  run: (args, io) => (args.bool('refresh') ? refresh(args, io) : signIn(args, io)),
};
