// Passwords never come from argv (it shows in `ps` and shell history): the first line of stdin
// when it is piped, otherwise a prompt that does not echo.
import { InputError, UsageError } from './args.ts';
import type { Io } from './io.ts';

const MAX_LINE = 4096;

export async function readPassword(io: Io): Promise<string> {
  if (io.stdin.isTTY) {
    const first = await prompt(io, 'Password: ');
    const again = await prompt(io, 'Repeat password: ');
    if (first !== again) throw new InputError('the passwords do not match');
    return first;
  }
  const line = await readFirstLine(io.stdin);
  if (line === undefined || line === '') throw new UsageError('no password on stdin: pipe it as the first line, or run in a terminal to be prompted', 'user create');
  return line;
}

/** The first line, without its line ending; undefined when the stream is empty. */
async function readFirstLine(stream: NodeJS.ReadableStream): Promise<string | undefined> {
  stream.setEncoding('utf8');
  let text: string | undefined;
  for await (const chunk of stream) {
    text = (text ?? '') + String(chunk);
    const nl = text.indexOf('\n');
    if (nl >= 0) {
      text = text.slice(0, nl);
      break;
    }
    if (text.length > MAX_LINE) throw new UsageError('the password line on stdin is too long', 'user create');
  }
  return text?.replace(/\r$/, '');
}

function prompt(io: Io, question: string): Promise<string> {
  const stdin = io.stdin;
  return new Promise((resolve, reject) => {
    io.stderr.write(question);
    // Code points, so a backspace removes a whole character.
    let chars: string[] = [];
    const finish = (err?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      io.stderr.write('\n');
      if (err) reject(err);
      else resolve(chars.join(''));
    };
    const onData = (chunk: string | Buffer) => {
      for (const ch of String(chunk)) {
        if (ch === '\r' || ch === '\n') {
          finish();
          return;
        }
        if (ch === '\u0003' || ch === '\u0004') {
          finish(new InputError('cancelled'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') chars.pop();
        else if (ch === '\u0015') chars = [];
        else if (ch >= ' ') chars.push(ch);
      }
    };
    stdin.setEncoding('utf8');
    stdin.setRawMode(true);
    stdin.on('data', onData);
    stdin.resume();
  });
}
