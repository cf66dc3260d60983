// The Docker image's runtime stage, reproduced without Docker (CI has no engine). Everything the
// image is made of is read from the Dockerfile, not restated here, so the test follows the file:
// its stages are replayed into temporary root directories (COPY honours .dockerignore, the build
// stages' RUN commands run as written), then the app starts with the image's ENTRYPOINT, CMD, ENV
// and USER, and a device login goes through it over HTTP.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../scripts/net.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// The image's `node` is played by the project's pinned Node 24 (never the system's).
const NODE24 = path.join(ROOT, 'node_modules', '.bin', 'node');
const NODE24_DIR = path.dirname(realpathSync(NODE24));

// ---------------------------------------------------------------------------------------------
// A small Dockerfile reader: enough of the grammar for this project's file (continuations,
// comments, exec and shell forms, quoted words), and loud about anything it does not handle.

interface Instruction { keyword: string; args: string; line: number }
interface Stage { base: string; name: string | undefined; instructions: Instruction[] }

function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const first = lines[i] ?? '';
    if (/^\s*(#|$)/.test(first)) continue;
    const line = i + 1;
    let joined = '';
    let current = first;
    // A trailing backslash continues the instruction; comment lines inside it are dropped.
    while (/\\\s*$/.test(current)) {
      joined += current.replace(/\\\s*$/, '');
      i++;
      while (i < lines.length && /^\s*#/.test(lines[i] ?? '')) i++;
      current = lines[i] ?? '';
    }
    joined += current;
    const m = /^\s*(\S+)\s*(.*)$/.exec(joined);
    if (m === null) continue;
    const keyword = (m[1] ?? '').toUpperCase();
    const args = (m[2] ?? '').trim();
    if (keyword === 'FROM') {
      const [base, as, name, ...extra] = words(args.replace(/^--platform=\S+\s+/, ''));
      assert.ok(base !== undefined && (as === undefined || (as.toUpperCase() === 'AS' && name !== undefined && extra.length === 0)), `line ${line}: FROM ${args}`);
      stages.push({ base, name, instructions: [] });
    } else {
      const stage = stages.at(-1);
      assert.ok(stage !== undefined || keyword === 'ARG', `line ${line}: ${keyword} before the first FROM`);
      stage?.instructions.push({ keyword, args, line });
    }
  }
  return stages;
}

/** Splits like a shell: whitespace separates, quotes group, a backslash escapes. */
function words(s: string): string[] {
  const out: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s.charAt(i);
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < s.length) word = (word ?? '') + s.charAt(++i);
      else word = (word ?? '') + c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (c === '\\' && i + 1 < s.length) {
      word = (word ?? '') + s.charAt(++i);
    } else if (/\s/.test(c)) {
      if (word !== undefined) out.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + c;
    }
  }
  assert.equal(quote, undefined, `unterminated quote in: ${s}`);
  if (word !== undefined) out.push(word);
  return out;
}

/** Exec form (a JSON array) or shell form, as Docker runs them. */
function commandOf(args: string): { exec: boolean; argv: string[] } {
  if (args.startsWith('[')) {
    const parsed: unknown = JSON.parse(args);
    assert.ok(Array.isArray(parsed) && parsed.every((a) => typeof a === 'string'), `not an exec-form array: ${args}`);
    return { exec: true, argv: parsed };
  }
  return { exec: false, argv: ['/bin/sh', '-c', args] };
}

/** Leading --flag=value options, then the rest. */
function flagsOf(args: string): { flags: Map<string, string>; rest: string } {
  const flags = new Map<string, string>();
  let rest = args;
  for (let m = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest); m !== null; m = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest)) {
    flags.set(m[1] ?? '', m[2] ?? '');
    rest = rest.slice(m[0].length);
  }
  return { flags, rest };
}

function seconds(duration: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(duration);
  assert.ok(m !== null, `a duration: ${duration}`);
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}

