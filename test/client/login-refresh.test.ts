// `device-code-server login --refresh --out FILE` as a subprocess against a listening server: the
// refresh token saved by an earlier `login --out` is traded for new tokens, written back to the same
// 0600 file (the rotated refresh token replacing the spent one), and a refresh token the server no
// longer takes is exit 1 with one line telling to run login again. The ID token is saved too, and a
// refreshed one must name the same person (OpenID Connect Core §12.2).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { jsonOf, runCli, type CliResult } from '../cli/run.ts';
import { tempDir, type TestApp } from '../helpers/build.ts';
import { basic } from '../oauth/_support.ts';
import { decideCodes, JWT, listeningServer, refreshClient } from './_support.ts';

const SCOPE = 'openid profile offline_access';

interface Saved {
  access_token: string;
  token_type: string;
  expires_in: number | null;
  scope: string | null;
  issuer: string;
  client_id?: string;
  obtained_at: string;
  refresh_token?: string;
  id_token?: string;
}

const readSaved = (file: string): Saved => JSON.parse(readFileSync(file, 'utf8')) as Saved;

/** Exit 1, and the last line on stderr is the one error line, without a stack trace. */
function assertRefused(r: CliResult, pattern: RegExp): void {
  assert.equal(r.code, 1, `expected exit 1, got ${String(r.code)}; stdout: ${r.stdout}; stderr: ${r.stderr}`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.filter((l) => l.startsWith('device-code-server: ')).length, 1, r.stderr);
  const last = lines.at(-1) ?? '';
  assert.match(last, /^device-code-server: login: /);
  assert.match(last, pattern);
  assert.ok(!r.stderr.includes('    at '), `no stack trace: ${r.stderr}`);
  assert.ok(!/rt_[\w-]{10}/.test(r.stderr + r.stdout), 'no refresh token printed');
}

/** RFC 7662 through a resource server: asks without presenting the token to the token endpoint (which would count as reuse). */
async function active(h: TestApp, token: string): Promise<boolean> {
  const rs = await h.confidentialClient();
  const res = await h.form('/oauth/introspect', { token }, { authorization: basic(rs.client.clientId, rs.secret) });
  assert.equal(res.statusCode, 200, res.body);
  return res.json<{ active: boolean }>().active;
}

function refreshAtServer(h: TestApp, clientId: string, token: string) {
  return h.form('/oauth/token', { grant_type: 'refresh_token', refresh_token: token, client_id: clientId });
}

/** A server that approves every code, a refresh-token client, and a saved login in `dir/token.json`. */
async function signedIn(t: Parameters<typeof tempDir>[0], dir: string) {
  let approvals: ReturnType<typeof decideCodes> | undefined;
  const { h, base } = await listeningServer(t, (app) => { approvals = decideCodes(app, true); });
  const { client } = await refreshClient(h);
  const out = path.join(dir, 'token.json');
  const login = await runCli(dir, ['login', '--issuer', base, '--client-id', client.clientId, '--scope', SCOPE, '--out', out]);
  assert.equal(login.code, 0, login.stderr);
  assert.match(login.stderr, /✓ Signed in to http:\/\/127\.0\.0\.1:\d+ as approver \(scope: openid profile offline_access\)\.\n/);
  assert.ok(approvals);
  return { h, base, client, out, approvals };
}

