// The README promises what the code does: every configuration variable and every command is
// documented, and every endpoint path the README names exists in openapi.yaml (and so in the routes).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { COMMANDS } from '../src/cli/main.ts';
import { CONFIG_VARIABLES } from '../src/config.ts';
import { OPENAPI_FILE } from '../src/surfaces/ops/routes.ts';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

test('every configuration variable is in the README, and the README names no variable the server ignores', () => {
  for (const name of CONFIG_VARIABLES) assert.ok(README.includes(`\`${name}\``), `${name} is not documented in the README`);
  const section = README.slice(README.indexOf('## Configuration'), README.indexOf('## Command line'));
  const firstCells = section.split('\n').filter((l) => l.startsWith('| `')).map((l) => l.split('|')[1] ?? '');
  const named = firstCells.flatMap((cell) => [...cell.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1] ?? ''));
  assert.ok(named.length >= CONFIG_VARIABLES.length, 'the configuration table lists the variables');
  for (const name of named) assert.ok(CONFIG_VARIABLES.includes(name), `the README documents ${name}, which the server does not read`);
});

test('every command is in the README\'s command-line section', () => {
  const section = README.slice(README.indexOf('## Command line'), README.indexOf('## Development'));
  for (const command of COMMANDS) assert.ok(section.includes(command), `\`${command}\` is not in the README's command list`);
});

test('every endpoint path the README names is in openapi.yaml', () => {
  const doc = readFileSync(OPENAPI_FILE, 'utf8');
  // Parameter names are compared by position only: the README writes {envID}, the routes {envId}.
  const shape = (p: string) => p.replace(/\{[^}]+\}/g, '{}');
  const paths = new Set([...doc.matchAll(/^ {2}(\/\S*):$/gm)].map((m) => shape(m[1] ?? '')));
  // Paths in code spans, as `GET /x`, `/x` or `/x?query`; abbreviated ones (with …) are skipped.
  const named = [...README.matchAll(/`(?:GET |POST |DELETE |GET`\/`POST )?(\/[^`\s]*)/g)].map((m) => (m[1] ?? '').split('?')[0] ?? '')
    .filter((p) => !p.includes('…') && !/^\/(tmp|usr|data)\b/.test(p))
    // An optional part, `/x[/{y}]`, names both paths.
    .flatMap((p) => (p.includes('[') ? [p.replace(/\[.*\]/, ''), p.replace(/[[\]]/g, '')] : [p]))
    .map((p) => p.replace(/\/$/, ''))
    .filter((p) => p !== '');
  assert.ok(named.length > 15, 'the README names endpoints');
  for (const p of named) assert.ok(paths.has(shape(p)), `the README names ${p}, which openapi.yaml does not document`);
});