interface Image {
  env: Record<string, string>;
  workdir: string;
  user: string | undefined;
  expose: string[];
  volumes: string[];
  healthcheck: { flags: Map<string, string>; exec: boolean; argv: string[] } | undefined;
  entrypoint: { exec: boolean; argv: string[] } | undefined;
  cmd: { exec: boolean; argv: string[] } | undefined;
}

/** The stage's chain of stages, from the one built on an external image to the stage itself. */
function lineage(stages: readonly Stage[], stage: Stage): Stage[] {
  const index = stages.indexOf(stage);
  const parent = stages.slice(0, index).find((s) => s.name !== undefined && s.name === stage.base);
  return parent === undefined ? [stage] : [...lineage(stages.slice(0, stages.indexOf(parent) + 1), parent), stage];
}

/** ENV key=value… (or the legacy ENV key value), into env. */
function applyEnv(env: Record<string, string>, args: string, line: number): void {
  const w = words(args);
  if (w[0]?.includes('=') === true) {
    for (const pair of w) {
      const eq = pair.indexOf('=');
      assert.ok(eq > 0, `line ${line}: ENV ${pair}`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  } else {
    const [key, ...value] = w;
    assert.ok(key !== undefined, `line ${line}: ENV needs a name`);
    env[key] = value.join(' ');
  }
  assert.ok(!Object.values(env).some((v) => v.includes('$')), `line ${line}: variable substitution in ENV is not reproduced`);
}

/** The image configuration the stage ends with (what `docker inspect` would show). */
function configOf(stages: readonly Stage[], stage: Stage): Image {
  const image: Image = { env: {}, workdir: '/', user: undefined, expose: [], volumes: [], healthcheck: undefined, entrypoint: undefined, cmd: undefined };
  for (const s of lineage(stages, stage)) {
    // As Docker's builder: ENTRYPOINT drops an inherited CMD, not one this stage set.
    let cmdSet = false;
    for (const { keyword, args, line } of s.instructions) {
      switch (keyword) {
        case 'ENV': applyEnv(image.env, args, line); break;
        case 'WORKDIR': image.workdir = path.posix.resolve(image.workdir, args); break;
        case 'USER': image.user = args; break;
        case 'EXPOSE': image.expose.push(...words(args)); break;
        case 'VOLUME': image.volumes.push(...(args.startsWith('[') ? commandOf(args).argv : words(args))); break;
        case 'HEALTHCHECK': {
          const { flags, rest } = flagsOf(args);
          if (/^NONE$/i.test(rest)) image.healthcheck = undefined;
          else {
            const m = /^CMD\s+(.*)$/i.exec(rest);
            assert.ok(m !== null, `line ${line}: HEALTHCHECK ${args}`);
            image.healthcheck = { flags, ...commandOf(m[1] ?? '') };
          }
          break;
        }
        case 'ENTRYPOINT': image.entrypoint = commandOf(args); if (!cmdSet) image.cmd = undefined; break;
        case 'CMD': image.cmd = commandOf(args); cmdSet = true; break;
        default: break;
      }
    }
  }
  return image;
}

// ---------------------------------------------------------------------------------------------
// .dockerignore, as BuildKit reads it: `*` and `?` within a path segment, `**` across them, a
// pattern also excludes everything below a matching directory, `!` re-includes, the last match wins.
// (Character classes are not supported; the test fails on one rather than guess.)

function dockerignore(text: string): (rel: string) => boolean {
  const rules = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')).map((l) => {
    const negate = l.startsWith('!');
    const pattern = path.posix.normalize((negate ? l.slice(1) : l).trim()).replace(/^\/+|\/+$/g, '');
    assert.ok(!/[[\]]/.test(pattern), `.dockerignore: character classes are not reproduced: ${l}`);
    let re = '';
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern.charAt(i);
      if (c === '*' && pattern.charAt(i + 1) === '*') {
        i++;
        if (pattern.charAt(i + 1) === '/') { i++; re += '(?:.*/)?'; } else re += '.*';
      } else if (c === '*') re += '[^/]*';
      else if (c === '?') re += '[^/]';
      else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
    }
    return { negate, re: new RegExp(`^${re}$`) };
  });
  return (rel) => {
    const parts = rel.split('/');
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const { negate, re } of rules) if (prefixes.some((p) => re.test(p))) excluded = !negate;
    return excluded;
  };
}