test('login --refresh: each refresh rotates the saved refresh token (the old one is dead), 0600 under umask 000, --json', async (t) => {
  const dir = tempDir(t);
  const previous = process.umask(0);
  t.after(() => { process.umask(previous); });
  const { h, base, client, out, approvals } = await signedIn(t, dir);

  const first = readSaved(out);
  assert.equal(statSync(out).mode & 0o777, 0o600);
  assert.deepEqual(Object.keys(first), ['access_token', 'token_type', 'expires_in', 'scope', 'issuer', 'client_id', 'obtained_at', 'refresh_token', 'id_token']);
  assert.equal(first.client_id, client.clientId);
  assert.equal(first.scope, SCOPE);
  assert.match(first.refresh_token ?? '', /^rt_/);
  const jwks = createRemoteJWKSet(new URL(`${base}/oauth/jwks`));
  const user = await approvals.user;
  const idToken = (await jwtVerify(first.id_token ?? '', jwks, { issuer: base, audience: client.clientId, typ: 'JWT' })).payload;
  assert.deepEqual([idToken.sub, idToken.preferred_username], [user.id, 'approver']);

  // No --issuer, no --client-id: the file names both.
  const again = await runCli(dir, ['login', '--refresh', '--out', out]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout, `Saved the access token to ${out} (mode 0600).\n`);
  assert.match(again.stderr, /^✓ Refreshed the token from http:\/\/127\.0\.0\.1:\d+ as approver \(scope: openid profile offline_access\)\.\n$/);
  assert.equal(statSync(out).mode & 0o777, 0o600, 'still 0600 whatever the umask');
  const second = readSaved(out);
  assert.deepEqual(Object.keys(second), Object.keys(first));
  assert.match(second.access_token, JWT);
  assert.notEqual(second.access_token, first.access_token);
  assert.match(second.refresh_token ?? '', /^rt_/);
  assert.notEqual(second.refresh_token, first.refresh_token, 'rotated');
  assert.notEqual(second.id_token, first.id_token, 'a fresh ID token');
  const renewed = (await jwtVerify(second.id_token ?? '', jwks, { issuer: base, audience: client.clientId, typ: 'JWT' })).payload;
  assert.deepEqual([renewed.sub, renewed.auth_time, renewed.sid], [idToken.sub, idToken.auth_time, idToken.sid]);
  assert.deepEqual([second.issuer, second.client_id, second.scope, second.token_type, second.expires_in], [base, client.clientId, SCOPE, 'Bearer', 3600]);
  assert.ok(Date.parse(second.obtained_at) >= Date.parse(first.obtained_at));
  assert.equal(await active(h, first.refresh_token ?? ''), false, 'the old refresh token is dead');
  assert.equal(await active(h, second.refresh_token ?? ''), true);

  const json = await runCli(dir, ['login', '--refresh', '--out', out, '--json']);
  const summary = jsonOf(json);
  assert.deepEqual(Object.keys(summary).sort(), ['expires_in', 'issuer', 'obtained_at', 'out', 'scope', 'token_type']);
  assert.equal(summary.out, out);
  assert.equal(summary.issuer, base);
  const third = readSaved(out);
  assert.notEqual(third.refresh_token, second.refresh_token, 'rotated again');
  assert.ok(!json.stdout.includes(third.access_token), 'the token is not printed');
  assert.equal(await active(h, second.refresh_token ?? ''), false);
  assert.equal(await active(h, third.refresh_token ?? ''), true);
  assert.equal(statSync(out).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left behind');
  assert.equal(approvals.codes.length, 1, 'only the first login asked for a code');

  // The server refuses the first token, takes it for a copy and ends the grant: the file's token dies with it.
  const replay = await refreshAtServer(h, client.clientId, first.refresh_token ?? '');
  assert.equal(replay.statusCode, 400);
  assert.equal(replay.json<{ error: string }>().error, 'invalid_grant');
  const dead = await runCli(dir, ['login', '--refresh', '--out', out]);
  assertRefused(dead, /the refresh token is no longer valid: it expired, was revoked or was already used .*; run login again: device-code-server login --issuer http:\/\/127\.0\.0\.1:\d+ --client-id \S+ --scope 'openid profile offline_access' --out \S+token\.json$/);
  assert.equal(dead.stdout, '');
  assert.deepEqual(readSaved(out), third, 'a failed refresh leaves the file as it was');
  const deadJson = await runCli(dir, ['login', '--refresh', '--out', out, '--json']);
  assert.equal(deadJson.code, 1);
  const body = JSON.parse(deadJson.stdout) as { error: string; message: string };
  assert.equal(body.error, 'invalid_grant');
  assert.match(body.message, /^login: the refresh token is no longer valid.*run login again/);
});

test('login --refresh run several times at once on one file: they take turns, every one succeeds and the grant lives on; a dead holder\'s lock is taken over', async (t) => {
  const dir = tempDir(t);
  const { h, out } = await signedIn(t, dir);
  const first = readSaved(out);
  const runs = await Promise.all(Array.from({ length: 4 }, () => runCli(dir, ['login', '--refresh', '--out', out])));
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  const last = readSaved(out);
  assert.notEqual(last.refresh_token, first.refresh_token);
  assert.equal(await active(h, last.refresh_token ?? ''), true, 'no refresh presented a rotated token: the grant was not ended as reused');
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.lock')), [], 'the lock is released');

  // A lock left by a process that has exited (killed mid-refresh) does not block the next refresh.
  const gone = spawnSync(process.execPath, ['-e', '0']).pid;
  writeFileSync(path.join(dir, '.token.json.lock'), String(gone), { mode: 0o600 });
  const after = await runCli(dir, ['login', '--refresh', '--out', out]);
  assert.equal(after.code, 0, after.stderr);
  assert.equal(await active(h, readSaved(out).refresh_token ?? ''), true);
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.lock')), []);
});

test('login --refresh after the grant was revoked (RFC 7009): exit 1, run login again; --client-id for older files', async (t) => {
  const dir = tempDir(t);
  const { h, client, out } = await signedIn(t, dir);
  const saved = readSaved(out);

  // A file from before client_id was saved: --client-id supplies it, and the file has it afterwards.
  const older: Partial<Saved> = { ...saved };
  delete older.client_id;
  writeFileSync(out, JSON.stringify(older), { mode: 0o600 });
  assertRefused(await runCli(dir, ['login', '--refresh', '--out', out]), /token\.json names no client_id \(an older token file\): pass --client-id$/);
  const withId = await runCli(dir, ['login', '--refresh', '--out', out, '--client-id', client.clientId]);
  assert.equal(withId.code, 0, withId.stderr);
  const refreshed = readSaved(out);
  assert.equal(refreshed.client_id, client.clientId);

  const revoked = await h.form('/oauth/revoke', { token: refreshed.refresh_token ?? '', client_id: client.clientId });
  assert.equal(revoked.statusCode, 200, revoked.body);
  const r = await runCli(dir, ['login', '--refresh', '--out', out]);
  assertRefused(r, /the refresh token is no longer valid.*revoked.*; run login again: device-code-server login /);
  assert.deepEqual(readSaved(out), refreshed);
});

/** A JWT with these claims and no valid signature: what a token file holds is only read, never trusted as proof. */
const unsignedJwt = (claims: object): string =>
  [{ alg: 'ES256', typ: 'JWT' }, claims].map((part) => Buffer.from(JSON.stringify(part)).toString('base64url')).join('.') + '.c2ln';

test('login --refresh holds the new ID token to the saved one\'s subject; an answer without one keeps the saved one', async (t) => {
  const dir = tempDir(t);
  const { h, out } = await signedIn(t, dir);
  const saved = readSaved(out);
  const sub = String(decodeJwt(saved.id_token ?? '').sub);

  // Narrowed to no openid, the refresh answer carries no ID token (OpenID Connect Core §12.2): the saved one stays.
  const narrowed = await runCli(dir, ['login', '--refresh', '--out', out, '--scope', 'profile offline_access']);
  assert.equal(narrowed.code, 0, narrowed.stderr);
  assert.match(narrowed.stderr, /^✓ Refreshed the token from \S+ \(scope: profile offline_access\)\.\n$/, 'no ID token, so no name');
  const kept = readSaved(out);
  assert.notEqual(kept.refresh_token, saved.refresh_token);
  assert.equal(kept.id_token, saved.id_token);

  // An id_token the file cannot have come from a login is refused before the refresh token is presented.
  writeFileSync(out, JSON.stringify({ ...kept, id_token: 'garbage' }));
  assertRefused(await runCli(dir, ['login', '--refresh', '--out', out]), /token\.json holds an id_token without a subject/);
  assert.equal(await active(h, kept.refresh_token ?? ''), true, 'the refresh token was not presented');

  // The server's new ID token names the person who signed in, not the one this file now claims.
  const forged = { ...kept, id_token: unsignedJwt({ sub: 'someone-else' }) };
  writeFileSync(out, JSON.stringify(forged));
  const r = await runCli(dir, ['login', '--refresh', '--out', out]);
  assertRefused(r, new RegExp(`: the ID token names another person \\(sub "${sub}"\\) than the sign-in it renews \\(sub "someone-else"\\) \\(invalid_id_token\\); `
    + 'the file is unchanged, but its refresh token may be spent: run login again: device-code-server login --issuer '));
  assert.deepEqual(readSaved(out), forged, 'the file is left as it was');
});

test('login --refresh refuses: no --out, no file, a file others may read, a symlink, no refresh token, another issuer, not JSON', async (t) => {
  const dir = tempDir(t);
  let approvals: ReturnType<typeof decideCodes> | undefined;
  const { h, base } = await listeningServer(t, (app) => { approvals = decideCodes(app, true); });
  const { client } = await refreshClient(h);
  const plain = path.join(dir, 'plain.json');
  // Without offline_access the server sends no refresh token.
  const login = await runCli(dir, ['login', '--issuer', base, '--client-id', client.clientId, '--scope', 'openid', '--out', plain]);
  assert.equal(login.code, 0, login.stderr);
  assert.equal(readSaved(plain).refresh_token, undefined);

  const readable = path.join(dir, 'readable.json');
  writeFileSync(readable, readFileSync(plain));
  chmodSync(readable, 0o644);
  const link = path.join(dir, 'link.json');
  symlinkSync(plain, link);
  const garbage = path.join(dir, 'garbage.json');
  writeFileSync(garbage, 'not json', { mode: 0o600 });
  const missing = path.join(dir, 'missing.json');

  const [noOut, noFile, loose, symlink, noRefresh, otherIssuer, notJson] = await Promise.all([
    runCli(dir, ['login', '--refresh']),
    runCli(dir, ['login', '--refresh', '--out', missing]),
    runCli(dir, ['login', '--refresh', '--out', readable]),
    runCli(dir, ['login', '--refresh', '--out', link]),
    runCli(dir, ['login', '--refresh', '--out', plain]),
    runCli(dir, ['login', '--refresh', '--out', plain, '--issuer', 'http://127.0.0.1:9']),
    runCli(dir, ['login', '--refresh', '--out', garbage]),
  ]);
  assertRefused(noOut, /--refresh needs --out <file>/);
  assertRefused(noFile, /no token file .*missing\.json: sign in first with login --out /);
  assertRefused(loose, /refusing to read .*readable\.json: its mode is 0644, not 0600/);
  assertRefused(symlink, /refusing to read .*link\.json: not a regular file/);
  assertRefused(noRefresh, /plain\.json has no refresh_token .*offline_access.*run login again: device-code-server login --issuer /);
  assertRefused(otherIssuer, /plain\.json holds a token of http:\/\/127\.0\.0\.1:\d+, not of http:\/\/127\.0\.0\.1:9$/);
  assertRefused(notJson, /garbage\.json is not a token file/);
  assert.equal(approvals?.codes.length, 1, 'no refusal asked for a code');
  assert.equal(readFileSync(garbage, 'utf8'), 'not json');
});
