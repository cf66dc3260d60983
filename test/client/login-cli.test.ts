// `device-code-server login` as a subprocess against a listening server. The server approves or
// denies each code itself once the CLI has polled (decideCodes), since the test cannot read the
// subprocess's output while it runs. Not a terminal here: no QR code, no spinner, no escape codes.
// An ID token that fails validation comes from a small provider on 127.0.0.1 (fakeIssuer).
import assert from 'node:assert/strict';
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createRemoteJWKSet, generateKeyPair, jwtVerify } from 'jose';
import { jsonOf, runCli, type CliResult } from '../cli/run.ts';
import { tempDir } from '../helpers/build.ts';
import { CONTROL_CHARS, decideCodes, fakeIssuer, freePort, JWT, listeningServer, loseFirstToken } from './_support.ts';

const login = (issuer: string, clientId: string, ...more: string[]) => ['login', '--issuer', issuer, '--client-id', clientId, ...more];

/** Exit 1, and the last line on stderr is the one error line (the lines above it were for the person). */
function assertRefused(r: CliResult, pattern: RegExp): void {
  assert.equal(r.code, 1, `expected exit 1, got ${String(r.code)}; stdout: ${r.stdout}; stderr: ${r.stderr}`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  const last = lines.at(-1) ?? '';
  assert.match(last, /^device-code-server: login: /);
  assert.match(last, pattern);
  assert.equal(lines.filter((l) => l.startsWith('device-code-server: ')).length, 1, r.stderr);
  assert.ok(!r.stderr.includes('    at '), `no stack trace: ${r.stderr}`);
}

function assertPlain(r: CliResult): void {
  assert.doesNotMatch(r.stdout, CONTROL_CHARS, 'no escape codes on stdout');
  assert.doesNotMatch(r.stderr, CONTROL_CHARS, 'no escape codes on stderr');
  assert.doesNotMatch(r.stderr, /[▀▄█]/, 'no QR code off a terminal');
}

test('login: the token alone on stdout, or with --json one token object; the code and URL on stderr', async (t) => {
  const dir = tempDir(t);
  let approvals: ReturnType<typeof decideCodes> | undefined;
  const { h, base } = await listeningServer(t, (app) => { approvals = decideCodes(app, true); });
  assert.ok(approvals);
  const client = await h.publicClient({ pollInterval: 1, scope: 'openid profile email' });
  const { client: backend, secret } = await h.services.admin.createClient({
    envId: h.services.defaultEnv.id, name: 'Backend', confidential: true, pollInterval: 1, scope: 'profile',
  });
  assert.ok(secret !== undefined);
  const secretFile = path.join(dir, 'secret');
  writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });

  const started = Date.now();
  const [text, json, oidc, subjectOnly, confidential] = await Promise.all([
    runCli(dir, login(base, client.clientId)),
    runCli(dir, login(base, client.clientId, '--scope', 'profile', '--json')),
    runCli(dir, login(base, client.clientId, '--scope', 'openid profile email', '--json')),
    runCli(dir, login(base, client.clientId, '--scope', 'openid')),
    runCli(dir, login(base, backend.clientId, '--client-secret-file', secretFile, '--json')),
  ]);
  const user = await approvals.user;

  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/, 'the token alone, so $(…) captures it');
  assertPlain(text);
  const code = approvals.codes.find((c) => text.stderr.includes(c));
  assert.ok(code !== undefined, `a user code on stderr: ${text.stderr}`);
  assert.ok(text.stderr.includes(`Open ${base}/device in a browser`), text.stderr);
  assert.ok(text.stderr.includes(`${base}/device?user_code=${code}`), text.stderr);
  assert.match(text.stderr, /Waiting for approval/);
  // The client's default scope holds openid: the validated ID token names who approved.
  assert.ok(text.stderr.includes(`\n✓ Signed in to ${base} as approver (scope: openid profile email).\n`), text.stderr);
  // With openid alone there is no username or name: the subject id.
  assert.equal(subjectOnly.code, 0, subjectOnly.stderr);
  assert.ok(subjectOnly.stderr.includes(`\n✓ Signed in to ${base} as ${user.id} (scope: openid).\n`), subjectOnly.stderr);

  const body = jsonOf(json);
  assertPlain(json);
  // No openid, no ID token: the object and the line on stderr are as they were before OpenID Connect.
  assert.deepEqual(Object.keys(body).sort(), ['access_token', 'client_id', 'expires_in', 'issuer', 'obtained_at', 'scope', 'token_type']);
  assert.ok(json.stderr.includes(`\n✓ Signed in to ${base} (scope: profile).\n`), json.stderr);
  assert.equal(body.client_id, client.clientId);
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.scope, 'profile');
  assert.equal(body.expires_in, 3600);
  assert.equal(body.issuer, base);
  // When the token arrived, bounded by the test's own steps rather than by how fast a busy machine runs.
  const obtainedAt = Date.parse(String(body.obtained_at));
  assert.ok(started <= obtainedAt && obtainedAt <= Date.now(), String(body.obtained_at));
  assert.match(String(body.access_token), JWT);
  const { payload } = await jwtVerify(String(body.access_token), createRemoteJWKSet(new URL(`${base}/oauth/jwks`)), { issuer: base, audience: base });
  assert.equal(payload.sub, user.id);
  assert.ok(approvals.codes.some((c) => json.stderr.includes(c)), 'the code is on stderr with --json too');

  // With openid, the object has the ID token too: the server's, naming the person.
  const withId = jsonOf(oidc);
  assert.deepEqual(Object.keys(withId).sort(), ['access_token', 'client_id', 'expires_in', 'id_token', 'issuer', 'obtained_at', 'scope', 'token_type']);
  assert.equal(withId.scope, 'openid profile email');
  const claims = (await jwtVerify(String(withId.id_token), createRemoteJWKSet(new URL(`${base}/oauth/jwks`)), { issuer: base, audience: client.clientId, typ: 'JWT' })).payload;
  assert.deepEqual([claims.sub, claims.azp, claims.preferred_username, claims.email], [user.id, client.clientId, 'approver', 'approver@example.test']);
  assert.ok(oidc.stderr.includes(`✓ Signed in to ${base} as approver (scope: openid profile email).`), oidc.stderr);

  const conf = jsonOf(confidential);
  assert.equal(conf.scope, 'profile');
  assert.ok(!confidential.stderr.includes(secret) && !confidential.stdout.includes(secret), 'the secret is never printed');
});