// ---------------------------------------------------------------------------------------------
// Replaying the stages. Each stage gets its own temporary root directory; container paths map
// into it. The external base image contributes only `node`, played by NODE24 through PATH.

interface Built { rootfs: string; image: Image }

interface Replay {
  t: TestContext;
  stages: readonly Stage[];
  ignored: (rel: string) => boolean;
  built: Map<Stage, Built>;
}

function newRoot(t: TestContext): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'dcs-docker-'));
  chmodSync(dir, 0o755); // a container's / is world-traversable; mkdtemp makes 0700
  t.after(() => { rmSync(dir, { recursive: true, force: true }); });
  return dir;
}

const inRoot = (rootfs: string, containerPath: string): string => path.join(rootfs, containerPath);

/** Copies a file or directory tree, skipping what .dockerignore excludes from the context. */
function copyFromContext(ignored: (rel: string) => boolean, rel: string, target: string): number {
  const from = path.join(ROOT, rel);
  if (statSync(from).isDirectory()) {
    mkdirSync(target, { recursive: true });
    let n = 0;
    for (const entry of readdirSync(from)) {
      const childRel = path.posix.join(rel, entry);
      if (!ignored(childRel)) n += copyFromContext(ignored, childRel, path.join(target, entry));
    }
    return n;
  }
  mkdirSync(path.dirname(target), { recursive: true });
  cpSync(from, target);
  return 1;
}

