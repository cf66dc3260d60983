// State survives a restart on the same data directory: pending codes keep their
// interval, last poll time and expiry; approved codes stay redeemable; the signing key and the
// server secret stay, so earlier tokens still verify and typed user codes still resolve.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { build, tempDir, TestClock, type TestApp } from '../helpers/build.ts';
import { assertOAuthError, decide, poll, startAuthorization, type TokenBody } from './_support.ts';

async function jwks(h: TestApp): Promise<JSONWebKeySet> {
  const res = await h.inject({ method: 'GET', url: '/oauth/jwks' });
  assert.equal(res.statusCode, 200);
  return res.json<JSONWebKeySet>();
}

test('a restart keeps slow_down intervals, last poll times, expiry, approvals and the signing key', async (t) => {
  const dir = tempDir(t);
  const clock = new TestClock();
  const t0 = clock.now();

  const before = await build(t, { dir, clock });
  const client = await before.publicClient();
  const user = await before.user('alice');
  const a = await startAuthorization(before, client);
  const b = await startAuthorization(before, client);
  const approved = await startAuthorization(before, client);
  const redeemed = await startAuthorization(before, client);

  // A and B: polled at t0, then at t0+1 s, which is a slow_down: interval 5 → 10, last poll t0+1 s.
  for (const code of [a, b]) assertOAuthError(await poll(before, code.device_code, client.clientId), 400, 'authorization_pending');
  clock.advance(1);
  for (const code of [a, b]) assertOAuthError(await poll(before, code.device_code, client.clientId), 400, 'slow_down');
  await decide(before, approved.user_code, user, true);
  await decide(before, redeemed.user_code, user, true);
  const tokenRes = await poll(before, redeemed.device_code, client.clientId);
  assert.equal(tokenRes.statusCode, 200);
  const earlierToken = tokenRes.json<TokenBody>().access_token;
  const jwksBefore = await jwks(before);

  await before.app.close();
  await before.services.close();

  const after = await build(t, { dir, clock });
  // Same clock, t0+1 s. A, 9 s after its last poll: too soon for an interval of 10, so last_polled_at
  // and the interval both survived (with either lost, this poll would be accepted).
  clock.advance(9);
  assertOAuthError(await poll(after, a.device_code, client.clientId), 400, 'slow_down');
  // B, exactly 10 s after its last poll: accepted, so the interval is 10, not 15 or more.
  clock.advance(1);
  assertOAuthError(await poll(after, b.device_code, client.clientId), 400, 'authorization_pending');

  // The redeemed code stays redeemed; the code approved before the restart is redeemed after it.
  assertOAuthError(await poll(after, redeemed.device_code, client.clientId), 400, 'invalid_grant');
  const afterRes = await poll(after, approved.device_code, client.clientId);
  assert.equal(afterRes.statusCode, 200, afterRes.body);

  // The user code still resolves (the server secret survived), and B expires at its original time.
  const pending = await after.services.deviceFlow.findPendingByUserCode(after.services.defaultEnv, b.user_code);
  assert.equal(pending.expiresAt, t0 + 600_000);
  clock.t = t0 + 599_999;
  assertOAuthError(await poll(after, b.device_code, client.clientId), 400, 'authorization_pending');
  clock.t = t0 + 600_000;
  assertOAuthError(await poll(after, b.device_code, client.clientId), 400, 'expired_token');
  assertOAuthError(await poll(after, a.device_code, client.clientId), 400, 'expired_token');

  // Both tokens, from before and after the restart, verify against the JWKS served now: same key.
  const jwksAfter = await jwks(after);
  assert.deepEqual(jwksAfter, jwksBefore);
  const keySet = createLocalJWKSet(jwksAfter);
  const opts = { issuer: 'http://issuer.test', audience: 'http://issuer.test', typ: 'at+jwt', currentDate: new Date(t0 + 60_000) };
  const early = await jwtVerify(earlierToken, keySet, opts);
  const late = await jwtVerify(afterRes.json<TokenBody>().access_token, keySet, opts);
  assert.equal(early.payload.sub, user.id);
  assert.equal(late.payload.sub, user.id);
  assert.equal(early.protectedHeader.kid, late.protectedHeader.kid);
});
