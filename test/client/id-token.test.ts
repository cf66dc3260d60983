// The device-login library validates the ID token of a token response (OpenID Connect Core
// §3.1.3.7) and of a refresh (§12.2): against the real server, whose ID tokens pass and name who
// approved, also when tampered with on the way; and against a small provider on 127.0.0.1
// (fakeIssuer) that hands out ID tokens wrong in one way each, which must each fail the login with
// invalid_id_token naming what failed. All times in the crafted tokens are hours off, never
// seconds: nothing here depends on how fast the machine runs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, generateKeyPair, jwtVerify, SignJWT, type JSONWebKeySet, type JWTPayload } from 'jose';
import { deviceLogin, pollForToken, type DeviceLoginResult } from '../../src/client/device-login.ts';
import { discover } from '../../src/client/discovery.ts';
import { DeviceLoginError } from '../../src/client/errors.ts';
import { validateIdToken } from '../../src/client/id-token.ts';
import { refreshToken } from '../../src/client/refresh.ts';
import type { Client } from '../../src/model/records.ts';
import type { TestApp } from '../helpers/build.ts';
import { approveAsPerson } from '../oauth/_support.ts';
import { fakeIssuer, freePort, listeningServer, refreshClient, virtualTime, type FakeIssuer } from './_support.ts';

const PASSWORD = 'correct horse battery';
const HOUR = 3600;

async function alice(h: TestApp) {
  return h.services.admin.users.create({
    envId: h.services.defaultEnv.id, username: 'alice', email: 'alice@example.test', password: PASSWORD,
    name: 'Alice Liddell', givenName: 'Alice', familyName: 'Liddell', emailVerified: true,
  });
}

/** A device login that alice approves through the flow API (a password sign-in) once it is pending; time is virtual. */
async function aliceLogsIn(h: TestApp, base: string, client: Client, scope: string): Promise<DeviceLoginResult> {
  const time = virtualTime(h);
  let userCode = '';
  let approved = false;
  return deviceLogin({
    issuer: base, clientId: client.clientId, scope, clock: time.clock, sleep: time.sleep,
    onCode: (prompt) => { userCode = prompt.user_code; },
    onPoll: async () => {
      if (approved) return;
      approved = true;
      await approveAsPerson(h, userCode, 'alice', PASSWORD);
    },
  });
}

/** Asserts a DeviceLoginError invalid_id_token whose message matches, and carries no token. */
function invalidIdToken(message: RegExp): (err: unknown) => true {
  return (err) => {
    assert.ok(err instanceof DeviceLoginError, String(err));
    assert.equal(err.code, 'invalid_id_token', err.message);
    assert.match(err.message, message);
    assert.doesNotMatch(err.message, /eyJ/, 'no token in the message');
    return true;
  };
}

/** The real server's verdict on an ID token, by jose alone: what the library's claims must equal. */
async function verifiedByJose(h: TestApp, base: string, idToken: string, audience: string): Promise<JWTPayload> {
  const jwks = (await h.inject({ method: 'GET', url: '/oauth/jwks' })).json<JSONWebKeySet>();
  const { payload } = await jwtVerify(idToken, createLocalJWKSet(jwks), { issuer: base, audience, typ: 'JWT', currentDate: new Date(h.clock.now()) });
  return payload;
}

