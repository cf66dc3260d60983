// scripts/build-server.ts: src/ as JavaScript for the Docker image (whose replay in
// test/docker/runtime.test.ts runs the built server end to end). Here: every source file is built,
// line for line, with its relative imports pointing at .js files, and a checkout is refused.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { buildServer, toJavaScript } from '../../scripts/build-server.ts';
import { tempDir } from '../helpers/build.ts';

const SRC = path.resolve(import.meta.dirname, '../../src');

/** Every file under `root` ending in `ext`, relative to `root`, without the extension. */
function files(root: string, ext: string, dir = root): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return files(root, ext, file);
    return name.endsWith(ext) ? [path.relative(root, file).slice(0, -ext.length)] : [];
  });
}

test('build-server: one .js per src .ts, the same number of lines, relative imports of .js, no type left', async (t) => {
  const out = path.join(tempDir(t), 'lib');
  const n = buildServer(out);
  const sources = files(SRC, '.ts').sort();
  assert.equal(n, sources.length);
  assert.deepEqual(files(out, '.js').sort(), sources);
  for (const f of sources) {
    const ts = readFileSync(path.join(SRC, `${f}.ts`), 'utf8');
    const js = readFileSync(path.join(out, `${f}.js`), 'utf8');
    assert.equal(js.split('\n').length, ts.split('\n').length, `${f}: lines stay where they were (stack traces need no map)`);
    assert.doesNotMatch(js, /(from\s*|import\s*\(\s*)['"]\.{1,2}\/[^'"]*\.ts['"]/, `${f}: no relative import of a .ts file`);
  }
  // The built code loads as plain JavaScript: a module with types and relative imports, imported from the build.
  const mod = await import(path.join(out, 'core', 'errors.js')) as { isCoreError?: unknown };
  assert.equal(typeof mod.isCoreError, 'function');
});

test('build-server: the rewrite touches relative .ts specifiers only; a git checkout is refused', (t) => {
  const js = toJavaScript([
    "import type { A } from './a.ts';",
    "import { b, type B } from '../b.ts';",
    "export * from './c.ts';",
    "const d = await import('./d.ts');",
    "import pkg from 'some-package.ts';",
    "const note: string = 'see ./e.ts';",
  ].join('\n'));
  const lines = js.split('\n');
  assert.equal(lines.length, 6);
  assert.equal(lines[0]?.trim(), '');
  assert.match(lines[1] ?? '', /^import \{ b,\s+\} from '\.\.\/b\.js';$/);
  assert.equal(lines[2], "export * from './c.js';");
  assert.equal(lines[3], "const d = await import('./d.js');");
  assert.equal(lines[4], "import pkg from 'some-package.ts';", 'a package specifier is left alone');
  assert.match(lines[5] ?? '', /^const note\s+= 'see \.\/e\.ts';$/, 'a string that is not a specifier is left alone');

  const checkout = tempDir(t);
  mkdirSync(path.join(checkout, '.git'));
  assert.throws(() => buildServer(path.join(checkout, 'lib')), /refusing to build into .*lib: .* is a checkout/);
});
