import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { issueAccessToken } from '../../src/core/access-tokens.ts';
import type { Client } from '../../src/model/records.ts';
import { openServices } from '../../src/services.ts';
import { build, TestClock, type TestApp } from '../helpers/build.ts';
import { decide, poll, startAuthorization, type TokenBody } from '../oauth/_support.ts';
import { assertFailure, cliJson, dataDir, runCli, type EnvironmentJson } from './run.ts';

interface KeyJson {
  kid: string;
  environment_id: string;
  alg: string;
  status: 'active' | 'retired';
  created_at: string;
  retired_until: string | null;
}

interface RotateJson {
  environment_id: string;
  kid: string;
  alg: string;
  retention_seconds: number;
  retired: { kid: string; retired_until: string }[];
}

async function jwks(h: TestApp, prefix = '/oauth'): Promise<JSONWebKeySet> {
  const res = await h.inject({ method: 'GET', url: `${prefix}/jwks` });
  assert.equal(res.statusCode, 200, res.body);
  return res.json<JSONWebKeySet>();
}

const kids = (set: JSONWebKeySet): string[] => set.keys.map((k) => k.kid ?? '').sort();

/** A whole device login through the server: authorize, approve, poll; the access token. */
async function deviceLogin(h: TestApp, client: Client): Promise<string> {
  const user = await h.services.admin.users.getByUsername(h.services.defaultEnv.id, 'alice');
  const started = await startAuthorization(h, client);
  await decide(h, started.user_code, user, true);
  const res = await poll(h, started.device_code, client.clientId);
  assert.equal(res.statusCode, 200, res.body);
  return res.json<TokenBody>().access_token;
}

function verifyAt(h: TestApp, token: string, set: JSONWebKeySet) {
  return jwtVerify(token, createLocalJWKSet(set), {
    issuer: 'http://issuer.test', audience: 'http://issuer.test', typ: 'at+jwt', currentDate: new Date(h.clock.now()),
  });
}

