// The streams a command talks to, passed in rather than reached for, plus the one-line writers.
export interface Io {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export const processIo: Io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };

/** A notice for the person at the terminal; stderr, so --json output stays one object. */
export function warn(io: Io, message: string): void {
  io.stderr.write(`warning: ${message}\n`);
}
