#!/usr/bin/env node
// The `device-code-server` command. In a checkout it runs src/ (TypeScript, by Node's type
// stripping, so an older Node gets a clear message instead of a syntax error); in the Docker image
// it runs lib/ beside it instead, the same code built to JavaScript by scripts/build-server.ts,
// which leaves the TypeScript parser (and its memory) out of the server.
import { existsSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';

const built = new URL('../lib/cli/main.js', import.meta.url);
let entry = built.href;
if (!existsSync(built)) {
  if (!process.features.typescript) {
    process.stderr.write(`device-code-server: needs Node.js 22.18 or later (type stripping); this is ${process.version}\n`);
    process.exit(1);
  }
  entry = new URL('../src/cli/main.ts', import.meta.url).href;
}
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