test('login: denial and expiry are one clear line on stderr and exit 1 (with --json, {error, message} on stdout)', async (t) => {
  const dir = tempDir(t);
  let approvals: ReturnType<typeof decideCodes> | undefined;
  const { h, base } = await listeningServer(t, (app) => { approvals = decideCodes(app, false); });
  const client = await h.publicClient({ pollInterval: 1 });
  const { base: other, h: h2 } = await listeningServer(t);
  const shortLived = await h2.publicClient({ pollInterval: 1, codeLifetime: 2 });

  const [denied, deniedJson, expired, unknown] = await Promise.all([
    runCli(dir, login(base, client.clientId)),
    runCli(dir, login(base, client.clientId, '--json')),
    runCli(dir, login(other, shortLived.clientId)),
    runCli(dir, login(base, 'no-such-client', '--json')),
  ]);
  assert.equal(approvals?.codes.length, 2, 'two codes issued; the unknown client got none');

  assertRefused(denied, /sign-in was denied/);
  assert.equal(denied.stdout, '');
  assertPlain(denied);

  assert.equal(deniedJson.code, 1);
  const deniedBody = JSON.parse(deniedJson.stdout) as { error: string; message: string };
  assert.deepEqual(deniedBody, { error: 'access_denied', message: 'login: sign-in was denied (the authorization request was denied)' });
  assert.equal(deniedJson.stdout.split('\n').filter(Boolean).length, 1);

  assertRefused(expired, /the code expired before it was approved .*; run login again/);
  assert.equal(expired.stdout, '');

  assert.equal(unknown.code, 1);
  assert.equal((JSON.parse(unknown.stdout) as { error: string }).error, 'invalid_client');
  assertRefused(unknown, /does not accept this client/);
});

test('login: a token answer lost on the way is said plainly, not as a code someone else used', async (t) => {
  const dir = tempDir(t);
  let lost: ReturnType<typeof loseFirstToken> | undefined;
  const { h, base } = await listeningServer(t, (app) => {
    decideCodes(app, true);
    lost = loseFirstToken(app);
  });
  const client = await h.publicClient({ pollInterval: 1 });
  const r = await runCli(dir, login(base, client.clientId, '--json'));
  assertRefused(r, /login: the answer to a poll was lost .*; start the login again \(the device_code has already been used\)$/);
  assert.deepEqual(JSON.parse(r.stdout), {
    error: 'invalid_grant',
    message: 'login: the answer to a poll was lost (the connection failed), and the server will not take the code again; '
      + 'start the login again (the device_code has already been used)',
  });
  assert.deepEqual(lost?.statuses, [400, 200, 400], 'pending, the lost token, the retry refused');
});