function buildStage(r: Replay, stage: Stage): Built {
  const done = r.built.get(stage);
  if (done !== undefined) return done;
  const rootfs = newRoot(r.t);
  const parent = r.stages.slice(0, r.stages.indexOf(stage)).find((s) => s.name !== undefined && s.name === stage.base);
  if (parent !== undefined) cpSync(buildStage(r, parent).rootfs, rootfs, { recursive: true });
  const isFinal = stage === r.stages.at(-1);
  let workdir = parent === undefined ? '/' : configOf(r.stages, parent).workdir;
  const env: Record<string, string> = parent === undefined ? {} : { ...configOf(r.stages, parent).env };
  for (const ins of stage.instructions) {
    const here = `Dockerfile line ${ins.line}`;
    switch (ins.keyword) {
      case 'WORKDIR':
        workdir = path.posix.resolve(workdir, ins.args);
        mkdirSync(inRoot(rootfs, workdir), { recursive: true });
        break;
      case 'ENV': applyEnv(env, ins.args, ins.line); break;
      case 'COPY': {
        const { flags, rest } = flagsOf(ins.args);
        const all = rest.startsWith('[') ? commandOf(rest).argv : words(rest);
        const dest = all.pop();
        assert.ok(dest !== undefined && all.length > 0, `${here}: COPY needs a source and a destination`);
        const destPath = path.posix.resolve(workdir, dest);
        const intoDir = dest.endsWith('/') || all.length > 1;
        const from = flags.get('from');
        for (const src of all) {
          assert.ok(!/[*?[]/.test(src), `${here}: wildcards in COPY are not reproduced`);
          let target: string;
          if (from === undefined) {
            assert.ok(!r.ignored(path.posix.normalize(src).replace(/\/+$/, '')), `${here}: ${src} is excluded by .dockerignore, so the build would fail`);
            const isDir = statSync(path.join(ROOT, src)).isDirectory();
            target = inRoot(rootfs, intoDir && !isDir ? path.posix.join(destPath, path.posix.basename(src)) : destPath);
            assert.ok(copyFromContext(r.ignored, path.posix.normalize(src), target) > 0, `${here}: ${src} copies nothing`);
          } else {
            const source = r.stages.find((s) => s.name === from);
            assert.ok(source !== undefined, `${here}: --from=${from} names no earlier stage`);
            const srcPath = inRoot(buildStage(r, source).rootfs, src);
            assert.ok(existsSync(srcPath), `${here}: ${src} does not exist in stage ${from}`);
            target = inRoot(rootfs, intoDir && !statSync(srcPath).isDirectory() ? path.posix.join(destPath, path.posix.basename(src)) : destPath);
            cpSync(srcPath, target, { recursive: true });
          }
          const chown = flags.get('chown');
          if (chown !== undefined && isRoot()) chownTree(target, ...ids(chown));
        }
        break;
      }
      case 'RUN': {
        // The final stage's RUN lines work on absolute container paths (/data) as root; their
        // effect on the volume is checked and reproduced where the test starts the server.
        if (isFinal) break;
        // These run on the test's machine, often as root: only commands that stay inside the
        // stage's directory. Anything that installs packages or touches absolute paths needs a
        // real engine (or a reproduction written for it here).
        assert.ok(!/(^|[\s;&|('"=])\/|\b(apt-get|apt|apk|dpkg|useradd|groupadd|sudo|chown|chmod)\b|\.\.\//.test(ins.args),
          `${here}: RUN ${ins.args} reaches outside the stage's directory; the test cannot replay it safely`);
        const { argv } = commandOf(ins.args);
        const [file = '', ...args] = argv;
        const started = Date.now();
        const res = spawnSync(file, args, {
          cwd: inRoot(rootfs, workdir),
          env: { ...hostEnv(), ...env, PATH: `${NODE24_DIR}:${process.env.PATH ?? ''}` },
          encoding: 'utf8',
          timeout: 120_000,
        });
        assert.equal(res.status, 0, `${here}: RUN ${ins.args} failed (${String(res.error ?? res.signal ?? res.status)}):\n${res.stdout}\n${res.stderr}`);
        r.t.diagnostic(`${here}: RUN ${ins.args.slice(0, 60)}… took ${Date.now() - started} ms`);
        break;
      }
      default: break;
    }
  }
  const built = { rootfs, image: configOf(r.stages, stage) };
  r.built.set(stage, built);
  return built;
}

// ---------------------------------------------------------------------------------------------
// Processes: the runtime's own identity and environment, nothing inherited from the test.

const isRoot = (): boolean => process.getuid?.() === 0;

function ids(spec: string): [number, number] {
  const m = /^(\d+)(?::(\d+))?$/.exec(spec);
  assert.ok(m !== null, `a numeric user[:group]: ${spec}`);
  return [Number(m[1]), Number(m[2] ?? m[1])];
}

function chownTree(target: string, uid: number, gid: number): void {
  chownSync(target, uid, gid);
  if (statSync(target).isDirectory()) for (const e of readdirSync(target)) chownTree(path.join(target, e), uid, gid);
}

/** The test's environment minus what would make a child node think it is a test. */
function hostEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NODE_TEST') && k !== 'NODE_OPTIONS'));
}

interface Done { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

function finish(child: ReturnType<typeof spawn>, what: string, timeoutMs: number, stdin = ''): Promise<Done> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  child.stdin?.on('error', () => { /* it may exit before reading */ });
  child.stdin?.end(stdin);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} timed out after ${timeoutMs} ms; stdout: ${stdout}; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
  });
}


function form(url: string, body: Record<string, string>): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body) });
}

// ---------------------------------------------------------------------------------------------

