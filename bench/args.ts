// Checks of the bench scripts' command-line options, shared by run.ts and store-polls.ts.

/** `--name`'s value as a positive number, or an error that names the option. */
export function positive(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name}: expected a positive number, got ${v}`);
  return n;
}

/** `--name`'s value as a count: a positive number rounded to a whole one, at least 1. */
export function count(name: string, v: string): number {
  const n = Math.round(positive(name, v));
  if (n < 1) throw new Error(`--${name}: expected at least 1, got ${v}`);
  return n;
}