test('deviceLogin returns the validated claims of the real server\'s ID token: who approved, how, and the access token\'s subject', async (t) => {
  const { h, base } = await listeningServer(t);
  const client = await h.publicClient({ pollInterval: 1, scope: 'openid profile email' });
  const user = await alice(h);

  const result = await aliceLogsIn(h, base, client, 'openid profile email');
  const claims = result.idTokenClaims;
  assert.ok(claims !== undefined && result.token.id_token !== undefined, 'an ID token, validated');
  assert.deepEqual(claims, await verifiedByJose(h, base, result.token.id_token, client.clientId), 'exactly the claims jose verifies');
  assert.equal(claims.iss, base);
  assert.equal(claims.sub, user.id);
  assert.equal(claims.aud, client.clientId);
  assert.equal(claims.azp, client.clientId);
  assert.deepEqual(claims.amr, ['pwd']);
  assert.equal(claims.acr, '1');
  assert.deepEqual(
    [claims.name, claims.given_name, claims.family_name, claims.preferred_username, claims.email, claims.email_verified],
    ['Alice Liddell', 'Alice', 'Liddell', 'alice', 'alice@example.test', true],
  );
  const access = decodeJwt(result.token.access_token);
  assert.equal(access.sub, claims.sub, 'the ID token names the access token\'s subject');
  assert.equal(claims.sid, access.gid, 'sid is the grant');

  // Without openid there is no ID token, and no claims.
  const plain = await aliceLogsIn(h, base, client, 'profile');
  assert.equal(plain.token.id_token, undefined);
  assert.equal(plain.idTokenClaims, undefined);
  assert.ok(!('idTokenClaims' in plain));
});