test('login --out: a 0600 JSON file under umask 000, replaced only when it is a 0600 file already', async (t) => {
  const dir = tempDir(t);
  let approvals: ReturnType<typeof decideCodes> | undefined;
  const { h, base } = await listeningServer(t, (app) => { approvals = decideCodes(app, true); });
  const client = await h.publicClient({ pollInterval: 1, scope: 'profile' });
  const out = path.join(dir, 'token.json');
  const again = path.join(dir, 'again.json');
  writeFileSync(again, 'an older token\n', { mode: 0o600 });
  chmodSync(again, 0o600);
  const readable = path.join(dir, 'notes.txt');
  writeFileSync(readable, 'keep me\n');
  chmodSync(readable, 0o644);

  const previous = process.umask(0);
  let first: CliResult;
  let second: CliResult;
  let refused: CliResult;
  try {
    [first, second, refused] = await Promise.all([
      runCli(dir, login(base, client.clientId, '--out', out)),
      runCli(dir, login(base, client.clientId, '--out', again, '--json')),
      runCli(dir, login(base, client.clientId, '--out', readable)),
    ]);
  } finally {
    process.umask(previous);
  }

  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, `Saved the access token to ${out} (mode 0600).\n`);
  assert.equal(statSync(out).mode & 0o777, 0o600);
  const saved = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
  assert.deepEqual(Object.keys(saved), ['access_token', 'token_type', 'expires_in', 'scope', 'issuer', 'client_id', 'obtained_at']);
  assert.equal(saved.client_id, client.clientId, 'so that --refresh needs no --client-id');
  assert.match(String(saved.access_token), JWT);
  assert.equal(saved.token_type, 'Bearer');
  assert.equal(saved.expires_in, 3600);
  assert.equal(saved.scope, 'profile');
  assert.equal(saved.issuer, base);
  assert.match(String(saved.obtained_at), /^\d{4}-\d\d-\d\dT/);
  assert.ok(!first.stdout.includes(String(saved.access_token)) && !first.stderr.includes(String(saved.access_token)), 'the token is not printed');

  // An existing 0600 file is replaced; --json names the file and leaves the token out.
  const summary = jsonOf(second);
  assert.equal(summary.out, again);
  assert.equal(summary.access_token, undefined);
  assert.equal(statSync(again).mode & 0o777, 0o600);
  assert.match(String((JSON.parse(readFileSync(again, 'utf8')) as Record<string, unknown>).access_token), JWT);
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left behind');

  // A file others may read is refused before any code is requested, and left as it was.
  assertRefused(refused, /refusing to overwrite .*notes\.txt: its mode is 0644, not 0600/);
  assert.equal(readFileSync(readable, 'utf8'), 'keep me\n');
  assert.equal(approvals?.codes.length, 2, 'only the two other logins requested a code');
});

test('login: usage mistakes, an unreachable server and plain http to another machine', async (t) => {
  const dir = tempDir(t);
  const closed = `http://127.0.0.1:${await freePort()}`;
  const [missing, unreachable, insecure, noSecret] = await Promise.all([
    runCli(dir, ['login', '--issuer', closed]),
    runCli(dir, login(closed, 'cli', '--json')),
    runCli(dir, login('http://as.example', 'cli')),
    runCli(dir, login(closed, 'cli', '--client-secret-file', path.join(dir, 'nope'))),
  ]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /login: missing --client-id/);
  assert.equal(unreachable.code, 1);
  assert.deepEqual(JSON.parse(unreachable.stdout), {
    error: 'input',
    message: `login: cannot reach ${closed}/.well-known/oauth-authorization-server (ECONNREFUSED) (network)`,
  });
  assertRefused(insecure, /plain http to another machine.*\(insecure_url\)/);
  assertRefused(noSecret, /cannot read --client-secret-file .*nope \(ENOENT\)/);
});

test('login: an ID token that fails validation is one line naming what failed, exit 1, and nothing is saved', async (t) => {
  const dir = tempDir(t);
  const fake = await fakeIssuer(t);
  const args = login(fake.base, fake.clientId);

  // The provider's valid ID token signs the person in, by their username.
  fake.idToken = await fake.sign(fake.claims());
  const ok = await runCli(dir, args);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, 'at-fake\n');
  assert.ok(ok.stderr.includes(`\n✓ Signed in to ${fake.base} as robin (scope: openid profile offline_access).\n`), ok.stderr);

  // The same answer, but the ID token is meant for another client.
  fake.idToken = await fake.sign({ ...fake.claims(), aud: 'other-client', azp: 'other-client' });
  const out = path.join(dir, 'token.json');
  const [text, json, saved] = await Promise.all([runCli(dir, args), runCli(dir, [...args, '--json']), runCli(dir, [...args, '--out', out])]);
  const message = 'login: the ID token is meant for "other-client", not for this client "cli" (aud) (invalid_id_token)';
  assertRefused(text, /^device-code-server: login: the ID token is meant for "other-client", not for this client "cli" \(aud\) \(invalid_id_token\)$/);
  assert.equal(text.stdout, '', 'no token printed');
  assertPlain(text);
  assert.equal(json.code, 1);
  assert.deepEqual(JSON.parse(json.stdout), { error: 'input', message });
  assertRefused(saved, /\(aud\) \(invalid_id_token\)$/);
  assert.deepEqual(readdirSync(dir), [], 'no token file, and no temporary file');

  // Signed by a key the provider does not publish: said as plainly.
  const { privateKey } = await generateKeyPair('ES256');
  fake.idToken = await fake.sign(fake.claims(), { key: privateKey, kid: 'k2' });
  assertRefused(await runCli(dir, args), /: the ID token is signed with a key that http:\/\/127\.0\.0\.1:\d+\/jwks does not publish \(invalid_id_token\)$/);
});
