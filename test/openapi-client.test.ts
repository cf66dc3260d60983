// What an integrator's code generator makes of openapi.yaml: openapi-typescript generates the types
// of a client (into test/openapi-client/generated/, which git ignores), tsc typechecks a device
// login written against them with openapi-fetch (test/openapi-client/device-login.ts), and the
// login runs against a listening server: device authorization, a pending poll, the person
// approves, the next poll gets the tokens, and UserInfo answers for them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { OPENAPI_FILE } from '../src/surfaces/ops/routes.ts';
import { build } from './helpers/build.ts';
import { decide } from './oauth/_support.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLIENT = path.join(ROOT, 'test/openapi-client');
const GENERATED = path.join(CLIENT, 'generated/openapi.ts');

/** Runs a Node script of a devDependency with this Node; its output is the assertion message when it fails. */
function run(script: string, args: string[]): void {
  const r = spawnSync(process.execPath, [path.join(ROOT, script), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `${script} ${args.join(' ')} exited ${String(r.status ?? r.signal)}:\n${r.stdout}\n${r.stderr}`);
}

// The module's shape, as the test uses it (the file itself is typechecked by tsc below, not by the root project).
interface DeviceLoginModule {
  deviceLogin(o: {
    baseUrl: string; clientId: string; scope?: string;
    show: (a: { user_code: string; verification_uri: string; interval: number }) => void | Promise<void>;
    wait: (seconds: number) => Promise<void>;
  }): Promise<{ tokens: { access_token: string; token_type: string; scope: string; id_token?: string }; polls: number }>;
  userInfo(baseUrl: string, accessToken: string): Promise<{ sub: string; preferred_username?: string }>;
}

test('a client generated from openapi.yaml typechecks a device login, which then signs in against the server', { timeout: 300_000 }, async (t) => {
  rmSync(path.dirname(GENERATED), { recursive: true, force: true });
  mkdirSync(path.dirname(GENERATED), { recursive: true });
  run('node_modules/openapi-typescript/bin/cli.js', [OPENAPI_FILE, '--output', GENERATED]);
  run('node_modules/typescript/bin/tsc', ['--noEmit', '-p', path.join(CLIENT, 'tsconfig.json')]);

  const h = await build(t);
  const base = await h.listen();
  const client = await h.publicClient({ scope: 'openid profile' });
  const alice = await h.user('alice');
  const login = await import(pathToFileURL(path.join(CLIENT, 'device-login.ts')).href) as DeviceLoginModule;

  let shown: { user_code: string; verification_uri: string } | undefined;
  let waits = 0;
  const { tokens, polls } = await login.deviceLogin({
    baseUrl: base,
    clientId: client.clientId,
    scope: 'openid profile',
    show: (a) => { shown = a; },
    // No sleeping: the server's clock moves by the interval, and the person approves after the first (pending) poll.
    wait: async (seconds) => {
      h.clock.advance(seconds);
      if (++waits === 2) await decide(h, shown?.user_code ?? '', alice, true);
    },
  });
  assert.match(shown?.user_code ?? '', /^[A-Z]{4}-[A-Z]{4}$/);
  assert.equal(shown?.verification_uri, 'http://issuer.test/device');
  assert.equal(polls, 2, 'one pending poll, then the tokens');
  assert.equal(tokens.token_type, 'Bearer');
  assert.equal(tokens.scope, 'openid profile');
  assert.ok(tokens.id_token !== undefined);
  const me = await login.userInfo(base, tokens.access_token);
  assert.equal(me.sub, alice.id);
  assert.equal(me.preferred_username, 'alice');
});
