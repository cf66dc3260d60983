// The checked-in JavaScript build of the client (dist/client) is what other packages import as
// `device-code-server/client`: it must be exactly what scripts/build-client.ts makes of the source,
// run without type stripping, type-check in a strict consumer, and depend on nothing of the server
// (only on packages of its own dependencies: jose and qrcode).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { CLIENT_DIST, CLIENT_SRC, renderClientBuild } from '../../scripts/build-client.ts';
import { tempDir } from '../helpers/build.ts';
import { decide } from '../oauth/_support.ts';
import { listeningServer, virtualTime } from './_support.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test('dist/client is the build of src/client (run `node scripts/build-client.ts` after changing src/client)', () => {
  const expected = renderClientBuild();
  const actual = new Map(readdirSync(CLIENT_DIST).sort().map((f) => [f, readFileSync(path.join(CLIENT_DIST, f), 'utf8')]));
  assert.deepEqual([...actual.keys()], [...expected.keys()], 'the same files');
  for (const [file, text] of expected) assert.equal(actual.get(file), text, `dist/client/${file} is stale`);
  assert.ok(expected.has('index.js') && expected.has('index.d.ts'));
});

/** Every module specifier in a JavaScript or TypeScript file. */
function specifiers(text: string): string[] {
  return [...text.matchAll(/(?:^|\s)(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]/gm)].map((m) => m[1] ?? m[2] ?? '');
}

test('the client imports only node: built-ins, jose, qrcode and its own files, never the server', () => {
  const files = [
    ...readdirSync(CLIENT_SRC).map((f) => path.join(CLIENT_SRC, f)),
    ...readdirSync(CLIENT_DIST).map((f) => path.join(CLIENT_DIST, f)),
  ];
  for (const file of files) {
    const specs = specifiers(readFileSync(file, 'utf8'));
    for (const spec of specs) {
      const own = /^\.\/[\w-]+\.(ts|js)$/.test(spec);
      assert.ok(spec.startsWith('node:') || spec === 'qrcode' || spec === 'jose' || own, `${path.relative(ROOT, file)} imports ${spec}`);
      if (file.startsWith(CLIENT_DIST)) assert.ok(!spec.endsWith('.ts'), `${path.relative(ROOT, file)} imports ${spec}: the build must import .js`);
    }
  }
});

test('the build runs without type stripping, as it will inside node_modules', () => {
  const r = spawnSync(process.execPath, ['--no-experimental-strip-types', '--input-type=module', '-e',
    "const c = await import('./dist/client/index.js'); console.log(Object.keys(c).sort().join(','));"], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), [
    'DEFAULT_INTERVAL_SECONDS', 'DEVICE_CODE_GRANT_TYPE', 'DeviceLoginError', 'ID_TOKEN_CLOCK_TOLERANCE_SECONDS', 'REFRESH_TOKEN_GRANT_TYPE',
    'SLOW_DOWN_SECONDS', 'deviceLogin', 'discover', 'isDeviceLoginError', 'pollForToken', 'printable', 'refreshToken', 'startDeviceAuthorization',
    'terminalQr', 'validateIdToken',
  ].join(','));
});

test('the built library completes a login against the server', async (t) => {
  const { h, base } = await listeningServer(t);
  const client = await import('../../dist/client/index.js');
  const app = await h.publicClient({ pollInterval: 1 });
  const user = await h.user('dana');
  const time = virtualTime(h);
  let userCode = '';
  const result = await client.deviceLogin({
    issuer: base, clientId: app.clientId, clock: time.clock, sleep: time.sleep,
    onCode: (prompt) => { userCode = prompt.user_code; },
    onPoll: () => decide(h, userCode, user, true),
  });
  assert.equal(result.token.token_type, 'Bearer');
  // The client's default scope holds openid: the build validated the ID token with jose.
  assert.equal(result.idTokenClaims?.sub, user.id);
  assert.equal(result.idTokenClaims.preferred_username, 'dana');
  assert.match(await client.terminalQr('https://as.example/device'), /[▀▄█]/);
});

test('the declarations type-check in a strict consumer that cannot import .ts', (t) => {
  const dir = tempDir(t);
  const consumer = path.join(dir, 'consumer.ts');
  const entry = path.join(CLIENT_DIST, 'index.js');
  writeFileSync(consumer, [
    `import { deviceLogin, DeviceLoginError, refreshToken, type DeviceLoginErrorCode, type IdTokenClaims, type TokenResponse } from ${JSON.stringify(entry)};`,
    'const code: DeviceLoginErrorCode = "invalid_id_token";',
    'export async function run(): Promise<TokenResponse | DeviceLoginErrorCode> {',
    '  try {',
    '    const { token, metadata, idTokenClaims } = await deviceLogin({ issuer: "https://as.example", clientId: "cli", onCode: (p) => { console.log(p.user_code); } });',
    '    const who: IdTokenClaims | undefined = idTokenClaims;',
    '    const name: string | undefined = who?.preferred_username ?? who?.name;',
    '    console.log(name, who?.email_verified === true);',
    '    const again = await refreshToken({ metadata, clientId: "cli", refreshToken: token.refresh_token ?? "", scope: "openid", expectedSubject: who?.sub });',
    '    const viaIssuer = await refreshToken({ issuer: metadata.issuer, clientId: "cli", refreshToken: again.token.refresh_token ?? "" });',
    '    return viaIssuer.token;',
    '  } catch (err) {',
    '    if (err instanceof DeviceLoginError) return err.code;',
    '    return code;',
    '  }',
    '}',
    '',
  ].join('\n'));
  // The few web globals the declarations name, so that only ES2022 and the client's files are checked
  // (checking all of @types/node would take most of the test's time and is not ours to judge).
  const globals = path.join(dir, 'globals.d.ts');
  writeFileSync(globals, 'declare interface RequestInit { method?: string }\ndeclare interface Response { status: number }\ndeclare interface AbortSignal { aborted: boolean }\ndeclare const console: { log(...args: unknown[]): void };\n');
  const program = ts.createProgram([consumer, globals], {
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts'],
    types: [],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  });
  const loaded = program.getSourceFiles().map((f) => f.fileName).filter((f) => f.startsWith(CLIENT_DIST)).map((f) => path.basename(f)).sort();
  assert.deepEqual(loaded, ['device-login.d.ts', 'discovery.d.ts', 'errors.d.ts', 'id-token.d.ts', 'index.d.ts', 'qr.d.ts', 'refresh.d.ts', 'transport.d.ts']);
  const diagnostics = ts.getPreEmitDiagnostics(program);
  assert.deepEqual(diagnostics.map((d) => `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`), []);
});
