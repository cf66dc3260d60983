// Builds lib/ (plain JavaScript) from src/ for a deployment:
// `node scripts/build-server.ts [--out DIR]`. Type stripping is how the checkout runs, but it keeps a TypeScript parser in the process: the
// server's resident memory was ~30 MB more than the same code as JavaScript (bench/RESULTS.md).
// The Dockerfile's build stage runs this, and `npm run bench` does into a temporary copy of the
// image's layout. bin/device-code-server.js runs lib/ when it sits beside it, so never build into
// a git checkout (its lib/ would go stale with the next edit of src/): the script refuses to.
//
// Node's own stripper (module.stripTypeScriptTypes, 'strip' mode) replaces each type with spaces,
// so every line and column stays where it was and stack traces need no source map. The one other
// change is the relative import specifiers: './x.ts' becomes './x.js'.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(import.meta.dirname, '..');
const SRC = path.join(ROOT, 'src');

/** `from './x.ts'`, `import('./x.ts')` and `export … from '../y.ts'`: relative specifiers only. */
const RELATIVE_TS = /(\bfrom\s*|\bimport\s*\(\s*)(['"])(\.{1,2}\/[^'"\n]*?)\.ts\2/g;

export function toJavaScript(source: string): string {
  return stripTypeScriptTypes(source, { mode: 'strip' }).replace(RELATIVE_TS, (_, lead: string, q: string, spec: string) => `${lead}${q}${spec}.js${q}`);
}

function sources(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return sources(file);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [file] : [];
  });
}

/** Writes `out`/… for every src/….ts; returns how many files. */
export function buildServer(out: string): number {
  const root = path.resolve(out, '..');
  if (existsSync(path.join(root, '.git'))) {
    throw new Error(`refusing to build into ${out}: ${root} is a checkout, whose lib/ would run instead of its src/; pass --out in a copy`);
  }
  rmSync(out, { recursive: true, force: true });
  const files = sources(SRC);
  for (const file of files) {
    const target = path.join(out, path.relative(SRC, file)).replace(/\.ts$/, '.js');
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, toJavaScript(readFileSync(file, 'utf8')));
  }
  return files.length;
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const out = path.resolve(values.out ?? path.join(ROOT, 'lib'));
  // The stripper is marked experimental; the build says once what it did instead.
  process.removeAllListeners('warning');
  try {
    const n = buildServer(out);
    process.stdout.write(`build-server: ${n} files from ${path.relative(process.cwd(), SRC) || '.'} into ${out}\n`);
  } catch (err) {
    process.stderr.write(`build-server: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