test('keys rotate: old tokens keep verifying, new ones carry the new kid, and the old key leaves after the retention', async (t) => {
  const dir = await dataDir(t);
  // The CLI rotates on wall time; the server's clock starts there and is moved by hand.
  const h = await build(t, { dir, clock: new TestClock(Date.now()) });
  const { client } = await h.services.admin.createClient({ envId: h.services.defaultEnv.id, name: 'TV', tokenLifetime: 7200 });
  await h.user('alice');

  const before = await deviceLogin(h, client);
  const oldKid = decodeProtectedHeader(before).kid ?? '';
  assert.deepEqual(kids(await jwks(h)), [oldKid]);

  const rotatedAt = Date.now();
  const rotated = await cliJson<RotateJson>(dir, ['keys', 'rotate']);
  assert.equal(rotated.alg, 'ES256');
  assert.notEqual(rotated.kid, oldKid);
  // The longest token of the environment is the client's 7200 s (longer than a 3600 s session
  // token), plus 60 s of other processes' key cache, plus 60 s of clock tolerance.
  assert.equal(rotated.retention_seconds, 7200 + 60 + 60);
  assert.deepEqual(rotated.retired.map((k) => k.kid), [oldKid]);
  const retiredUntil = Date.parse(rotated.retired[0]?.retired_until ?? '');
  assert.ok(Math.abs(retiredUntil - (rotatedAt + 7320_000)) < 10_000, `retired until ${rotated.retired[0]?.retired_until ?? ''}`);

  // The running server's cache keeps signing with the old key for up to 60 s, as documented...
  const lastOld = await deviceLogin(h, client);
  assert.equal(decodeProtectedHeader(lastOld).kid, oldKid);
  // ...then the new key signs, and the JWKS carries both.
  h.clock.advance(61);
  const after = await deviceLogin(h, client);
  assert.equal(decodeProtectedHeader(after).kid, rotated.kid);
  const both = await jwks(h);
  assert.deepEqual(kids(both), [oldKid, rotated.kid].sort());
  assert.equal((await verifyAt(h, before, both)).protectedHeader.kid, oldKid);
  assert.equal((await verifyAt(h, after, both)).protectedHeader.kid, rotated.kid);

  const listed = await cliJson<{ keys: KeyJson[] }>(dir, ['keys', 'list']);
  assert.deepEqual(listed.keys.map((k) => [k.kid, k.alg, k.status, k.retired_until]),
    [[oldKid, 'ES256', 'retired', rotated.retired[0]?.retired_until], [rotated.kid, 'ES256', 'active', null]]);
  const text = await runCli(dir, ['keys', 'list']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^KID +ALG +STATUS +CREATED +RETIRED_UNTIL$/m);
  assert.match(text.stdout, new RegExp(`^${oldKid} +ES256 +retired +\\S+Z +${rotated.retired[0]?.retired_until ?? ''}$`, 'm'));
  assert.match(text.stdout, new RegExp(`^${rotated.kid} +ES256 +active +\\S+Z +-$`, 'm'));
  // A sweep now (wall time) must not take the retired key: tokens it signed are still valid.
  assert.equal((await cliJson<{ signing_keys: number }>(dir, ['sweep'])).signing_keys, 0);

  // The last token the old key signed (in the cache window) still verifies a second before it expires...
  h.clock.t = (decodeJwt(lastOld).exp ?? 0) * 1000 - 1000;
  assert.equal((await verifyAt(h, lastOld, await jwks(h))).protectedHeader.kid, oldKid);
  // ...the old key is published until retired_until...
  h.clock.t = retiredUntil - 1000;
  assert.ok(kids(await jwks(h)).includes(oldKid));
  // ...and once it has passed (and a running server's 60 s cache with it) it is gone, and sweep deletes it.
  h.clock.t = retiredUntil + 61_000;
  const last = await jwks(h);
  assert.deepEqual(kids(last), [rotated.kid]);
  await assert.rejects(verifyAt(h, before, last), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
  assert.equal((await h.services.store.sweep(h.clock.now())).signingKeys, 1);
  assert.deepEqual((await cliJson<{ keys: KeyJson[] }>(dir, ['keys', 'list'])).keys.map((k) => k.kid), [rotated.kid]);
});

test('keys rotate --env --alg RS256: only that environment changes; the retention follows its own lifetimes', async (t) => {
  const dir = await dataDir(t);
  const staging = await cliJson<EnvironmentJson>(dir, ['env', 'create', '--name', 'staging']);
  // Staging's only client has short tokens, so its session tokens (here 900 s) are the longest.
  await cliJson(dir, ['client', 'create', '--name', 'TV', '--token-lifetime', '600', '--env', 'staging']);
  const env = { env: { SESSION_TOKEN_LIFETIME_SECONDS: '900' } };
  const [defaultBefore, stagingBefore] = await Promise.all([
    cliJson<{ keys: KeyJson[] }>(dir, ['keys', 'list']),
    cliJson<{ keys: KeyJson[] }>(dir, ['keys', 'list', '--env', 'staging']),
  ]);

  const rotated = await cliJson<RotateJson>(dir, ['keys', 'rotate', '--alg', 'RS256', '--env', 'staging'], env);
  assert.equal(rotated.environment_id, staging.id);
  assert.equal(rotated.alg, 'RS256');
  assert.equal(rotated.retention_seconds, 900 + 60 + 60);
  assert.deepEqual(rotated.retired.map((k) => k.kid), stagingBefore.keys.map((k) => k.kid));

  const [defaultAfter, stagingAfter] = await Promise.all([
    cliJson<{ keys: KeyJson[] }>(dir, ['keys', 'list']),
    cliJson<{ keys: KeyJson[] }>(dir, ['keys', 'list', '--env', staging.id]),
  ]);
  assert.deepEqual(defaultAfter, defaultBefore, 'the default environment is untouched');
  assert.deepEqual(stagingAfter.keys.map((k) => [k.alg, k.status]), [['ES256', 'retired'], ['RS256', 'active']]);

  const h = await build(t, { dir, clock: new TestClock(Date.now()) });
  const set = await jwks(h, `/${staging.id}/as`);
  assert.deepEqual(set.keys.map((k) => [k.kid, k.kty, k.alg]).sort(),
    [[stagingBefore.keys[0]?.kid, 'EC', 'ES256'], [rotated.kid, 'RSA', 'RS256']].sort());
  // The default environment's JWKS never carries staging's keys.
  assert.ok(!kids(await jwks(h)).some((k) => k === rotated.kid));
});

test('keys rotate and list: bad input is a usage error', async (t) => {
  const dir = await dataDir(t);
  const [alg, env, extra, missing, help] = await Promise.all([
    runCli(dir, ['keys', 'rotate', '--alg', 'HS256']),
    runCli(dir, ['keys', 'rotate', '--env', 'nowhere']),
    runCli(dir, ['keys', 'list', 'extra']),
    runCli(dir, ['keys']),
    runCli(dir, ['keys', 'rotate', '--help']),
  ]);
  assertFailure(alg, /keys rotate: --alg must be ES256 or RS256, got "HS256"/);
  assertFailure(env, /no environment nowhere/);
  assertFailure(extra, /keys list: unexpected argument "extra"/);
  assertFailure(missing, /keys: missing command \(one of: rotate, list\)/);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--alg <ES256\|RS256>/);
  assert.match(help.stdout, /longest token lifetime/);
  // Nothing was rotated by the failed runs.
  assert.deepEqual((await cliJson<{ keys: KeyJson[] }>(dir, ['keys', 'list'])).keys.map((k) => k.status), ['active']);
});

test('a key another process rotated in verifies here at once, before this process\'s key cache expires', async (t) => {
  const clock = new TestClock();
  const h = await build(t, { clock });
  // The server's cache holds the first key.
  assert.equal((await jwks(h)).keys.length, 1);
  // Another process on the same database (a second instance, or the CLI) rotates and signs with the new key.
  const other = await openServices(h.config, { clock });
  t.after(() => other.close());
  const env = h.services.defaultEnv;
  const kid = await other.keys.rotate(env.id, 'ES256', 3600);
  const { client } = await h.services.admin.createClient({ envId: env.id, name: 'TV' });
  const user = await h.user('alice');
  const token = await issueAccessToken(other.keys, { env, client, userId: user.id, scope: '', issuer: h.config.publicUrl, grantId: 'g', now: clock.now() });
  assert.equal(decodeProtectedHeader(token.accessToken).kid, kid);
  clock.advance(2);
  const found = await h.services.keys.verificationKey(env.id, kid);
  assert.ok(found !== undefined, 'the new kid is found without waiting for the cache');
  // An invented kid is looked up again at most once a second.
  assert.equal(await h.services.keys.verificationKey(env.id, 'no-such-kid'), undefined);
});