test('refreshToken validates the new ID token: the same person, sign-in and grant; another expected subject is invalid_id_token', async (t) => {
  const { h, base } = await listeningServer(t);
  const { client } = await refreshClient(h, { scope: 'openid profile email' });
  await alice(h);
  const first = await aliceLogsIn(h, base, client, 'openid profile offline_access');
  const claims = first.idTokenClaims;
  assert.ok(claims !== undefined);

  const refreshed = await refreshToken({ issuer: base, clientId: client.clientId, refreshToken: first.token.refresh_token ?? '', expectedSubject: claims.sub, clock: h.clock });
  const again = refreshed.idTokenClaims;
  assert.ok(again !== undefined && refreshed.token.id_token !== undefined, 'a fresh ID token (OpenID Connect Core §12.2)');
  assert.notEqual(refreshed.token.id_token, first.token.id_token);
  assert.deepEqual(again, await verifiedByJose(h, base, refreshed.token.id_token, client.clientId));
  assert.deepEqual([again.sub, again.auth_time, again.sid, again.preferred_username], [claims.sub, claims.auth_time, claims.sid, 'alice']);

  await assert.rejects(
    refreshToken({ metadata: refreshed.metadata, clientId: client.clientId, refreshToken: refreshed.token.refresh_token ?? '', expectedSubject: 'someone-else' }),
    invalidIdToken(/^the ID token names another person \(sub "[^"]+"\) than the sign-in it renews \(sub "someone-else"\)$/),
  );
});

test('an ID token of the real server tampered with on the way is refused: a changed claim, another key under the server\'s kid', async (t) => {
  let tamper: ((idToken: string) => Promise<string>) | undefined;
  const { h, base } = await listeningServer(t, (app) => {
    app.app.addHook('onSend', async (request, reply, payload) => {
      if (tamper === undefined || reply.statusCode !== 200 || typeof payload !== 'string' || !(request.url.split('?')[0] ?? '').endsWith('/token')) return payload;
      const body = JSON.parse(payload) as Record<string, unknown>;
      assert.equal(typeof body.id_token, 'string', 'the server sent an ID token to tamper with');
      body.id_token = await tamper(String(body.id_token));
      return JSON.stringify(body);
    });
  });
  const client = await h.publicClient({ pollInterval: 1, scope: 'openid profile' });
  await alice(h);

  // Another name in the payload, the server's signature kept.
  tamper = (idToken) => {
    const [header = '', payload = '', signature = ''] = idToken.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as JWTPayload;
    return Promise.resolve([header, Buffer.from(JSON.stringify({ ...claims, preferred_username: 'mallory' })).toString('base64url'), signature].join('.'));
  };
  await assert.rejects(aliceLogsIn(h, base, client, 'openid profile'), invalidIdToken(/^the ID token has a signature that does not verify with the issuer's keys \(http:\/\/127\.0\.0\.1:\d+\/oauth\/jwks\)$/));

  // The same claims signed by a key of the attacker's, named with the server's kid.
  const { privateKey } = await generateKeyPair('ES256');
  tamper = (idToken) => new SignJWT(decodeJwt(idToken)).setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: decodeProtectedHeader(idToken).kid }).sign(privateKey);
  await assert.rejects(aliceLogsIn(h, base, client, 'openid profile'), invalidIdToken(/^the ID token has a signature that does not verify with the issuer's keys/));

  // The check is not a refusal of everything: untouched, the same login passes.
  tamper = undefined;
  assert.equal((await aliceLogsIn(h, base, client, 'openid profile')).idTokenClaims?.preferred_username, 'alice');
});

/** A device login against the fake provider; the first poll gets the token, with no real waiting. */
function fakeLogin(fake: FakeIssuer): Promise<DeviceLoginResult> {
  return deviceLogin({ issuer: fake.base, clientId: fake.clientId, sleep: () => Promise.resolve() });
}

test('each wrong ID token fails the login with invalid_id_token naming what failed (a provider on 127.0.0.1 signing with jose)', async (t) => {
  const fake = await fakeIssuer(t);
  const now = Math.floor(Date.now() / 1000);
  const { privateKey: otherKey } = await generateKeyPair('ES256');

  // The provider itself is sound: its valid token passes, with typ JWT or without any typ.
  fake.idToken = await fake.sign(fake.claims());
  const ok = (await fakeLogin(fake)).idTokenClaims;
  assert.ok(ok !== undefined);
  assert.deepEqual([ok.sub, ok.name, ok.email_verified], ['user-1', 'Robin Hood', true]);
  fake.idToken = await fake.sign(fake.claims(), { typ: null });
  assert.equal((await fakeLogin(fake)).idTokenClaims?.preferred_username, 'robin');
  // Several audiences are fine when azp names this client.
  fake.idToken = await fake.sign({ ...fake.claims(), aud: ['api', fake.clientId] });
  assert.deepEqual((await fakeLogin(fake)).idTokenClaims?.aud, ['api', fake.clientId]);

  const cases: [string, () => Promise<string>, RegExp][] = [
    ['signed by another key under the published kid', () => fake.sign(fake.claims(), { key: otherKey }),
      /^the ID token has a signature that does not verify with the issuer's keys \(http:\/\/127\.0\.0\.1:\d+\/jwks\)$/],
    ['signed by a key the provider does not publish', () => fake.sign(fake.claims(), { key: otherKey, kid: 'k2' }),
      /^the ID token is signed with a key that http:\/\/127\.0\.0\.1:\d+\/jwks does not publish$/],
    ['for another client', () => fake.sign({ ...fake.claims(), aud: 'other-client', azp: 'other-client' }),
      /^the ID token is meant for "other-client", not for this client "cli" \(aud\)$/],
    ['issued to another party', () => fake.sign({ ...fake.claims(), aud: ['cli', 'other-client'], azp: 'other-client' }),
      /^the ID token was issued to "other-client", not to this client "cli" \(azp\)$/],
    ['several audiences without azp', () => fake.sign({ ...fake.claims(), aud: ['cli', 'other-client'], azp: undefined }),
      /^the ID token has several audiences and no azp naming this client$/],
    ['by another issuer', () => fake.sign({ ...fake.claims(), iss: 'https://evil.example' }),
      /^the ID token was issued by "https:\/\/evil\.example", not by http:\/\/127\.0\.0\.1:\d+ \(iss\)$/],
    ['expired', () => fake.sign({ ...fake.claims(), iat: now - 3 * HOUR, exp: now - 2 * HOUR }),
      /^the ID token expired at \d{4}-\d\d-\d\dT[\d:.]+Z \(exp\)$/],
    ['issued in the future', () => fake.sign({ ...fake.claims(), iat: now + 2 * HOUR, exp: now + 3 * HOUR }),
      /^the ID token was issued in the future \(iat \d{4}-.*\): check this machine's clock$/],
    ['an access token (typ at+jwt)', () => fake.sign(fake.claims(), { typ: 'at+jwt' }), /^the ID token has typ "at\+jwt", not JWT$/],
    ['without exp', () => fake.sign({ ...fake.claims(), exp: undefined }), /^the ID token has no exp$/],
    ['without iat', () => fake.sign({ ...fake.claims(), iat: undefined }), /^the ID token has no iat$/],
    ['without sub', () => fake.sign({ ...fake.claims(), sub: undefined }), /^the ID token has no sub$/],
    ['a claim of the wrong type', () => fake.sign({ ...fake.claims(), email_verified: 'yes' }), /^the ID token has an email_verified that is not a boolean$/],
    ['HMAC-signed', () => fake.sign(fake.claims(), { alg: 'HS256', key: new Uint8Array(32) }),
      /^the ID token is not signed with a public-key algorithm this client accepts/],
    ['unsigned (alg none)', () => Promise.resolve(`${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(fake.claims())).toString('base64url')}.`),
      /^the ID token is not signed with a public-key algorithm this client accepts/],
    ['not a JWT', () => Promise.resolve('not-a-jwt'), /^the ID token is not a valid signed JWT/],
  ];
  for (const [what, make, message] of cases) {
    fake.idToken = await make();
    await assert.rejects(fakeLogin(fake), invalidIdToken(message), what);
  }

  // pollForToken, the step on its own, validates too.
  const metadata = await discover(fake.base);
  fake.idToken = await fake.sign({ ...fake.claims(), aud: 'other-client' });
  const authorization = { device_code: 'dc-fake', user_code: 'BCDF-GHJK', verification_uri: `${fake.base}/device`, verification_uri_complete: undefined, expires_in: 600, interval: 1, expiresAt: Date.now() + 600_000 };
  await assert.rejects(pollForToken({ metadata, clientId: fake.clientId, authorization, sleep: () => Promise.resolve() }), invalidIdToken(/\(aud\)$/));

  // A refresh's ID token is held to the same rules, and to the subject of the sign-in.
  fake.idToken = await fake.sign({ ...fake.claims(), iat: now - 3 * HOUR, exp: now - 2 * HOUR });
  await assert.rejects(refreshToken({ metadata, clientId: fake.clientId, refreshToken: 'rt_fake' }), invalidIdToken(/expired/));
  fake.idToken = await fake.sign({ ...fake.claims(), sub: 'user-2' });
  await assert.rejects(refreshToken({ metadata, clientId: fake.clientId, refreshToken: 'rt_fake', expectedSubject: 'user-1' }), invalidIdToken(/another person \(sub "user-2"\)/));
  const refreshed = await refreshToken({ metadata, clientId: fake.clientId, refreshToken: 'rt_fake', expectedSubject: 'user-2' });
  assert.equal(refreshed.idTokenClaims?.sub, 'user-2');
});

test('keys that cannot be had: no jwks_uri, a JWKS that answers 404, one that cannot be reached, plain http elsewhere', async (t) => {
  const fake = await fakeIssuer(t);
  fake.idToken = await fake.sign(fake.claims());
  fake.jwksStatus = 404;
  await assert.rejects(fakeLogin(fake), (err: unknown) => {
    assert.ok(err instanceof DeviceLoginError);
    assert.equal(err.code, 'invalid_response');
    assert.match(err.message, /^cannot verify the ID token: the issuer's keys at http:\/\/127\.0\.0\.1:\d+\/jwks are not usable \(HTTP 404\)$/);
    return true;
  });
  fake.jwksStatus = 200;
  fake.noJwksUri = true;
  await assert.rejects(fakeLogin(fake), invalidIdToken(/^the ID token cannot be verified: http:\/\/127\.0\.0\.1:\d+ publishes no jwks_uri$/));

  const metadata = { ...(await discover(fake.base)), jwks_uri: `http://127.0.0.1:${await freePort()}/jwks` };
  await assert.rejects(validateIdToken(fake.idToken, { metadata, clientId: fake.clientId }), { code: 'network', message: /^cannot reach http:\/\/127\.0\.0\.1:\d+\/jwks \(ECONNREFUSED\)$/ });
  await assert.rejects(validateIdToken(fake.idToken, { metadata: { ...metadata, jwks_uri: 'http://keys.example/jwks' }, clientId: fake.clientId }), { code: 'insecure_url' });
});
