// The README and docs/ promise what the code does: every configuration variable and every command
// is documented, every endpoint path the README names exists in openapi.yaml (and so in the
// routes), every file they point at exists, and no comment cites a document outside the repository.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
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

// docs/ explains the code; these keep it true and keep the code pointing at it rather than elsewhere.
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DOCS = readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);

/** The repository's files under `dir` (relative to the root), recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .map((f) => path.join(dir, f))
    .filter((f) => statSync(path.join(ROOT, f)).isFile());
}

test('the README links every document in docs/', () => {
  assert.ok(DOCS.length >= 3, 'docs/ holds the architecture, protocol and vendor documents');
  for (const doc of DOCS.filter((d) => d !== 'docs/README.md')) assert.ok(README.includes(`](${doc})`), `the README does not link ${doc}`);
});

test('every repository path docs/ and the README link or name exists', () => {
  for (const file of ['README.md', ...DOCS]) {
    // Fenced blocks hold diagrams and shell sessions, not references.
    const text = readFileSync(path.join(ROOT, file), 'utf8').replace(/^```[\s\S]*?^```/gm, '');
    const linked = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? '')
      .filter((href) => !/^(https?:|mailto:|#)/.test(href))
      .map((href) => path.join(path.dirname(file), href.split('#')[0] ?? ''));
    const named = [...text.matchAll(/`((?:src|test|bench|scripts|migrations|docs|bin|dist|docker)\/[^`\s]*)`/g)].map((m) => m[1] ?? '')
      .filter((p) => !/[*…{]/.test(p));
    assert.ok(linked.length + named.length > 0 || file === 'docs/README.md', `${file} points at no file`);
    for (const p of [...linked, ...named]) assert.ok(existsSync(path.join(ROOT, p)), `${file} points at ${p}, which does not exist`);
  }
});

// The documents the project was first specified in live outside the repository; a comment citing
// them sends the reader nowhere, so citations name an RFC section or a file in docs/ instead.
const OUTSIDE_CITATIONS = [/SPEC\s+S\d/, /ST[Y]LE/, /[Ss]eeds?[ /_]\d{3}/, /shared\/(?:seeds|research)\b/];

test('no file cites a document outside the repository', () => {
  const files = ['src', 'test', 'bench', 'scripts', 'migrations', 'docs', 'bin', 'dist'].flatMap(filesUnder)
    .concat(['README.md', 'openapi.yaml', 'Dockerfile', 'docker-compose.yml']);
  assert.ok(files.length > 100, 'the scan found the repository');
  for (const file of files) {
    const lines = readFileSync(path.join(ROOT, file), 'utf8').split('\n');
    lines.forEach((line, i) => {
      const cited = OUTSIDE_CITATIONS.find((re) => re.test(line));
      assert.equal(cited, undefined, `${file}:${i + 1} cites a document outside the repository: ${line.trim()}`);
    });
  }
});

test('key files are ignored by git, and the README\'s shell blocks write them only into a private temp directory', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const candidates = ['admin-key.json', 'admin-key-helpdesk.json', 'admin.pem', 'keys/server.key', 'tls/cert.p12', '.env', '.env.production'];
  const check = spawnSync('git', ['check-ignore', '--no-index', '--stdin'], { cwd: root, input: candidates.join('\n'), encoding: 'utf8' });
  const ignored = new Set(check.stdout.split('\n').filter(Boolean));
  for (const file of candidates) assert.ok(ignored.has(file), `.gitignore does not cover ${file}`);
  // Every `--out`, `>` or `tee` of a key file in a README shell block goes under $KEYS (mktemp -d).
  const blocks = [...README.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  const writes = blocks.flatMap((b) => [...b.matchAll(/(?:--out|>|tee)\s+("?[^\s)]+"?)/g)].map((m) => (m[1] ?? '').replaceAll('"', '')))
    .filter((target) => /admin-key|\.pem$|\.key$/.test(target));
  assert.ok(writes.length >= 2, `the RSA walkthrough writes its key files: ${writes.join(', ')}`);
  for (const target of writes) assert.match(target, /^\$KEYS\//, `the README writes ${target} outside the private temp directory`);
  assert.match(README, /KEYS=\$\(mktemp -d\)/);
});
