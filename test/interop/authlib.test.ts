// Interop with Python authlib (Debian's python3-authlib, for /usr/bin/python3): a device login
// polled by authlib's OAuth2Session at the server's interval, approved here by a person signing in
// through the flow API once it is pending, then authlib's refresh_token() against the listening
// server. authlib verifies each ID token against the JWKS and validates its claims (OpenID Connect
// Core §3.1.3.7, authlib.oidc.core.CodeIDToken) and fetches UserInfo; the test checks that what
// Python reports is what jose verifies and names the person. The rotated-out refresh token must
// then be refused. scripts/ensure-debian-packages.sh installs the packages (npm test's pretest,
// .ci/run); a machine without them fails here, by name, instead of skipping.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { listeningServer, refreshClient, JWT } from '../client/_support.ts';
import type { TestApp } from '../helpers/build.ts';
import { approveAsPerson, basic } from '../oauth/_support.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('authlib_client.py', import.meta.url));
const SCOPE = 'openid profile email offline_access';
const PASSWORD = 'correct horse battery';

interface PyToken {
  access_token: string;
  token_type: string;
  expires_in: number | null;
  scope: string | null;
  refresh_token: string | null;
  id_token: string | null;
}

/** An ID token as authlib verified it: its JOSE header and its validated claims. */
interface PyIdToken {
  header: Record<string, unknown>;
  claims: JWTPayload;
}

type Step =
  | { step: 'user_code'; user_code: string; verification_uri: string; interval: number }
  | { step: 'token'; token: PyToken; polls: { at: number; outcome: string }[]; id_token: PyIdToken; userinfo: Record<string, unknown> }
  | { step: 'refreshed'; token: PyToken; id_token: PyIdToken };

function requireAuthlib(): void {
  const r = spawnSync(PYTHON, ['-c', 'import requests; import authlib; from authlib.integrations.requests_client import OAuth2Session; print(authlib.__version__)'], { encoding: 'utf8' });
  assert.equal(r.status, 0, [
    `${PYTHON} cannot import authlib and requests (${(r.error?.message ?? r.stderr).trim().split('\n').at(-1) ?? ''}):`,
    'install Debian\'s python3-authlib and python3-requests (bash scripts/ensure-debian-packages.sh, or apt-get install -y python3-authlib python3-requests)',
  ].join(' '));
}

/** Resolves on the first authorization_pending the server sends: the client is then really polling. */
function firstPending(h: TestApp): Promise<void> {
  return new Promise((resolve) => {
    h.app.addHook('onSend', (request, _reply, payload, done) => {
      if (request.url.endsWith('/token') && typeof payload === 'string' && payload.includes('"authorization_pending"')) resolve();
      done(null, payload);
    });
  });
}

