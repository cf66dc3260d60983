// Lints the Dockerfile with dockerfile-utils (the validator behind VS Code's Docker support): CI
// has no Docker engine, so this is where a broken instruction is caught before anyone builds.
// Every diagnostic fails, warnings included: a warning today (casing, a second CMD) is a
// surprise in the image tomorrow.
//
//   node scripts/lint-dockerfile.ts [path]     (default: the repository's Dockerfile)
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { validate } from 'dockerfile-utils';

type Diagnostic = ReturnType<typeof validate>[number];

const DEFAULT_FILE = fileURLToPath(new URL('../Dockerfile', import.meta.url));
// LSP severities (vscode-languageserver-types' DiagnosticSeverity).
const SEVERITY: Record<number, string> = { 1: 'error', 2: 'warning', 3: 'info', 4: 'hint' };

function describe(file: string, d: Diagnostic): string {
  const { line, character } = d.range.start;
  const code = d.code === undefined ? '' : ` (code ${String(d.code)})`;
  // LSP 3.18 allows markup in messages; dockerfile-utils sends plain strings.
  const message = typeof d.message === 'string' ? d.message : d.message.value;
  return `${file}:${line + 1}:${character + 1}: ${SEVERITY[d.severity ?? 1] ?? 'error'}: ${message}${code}`;
}

function main(file: string): number {
  const relative = path.relative(process.cwd(), file);
  const shown = relative === '' || relative.startsWith('..') ? file : relative;
  let content: string;
  try {
    content = readFileSync(file, 'utf8');
  } catch (err) {
    console.error(`lint-dockerfile: cannot read ${shown} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    return 1;
  }
  const diagnostics = validate(content);
  for (const d of diagnostics) console.error(describe(shown, d));
  if (diagnostics.length > 0) {
    console.error(`lint-dockerfile: ${diagnostics.length} problem(s) in ${shown}`);
    return 1;
  }
  console.log(`lint-dockerfile: ${shown} is clean`);
  return 0;
}

process.exitCode = main(path.resolve(process.argv[2] ?? DEFAULT_FILE));
