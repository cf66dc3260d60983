// Builds dist/client (ESM .js + .d.ts) from src/client with the TypeScript compiler API. Node refuses to
// strip types inside node_modules, so packages that import `device-code-server/client` need
// JavaScript; the build is checked in and test/client/build.test.ts fails when it drifts from the
// source. Run `node scripts/build-client.ts` after changing src/client.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const CLIENT_SRC = path.join(ROOT, 'src/client');
export const CLIENT_DIST = path.join(ROOT, 'dist/client');

const HEADER = '// Generated from src/client by scripts/build-client.ts: do not edit.\n';

// Only what shapes the output: files are transpiled one by one, and type checking is tsconfig.json's.
const COMPILER_OPTIONS = {
  target: 'ES2024',
  // Alone, a file cannot see package.json's "type", so NodeNext would guess CommonJS: say ESM outright.
  module: 'ESNext',
  moduleResolution: 'Bundler',
  strict: true,
  verbatimModuleSyntax: true,
  // The source imports './x.ts' (as Node runs it); the build must import './x.js'.
  rewriteRelativeImportExtensions: true,
  declaration: true,
  // Every export spells out its type, so each .d.ts can be made from its own file, exactly.
  isolatedDeclarations: true,
  newLine: 'lf',
};

/** Every source file of the library (tests live in test/client, not here). */
export function clientSources(): string[] {
  return readdirSync(CLIENT_SRC)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .sort()
    .map((f) => path.join(CLIENT_SRC, f));
}

/**
 * The build in memory: path relative to dist/client → content. Each file is transpiled on its own
 * (isolatedDeclarations makes that exact for the .d.ts too), which takes milliseconds instead of
 * loading @types/node; type errors are `npm run typecheck`'s to find, as for the rest of src/.
 */
export function renderClientBuild(): Map<string, string> {
  const { options, errors } = ts.convertCompilerOptionsFromJson(COMPILER_OPTIONS, ROOT);
  if (errors.length > 0) throw new Error(format(errors));
  const out = new Map<string, string>();
  for (const file of clientSources()) {
    const input = readFileSync(file, 'utf8');
    const base = path.basename(file, '.ts');
    const js = ts.transpileModule(input, {
      compilerOptions: { ...options, declaration: false, isolatedDeclarations: false }, fileName: file, reportDiagnostics: true,
    });
    const dts = ts.transpileDeclaration(input, {
      compilerOptions: options, fileName: file, reportDiagnostics: true, transformers: { afterDeclarations: [rewriteDeclarationImports] },
    });
    const diagnostics = [...(js.diagnostics ?? []), ...(dts.diagnostics ?? [])];
    if (diagnostics.length > 0) throw new Error(format(diagnostics));
    out.set(`${base}.js`, HEADER + js.outputText);
    out.set(`${base}.d.ts`, HEADER + dts.outputText);
  }
  return new Map([...out].sort(([a], [b]) => a.localeCompare(b)));
}

// rewriteRelativeImportExtensions rewrites the .js only; the .d.ts would still say './x.ts', which
// a consumer's compiler without allowImportingTsExtensions may refuse.
const rewriteDeclarationImports: ts.TransformerFactory<ts.SourceFile | ts.Bundle> = (context) => {
  const { factory } = context;
  const rewrite = (spec: ts.Expression | undefined): ts.Expression | undefined =>
    spec !== undefined && ts.isStringLiteral(spec) && /^\.\.?\/.*\.ts$/.test(spec.text) && !spec.text.endsWith('.d.ts')
      ? factory.createStringLiteral(spec.text.replace(/\.ts$/, '.js'))
      : spec;
  const visit = (node: ts.Node): ts.Node => {
    if (ts.isImportDeclaration(node)) {
      return factory.updateImportDeclaration(node, node.modifiers, node.importClause, rewrite(node.moduleSpecifier) ?? node.moduleSpecifier, node.attributes);
    }
    if (ts.isExportDeclaration(node)) {
      return factory.updateExportDeclaration(node, node.modifiers, node.isTypeOnly, node.exportClause, rewrite(node.moduleSpecifier), node.attributes);
    }
    if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      const spec = rewrite(node.argument.literal);
      if (spec !== node.argument.literal && spec !== undefined && ts.isStringLiteral(spec)) {
        return factory.updateImportTypeNode(node, factory.updateLiteralTypeNode(node.argument, spec), node.attributes, node.qualifier, node.typeArguments, node.isTypeOf);
      }
    }
    return ts.visitEachChild(node, visit, context);
  };
  return (root) => (ts.isSourceFile(root) ? ts.visitEachChild(root, visit, context) : root);
};

function format(diagnostics: readonly ts.Diagnostic[]): string {
  return ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => ROOT,
    getNewLine: () => '\n',
  });
}

/** Replaces dist/client with a fresh build (no stale files left behind). */
export function writeClientBuild(): string[] {
  const files = renderClientBuild();
  rmSync(CLIENT_DIST, { recursive: true, force: true });
  mkdirSync(CLIENT_DIST, { recursive: true });
  for (const [name, text] of files) {
    mkdirSync(path.dirname(path.join(CLIENT_DIST, name)), { recursive: true });
    writeFileSync(path.join(CLIENT_DIST, name), text);
  }
  return [...files.keys()];
}

if (import.meta.main) {
  const written = writeClientBuild();
  console.log(`wrote ${written.length} files to ${path.relative(process.cwd(), CLIENT_DIST) || CLIENT_DIST}: ${written.join(', ')}`);
}