test('Python authlib: device login polled at the interval, its ID token verified and UserInfo fetched, then refresh_token() rotates the refresh token and renews the ID token', { timeout: 60_000 }, async (t) => {
  requireAuthlib();
  let pending: Promise<void> | undefined;
  const { h, base } = await listeningServer(t, (app) => { pending = firstPending(app); });
  assert.ok(pending);
  const { client } = await refreshClient(h, { scope: 'openid profile email' });
  const user = await h.services.admin.users.create({
    envId: h.services.defaultEnv.id, username: 'pat', email: 'pat@example.test', password: PASSWORD,
    name: 'Pat Garrett', givenName: 'Pat', familyName: 'Garrett', emailVerified: true,
  });

  const child = spawn(PYTHON, [SCRIPT, base, client.clientId, SCOPE], { stdio: ['ignore', 'pipe', 'pipe'] });
  const killer = setTimeout(() => { child.kill('SIGKILL'); }, 45_000);
  t.after(() => { clearTimeout(killer); if (child.exitCode === null) child.kill('SIGKILL'); });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => { resolve(code); });
  });

  const steps: Step[] = [];
  const approvals: Promise<void>[] = [];
  for await (const line of createInterface({ input: child.stdout })) {
    const step = JSON.parse(line) as Step;
    steps.push(step);
    if (step.step === 'user_code') {
      const code = step.user_code;
      // Approve once authlib has been told to wait, so the pending answer is part of the test.
      approvals.push(pending.then(() => approveAsPerson(h, code, 'pat', PASSWORD)));
    }
  }
  const code = await exited;
  await Promise.all(approvals);
  assert.equal(code, 0, `authlib_client.py failed (exit ${String(code)}): ${stderr}`);
  assert.deepEqual(steps.map((s) => s.step), ['user_code', 'token', 'refreshed'], stderr);

  const [started, got, refreshed] = steps;
  assert.ok(started?.step === 'user_code' && got?.step === 'token' && refreshed?.step === 'refreshed');
  assert.equal(started.interval, 1);
  assert.equal(started.verification_uri, `${base}/device`);
  // authlib polled: pending at least once, never too fast (no slow_down), then the token.
  const outcomes = got.polls.map((p) => p.outcome);
  assert.equal(outcomes[0], 'authorization_pending', JSON.stringify(got.polls));
  assert.equal(outcomes.at(-1), 'token');
  assert.ok(!outcomes.includes('slow_down'), JSON.stringify(got.polls));
  got.polls.forEach((p, i) => { assert.ok(p.at - (got.polls[i - 1]?.at ?? 0) >= 0.9, `poll ${i + 1} came too soon: ${JSON.stringify(got.polls)}`); });

  // The device-flow token, as authlib holds it.
  assert.match(got.token.access_token, JWT);
  assert.equal(got.token.token_type, 'Bearer');
  assert.equal(got.token.scope, SCOPE);
  assert.match(got.token.refresh_token ?? '', /^rt_/);
  const jwks = createRemoteJWKSet(new URL(`${base}/oauth/jwks`));
  const { payload } = await jwtVerify(got.token.access_token, jwks, { issuer: base, audience: base });
  assert.equal(payload.sub, user.id);

  // The ID token authlib verified and validated is the server's, as jose verifies it, and names pat:
  // who she is, how she signed in, to which client.
  assert.ok(got.token.id_token !== null);
  const idToken = await jwtVerify(got.token.id_token, jwks, { issuer: base, audience: client.clientId, typ: 'JWT' });
  assert.deepEqual(got.id_token.claims, idToken.payload, 'Python reports the claims jose verifies');
  assert.deepEqual(got.id_token.header, idToken.protectedHeader);
  const claims = got.id_token.claims;
  assert.deepEqual([claims.iss, claims.sub, claims.aud, claims.azp, claims.sid], [base, user.id, client.clientId, client.clientId, payload.gid]);
  assert.deepEqual([claims.amr, claims.acr], [['pwd'], '1']);
  assert.deepEqual(
    [claims.name, claims.given_name, claims.family_name, claims.preferred_username, claims.email, claims.email_verified],
    ['Pat Garrett', 'Pat', 'Garrett', 'pat', 'pat@example.test', true],
  );
  // UserInfo, fetched by authlib with the access token, names the same person with the same claims.
  assert.deepEqual(got.userinfo, {
    sub: user.id, name: 'Pat Garrett', given_name: 'Pat', family_name: 'Garrett', preferred_username: 'pat',
    updated_at: claims.updated_at, email: 'pat@example.test', email_verified: true,
  });

  // After authlib's refresh: a new access token and a new refresh token.
  assert.match(refreshed.token.access_token, JWT);
  assert.notEqual(refreshed.token.access_token, got.token.access_token);
  assert.match(refreshed.token.refresh_token ?? '', /^rt_/);
  assert.notEqual(refreshed.token.refresh_token, got.token.refresh_token, 'the refresh token rotated');
  assert.equal(refreshed.token.scope, SCOPE);
  const after = await jwtVerify(refreshed.token.access_token, jwks, { issuer: base, audience: base });
  assert.equal(after.payload.sub, user.id);
  assert.equal(after.payload.gid, payload.gid, 'the same grant');
  // …and a new ID token, validated by authlib, for the same person and sign-in (OpenID Connect Core §12.2).
  assert.ok(refreshed.token.id_token !== null && refreshed.token.id_token !== got.token.id_token);
  const renewed = await jwtVerify(refreshed.token.id_token, jwks, { issuer: base, audience: client.clientId, typ: 'JWT' });
  assert.deepEqual(refreshed.id_token.claims, renewed.payload);
  assert.deepEqual([renewed.payload.sub, renewed.payload.auth_time, renewed.payload.sid], [user.id, claims.auth_time, claims.sid]);

  // The old refresh token is dead: inactive to introspection, and refused by the token endpoint.
  const rs = await h.confidentialClient();
  const active = async (token: string) =>
    (await h.form('/oauth/introspect', { token }, { authorization: basic(rs.client.clientId, rs.secret) })).json<{ active: boolean }>().active;
  assert.equal(await active(got.token.refresh_token ?? ''), false);
  assert.equal(await active(refreshed.token.refresh_token ?? ''), true);
  const replay = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: got.token.refresh_token ?? '', client_id: client.clientId }),
  });
  assert.equal(replay.status, 400);
  assert.equal(((await replay.json()) as { error: string }).error, 'invalid_grant');
});