test('the Docker image\'s runtime stage, reproduced without Docker, serves a device login as its non-root user', { timeout: 180_000 }, async (t) => {
  const startedAt = Date.now();
  const stages = parseDockerfile(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
  const runtime = stages.at(-1);
  assert.ok(runtime !== undefined && stages.length >= 2, 'a multi-stage Dockerfile');
  const image = configOf(stages, runtime);
  const external = lineage(stages, runtime)[0]?.base ?? '';

  // What the SPEC (S8) asks of the image, read from the file.
  const tag = /^node:(24(?:\.\d+){0,2})(?:-[a-z]+)+$/.exec(external);
  assert.ok(tag !== null, `the runtime is Node 24 LTS, pinned by a tag naming its Debian: ${external}`);
  // The stand-in must be the image's Node: the same major, and the same release when the tag names one.
  const tested = spawnSync(NODE24, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim();
  const imageVersion = tag[1] ?? '';
  assert.ok(`${tested}.`.startsWith(`${imageVersion}.`),
    `the image has Node ${imageVersion} but the tests run ${tested} (node@24): move the Dockerfile's FROM with the devDependency`);
  assert.ok(image.user !== undefined, 'USER is set');
  const [uid, gid] = ids(image.user);
  assert.notEqual(uid, 0, 'the runtime user is not root');
  assert.equal(image.env.NODE_ENV, 'production');
  assert.equal(image.env.HOST, '0.0.0.0', 'reachable from outside the container');
  const dataDir = image.env.DATA_DIR ?? '';
  assert.ok(image.volumes.includes(dataDir), `DATA_DIR (${dataDir}) is a VOLUME: the database and secret outlive the container`);
  assert.ok(image.expose.some((p) => p.replace(/\/tcp$/, '') === (image.env.PORT ?? '3000')), `EXPOSE matches PORT: ${image.expose.join(' ')}`);
  assert.ok(image.entrypoint?.exec === true && image.cmd?.exec === true, 'ENTRYPOINT and CMD are exec form: signals reach node, not a shell');
  assert.equal(image.entrypoint.argv[0], 'node');
  assert.ok(image.healthcheck !== undefined, 'a HEALTHCHECK');
  assert.ok(image.healthcheck.argv.join(' ').includes('/healthz'), 'the healthcheck asks /healthz');
  // The volume must belong to the user before VOLUME (a RUN in the final stage does it).
  const runs = runtime.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
  assert.ok(runs.some((r) => new RegExp(`chown\\s+(-R\\s+)?${image.user ?? ''}\\s+(\\S+\\s+)*${dataDir}(\\s|$)`).test(r)), `a RUN gives ${dataDir} to ${image.user}`);
  const install = stages.flatMap((s) => s.instructions).find((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args));
  assert.ok(install !== undefined && /--omit=dev\b/.test(install.args), 'dependencies come from `npm ci --omit=dev`');

  const ignoredByContext = dockerignore(readFileSync(path.join(ROOT, '.dockerignore'), 'utf8'));
  for (const p of ['node_modules/typescript/package.json', 'data/device-code-server.db', 'data/server-secret', '.git/HEAD', 'test/cli/serve.test.ts', 'test-artifacts/x.png']) {
    assert.ok(ignoredByContext(p), `.dockerignore keeps ${p} out of the build context`);
  }

  // The image's user must be able to run the stand-in node (a checkout under a 0700 home is not).
  if (isRoot()) {
    const probe = spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', NODE24, '-v'], { encoding: 'utf8' });
    assert.equal(probe.status, 0, `uid ${uid} cannot run ${NODE24} (setpriv from util-linux is needed, and the checkout must be world-readable): ${probe.stderr}${String(probe.error ?? '')}`);
  }

  // npm ci needs the registry; without it (and only then) the reproduction cannot run.
  const ping = spawnSync('npm', ['ping', '--fetch-retries=1', '--fetch-retry-mintimeout=1000', '--fetch-retry-maxtimeout=2000'], { env: { ...hostEnv(), PATH: `${NODE24_DIR}:${process.env.PATH ?? ''}` }, encoding: 'utf8', timeout: 30_000 });
  if (ping.status !== 0) {
    const why = ping.stderr.split('\n').filter((l) => /^npm error (code|FetchError)/.test(l)).join('; ') || String(ping.error ?? ping.signal ?? ping.status);
    t.skip(`npm cannot reach the registry, so the production install cannot be reproduced (${why})`);
    return;
  }

  // ---- Build: replay the stages.
  const replay: Replay = { t, stages, ignored: ignoredByContext, built: new Map() };
  const { rootfs } = buildStage(replay, runtime);
  const app = inRoot(rootfs, image.workdir);
  t.diagnostic(`stages replayed in ${Date.now() - startedAt} ms`);

  // The production install holds no devDependencies (the lockfile marks the dev-only packages).
  const lock = JSON.parse(readFileSync(path.join(app, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  const devOnly = Object.entries(lock.packages).filter(([k, v]) => k !== '' && v.dev === true).map(([k]) => k);
  assert.ok(devOnly.includes('node_modules/typescript') && devOnly.includes('node_modules/eslint') && devOnly.includes('node_modules/node'));
  for (const dir of devOnly) assert.ok(!existsSync(path.join(app, dir)), `${dir} (a devDependency) is not in the image`);
  assert.ok(existsSync(path.join(app, 'node_modules', 'better-sqlite3')) && existsSync(path.join(app, 'node_modules', 'fastify')));
  for (const excluded of ['test', 'scripts', 'node_modules/.bin/tsc', '.git']) assert.ok(!existsSync(path.join(app, excluded)), `${excluded} is not in the image`);

  // The volume: owned by the image's user as the Dockerfile's RUN makes it (when we can chown).
  const data = inRoot(rootfs, dataDir);
  mkdirSync(data, { recursive: true });
  if (isRoot()) chownSync(data, uid, gid);
  const owner = isRoot() ? { uid, gid } : { uid: process.getuid?.() ?? -1, gid: process.getgid?.() ?? -1 };

  // ---- Run: the container's environment, and only that. HOST is loopback here (tests never
  // listen elsewhere) and the port is free; DATA_DIR is the replayed volume.
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...image.env, HOST: '127.0.0.1', PORT: String(port), DATA_DIR: data,
    PATH: `${NODE24_DIR}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, HOME: '/',
  };
  // Like `docker run --user` / `docker exec`: as the image's uid:gid with no extra groups.
  const asUser = (argv: readonly string[]): [string, string[]] => {
    const resolved = argv[0] === 'node' ? [NODE24, ...argv.slice(1)] : [...argv];
    const full = isRoot() ? ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', ...resolved] : resolved;
    return [full[0] ?? '', full.slice(1)];
  };
  const run = (argv: readonly string[], opts: { stdin?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Done> => {
    const [file, args] = asUser(argv);
    return finish(spawn(file, args, { cwd: app, env: opts.env ?? env, stdio: ['pipe', 'pipe', 'pipe'] }), argv.join(' '), opts.timeoutMs ?? 20_000, opts.stdin);
  };

  const [file, args] = asUser([...image.entrypoint.argv, ...image.cmd.argv]);
  const server = spawn(file, args, { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => server.kill('SIGKILL'));
  const exited = finish(server, 'the server', 60_000);
  const base = `http://127.0.0.1:${port}`;
  await new Promise<void>((resolve, reject) => {
    let out = '';
    let err = '';
    server.stderr.on('data', (c: string) => { err += c; });
    const timer = setTimeout(() => { reject(new Error(`the server did not start: ${out}${err}`)); }, 20_000);
    server.stdout.on('data', (c: string) => {
      out += c;
      if (out.includes('device-code-server listening')) { clearTimeout(timer); resolve(); }
    });
    server.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the server exited (${String(code)}): ${out}${err}`)); });
  });
  t.diagnostic(`listening after ${Date.now() - startedAt} ms`);

  const ready = await fetch(`${base}/readyz`);
  assert.equal(ready.status, 200, await ready.text());
  // /docs serves Swagger UI's files from node_modules at request time: a file left out of the image shows up only here.
  const docs = await fetch(`${base}/docs`);
  assert.equal(docs.status, 200, 'GET /docs');
  await docs.arrayBuffer();
  const bundle = await fetch(`${base}/docs/static/swagger-ui-bundle.js`);
  assert.equal(bundle.status, 200, 'Swagger UI\'s assets are in the image');
  await bundle.arrayBuffer();
  const yaml = await fetch(`${base}/openapi.yaml`);
  assert.equal(yaml.status, 200, 'GET /openapi.yaml');
  assert.match(await yaml.text(), /^openapi: 3\.1\.0/);

  // The HEALTHCHECK exactly as written (docker runs it in the container, with its env and user),
  // within its own --timeout; and it does fail when nothing answers.
  const hcTimeout = seconds(image.healthcheck.flags.get('timeout') ?? '30s') * 1000;
  const healthy = await run(image.healthcheck.argv, { timeoutMs: hcTimeout });
  assert.equal(healthy.code, 0, `HEALTHCHECK exits 0: ${healthy.stderr}`);
  const unhealthy = await run(image.healthcheck.argv, { env: { ...env, PORT: String(await freePort()) }, timeoutMs: hcTimeout });
  assert.notEqual(unhealthy.code, 0, 'HEALTHCHECK fails when nothing listens');

  // A device login, administered with the production install's own CLI (as `docker exec` would).
  const cli = async (cliArgs: string[], stdin?: string): Promise<string> => {
    const r = await run([...image.entrypoint?.argv ?? [], ...cliArgs], stdin === undefined ? {} : { stdin });
    assert.equal(r.code, 0, `${cliArgs.join(' ')}: exit ${String(r.code)}; stderr: ${r.stderr}`);
    return r.stdout;
  };
  const created = JSON.parse(await cli(['client', 'create', '--name', 'TV', '--json'])) as { client_id: string };
  await cli(['user', 'create', '--username', 'alice', '--email', 'alice@example.test'], 'correct horse battery staple\n');
  const authorization = await form(`${base}/oauth/device_authorization`, { client_id: created.client_id, scope: 'openid' });
  assert.equal(authorization.status, 200);
  const device = (await authorization.json()) as { device_code: string; user_code: string; verification_uri: string };
  assert.ok(device.verification_uri.startsWith(base), device.verification_uri);
  await cli(['approve', device.user_code, '--user', 'alice']);
  const tokenRes = await form(`${base}/oauth/token`, {
    grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: device.device_code, client_id: created.client_id,
  });
  const token = (await tokenRes.json()) as { access_token?: unknown; token_type?: unknown };
  assert.equal(tokenRes.status, 200, JSON.stringify(token));
  assert.equal(typeof token.access_token, 'string');
  assert.equal(token.token_type, 'Bearer');

  // Everything the server and the CLI wrote belongs to the runtime user.
  const written = readdirSync(data, { recursive: true, encoding: 'utf8' });
  assert.ok(written.includes('device-code-server.db') && written.includes('server-secret'), `the volume holds the database and the secret: ${written.join(', ')}`);
  for (const f of ['.', ...written]) {
    const st = lstatSync(path.join(data, f));
    assert.deepEqual({ uid: st.uid, gid: st.gid }, owner, `${f} is owned by ${owner.uid}:${owner.gid}`);
  }

  // SIGTERM reaches node (exec form, no shell) and it shuts down cleanly.
  server.kill('SIGTERM');
  const end = await exited;
  assert.deepEqual({ code: end.code, signal: end.signal }, { code: 0, signal: null }, end.stderr);
  t.diagnostic(`whole reproduction: ${Date.now() - startedAt} ms`);
});
