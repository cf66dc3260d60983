#!/usr/bin/env node
// The `device-code-server` command. The CLI is TypeScript run by Node's type stripping, so an older
// Node gets a clear message instead of a syntax error.
import process from 'node:process';

if (!process.features.typescript) {
  process.stderr.write(`device-code-server: needs Node.js 22.18 or later (type stripping); this is ${process.version}\n`);
  process.exit(1);
}
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
