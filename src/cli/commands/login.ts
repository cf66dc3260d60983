// `login --issuer <url> --client-id <id>`: signs in from this terminal with the device flow, like
// `gh auth login`. It talks HTTP to a server (this one or any RFC 8628 server) and never opens the
// database. Everything for the person (the URL, the code, the QR code, the spinner) goes to stderr,
// so stdout carries only the result: the token alone, so `$(…)` captures it, or with --json one object.
import { closeSync, fchmodSync, fsyncSync, lstatSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { deviceLogin, type DeviceLoginResult, type UserCodePrompt } from '../../client/device-login.ts';
import { DeviceLoginError, type DeviceLoginErrorCode } from '../../client/errors.ts';
import { terminalQr } from '../../client/qr.ts';
import { CoreError, type CoreErrorCode } from '../../core/errors.ts';
import { InputError, JSON_FLAG, type CommandSpec } from '../args.ts';
import { warn, type Io } from '../io.ts';
import { safe } from '../output.ts';

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

/**
 * The token file may replace only what looks like an earlier token file: a regular file of ours with
 * mode 0600. Anything else (a file others may read, a symlink, a directory) is more likely a typo
 * than a token, and is refused before the person is asked to approve anything.
 */
function checkOutTarget(file: string): void {
  let st;
  try {
    st = lstatSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      const dir = path.dirname(file);
      if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new InputError(`login: --out directory ${safe(dir)} does not exist`);
      return;
    }
    throw new InputError(`login: cannot check --out ${safe(file)} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!st.isFile()) throw new InputError(`login: refusing to overwrite ${safe(file)}: not a regular file`);
  if ((st.mode & 0o777) !== 0o600) {
    throw new InputError(`login: refusing to overwrite ${safe(file)}: its mode is ${(st.mode & 0o777).toString(8).padStart(4, '0')}, not 0600 (remove it or choose another --out)`);
  }
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) throw new InputError(`login: refusing to overwrite ${safe(file)}: owned by another user`);
}

/** Writes a new 0600 file beside the target and renames it over: never a moment with the token readable, or half a file. */
function writeTokenFile(file: string, record: Record<string, unknown>): void {
  checkOutTarget(file);
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o600);
    fchmodSync(fd, 0o600); // whatever the umask
    writeSync(fd, `${JSON.stringify(record, null, 2)}\n`);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // never created, or already renamed
    }
    throw new InputError(`login: cannot write ${safe(file)} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

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

export const loginCommand: CommandSpec = {
  path: ['login'],
  summary: 'Sign in from this terminal with the device flow and print the access token.',
  details: [
    'Shows a URL and a one-time code (and a QR code on a terminal) on stderr, waits while you approve',
    'in a browser, then prints the access token alone on stdout. --out saves it instead, as JSON',
    '{access_token, token_type, expires_in, scope, issuer, obtained_at} with mode 0600; an existing',
    'file is replaced only if it is a regular 0600 file of yours. The issuer is PUBLIC_URL for the',
    'default environment, PUBLIC_URL/<envID>/as for another one. Exit 1 when the request is denied,',
    'the code expires, or the server refuses the client.',
  ].join('\n'),
  flags: {
    issuer: { type: 'string', required: true, placeholder: 'url', description: 'The authorization server (its metadata is discovered)' },
    'client-id': { type: 'string', required: true, placeholder: 'id', description: 'The OAuth client to sign in as' },
    scope: { type: 'string', placeholder: 's1 s2', description: 'Scopes to ask for (default: the client\'s)' },
    'client-secret-file': { type: 'string', placeholder: 'file', description: 'Confidential clients: a file holding the secret (never on the command line)' },
    out: { type: 'string', placeholder: 'file', description: 'Save the token as JSON (mode 0600) instead of printing it' },
    'allow-http': { type: 'boolean', description: 'Allow plain http:// to another machine (the token travels unencrypted)' },
    json: JSON_FLAG,
  },
  run: async (args, io) => {
    const issuer = args.string('issuer') ?? '';
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
        clientId: args.string('client-id') ?? '',
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
    const record = {
      access_token: token.access_token,
      token_type: token.token_type,
      expires_in: token.expires_in ?? null,
      // RFC 6749 §5.1: no scope in the answer means the scope asked for.
      scope: token.scope ?? scope ?? null,
      issuer: metadata.issuer,
      obtained_at: new Date(obtainedAt).toISOString(),
      ...(token.refresh_token === undefined ? {} : { refresh_token: token.refresh_token }),
    };
    screen.line(`✓ Signed in to ${safe(metadata.issuer)}${record.scope === null ? '' : ` (scope: ${safe(record.scope)})`}.`);
    if (out === undefined) return { json: record, text: [token.access_token] };
    writeTokenFile(out, record);
    // The point of --out is that the token is not printed: the summary names where it went instead.
    const summary = { token_type: record.token_type, expires_in: record.expires_in, scope: record.scope, issuer: record.issuer, obtained_at: record.obtained_at, out };
    return { json: summary, text: [`Saved the access token to ${safe(out)} (mode 0600).`] };
  },
};
