// The server as the Docker image runs it: lib/ built from src/ by scripts/build-server.ts (no
// TypeScript parser in the process), beside copies of bin/ and links to what the image copies
// (node_modules, migrations, openapi.yaml, package.json). The bench's own server-side files (the
// ceilings, the page-cache experiment) are stripped the same way, so both sides of every ratio
// run plain JavaScript.
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildServer, toJavaScript } from '../scripts/build-server.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

export interface Image {
  /** bin/device-code-server.js of the copy: runs its lib/. */
  bin: string;
  /** bench/ceiling.ts as JavaScript. */
  ceiling: string;
  /** bench/sqlite-cache.ts as JavaScript, for --import. */
  sqliteCache: string;
  /** The node options of the Dockerfile's ENTRYPOINT (between `node` and the script). */
  nodeFlags: string[];
}

/** The options the image gives node: `ENTRYPOINT ["node", …flags, "bin/device-code-server.js"]`. */
export function entrypointNodeFlags(dockerfile: string): string[] {
  const line = dockerfile.split('\n').find((l) => l.startsWith('ENTRYPOINT '));
  const argv = JSON.parse(line?.slice('ENTRYPOINT '.length) ?? 'null') as unknown;
  if (!Array.isArray(argv) || argv[0] !== 'node' || !argv.every((a) => typeof a === 'string')) {
    throw new Error('the Dockerfile\'s ENTRYPOINT is not the exec form ["node", …]');
  }
  return argv.slice(1).filter((a) => a.startsWith('--'));
}

export function buildImage(dir: string): Image {
  mkdirSync(path.join(dir, 'bin'), { recursive: true });
  mkdirSync(path.join(dir, 'bench'), { recursive: true });
  for (const linked of ['node_modules', 'migrations', 'openapi.yaml', 'package.json']) symlinkSync(path.join(ROOT, linked), path.join(dir, linked));
  buildServer(path.join(dir, 'lib'));
  const bin = path.join(dir, 'bin', 'device-code-server.js');
  copyFileSync(path.join(ROOT, 'bin', 'device-code-server.js'), bin);
  const strip = (name: string): string => {
    const out = path.join(dir, 'bench', `${name}.js`);
    writeFileSync(out, toJavaScript(readFileSync(path.join(ROOT, 'bench', `${name}.ts`), 'utf8')));
    return out;
  };
  const nodeFlags = entrypointNodeFlags(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
  return { bin, ceiling: strip('ceiling'), sqliteCache: strip('sqlite-cache'), nodeFlags };
}
