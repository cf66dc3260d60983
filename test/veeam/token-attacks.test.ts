// Attacks on the Veeam facade's bearer session tokens (RFC 8725, RFC 6750): every forged, confused,
// stale or misplaced token at getDeviceCode is a 401 invalid_token with a Bearer challenge, and
// no device authorization is started for it. Each test first shows a good token is a 200 on the
// same request, so a refusal means the attack was caught, not that the probe was broken.
import assert from 'node:assert/strict';
import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { TestContext } from 'node:test';
import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { decodeJwt, exportJWK, SignJWT, type CryptoKey, type JSONWebKeySet, type JWK, type JWTPayload } from 'jose';
import type { Environment, User } from '../../src/model/records.ts';
import { build, type TestApp } from '../helpers/build.ts';
import { paddedToken } from '../helpers/jwt.ts';
import { decide, poll, startAuthorization, type TokenBody } from '../oauth/_support.ts';
import { adminJwt, adminKeyFile, databaseDigest } from '../rsa/_support.ts';
import { apiPrefix, assertInvalidToken, getDeviceCode, PASSWORD, sessionToken, type DeviceCodeBody } from './_support.ts';

const ROOT = 'http://issuer.test';

interface Setup {
  h: TestApp;
  user: User;
  token: string;
}

async function setup(t: TestContext): Promise<Setup> {
  const h = await build(t);
  const user = await h.user('alice');
  return { h, user, token: await sessionToken(h, 'alice') };
}

const b64json = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
const nowSeconds = (h: TestApp): number => Math.floor(h.clock.now() / 1000);
const segments = (jwt: string): [string, string, string] => {
  const [a, b, c] = jwt.split('.');
  assert.ok(a !== undefined && b !== undefined && c !== undefined, jwt);
  return [a, b, c];
};

/** Issuer and audience of an environment's session tokens (the default one is served at the root). */
function sessionUrls(env?: Environment): { iss: string; aud: string } {
  return env === undefined ? { iss: ROOT, aud: `${ROOT}/api` } : { iss: `${ROOT}/${env.id}/as`, aud: `${ROOT}/${env.id}/api` };
}

interface ForgeOptions {
  env?: Environment;
  /** Claims to add or override (undefined removes one). */
  claims?: Record<string, unknown>;
  header?: Record<string, unknown>;
  /** Another signer than the environment's active key. */
  key?: { alg: string; kid: string; privateKey: CryptoKey | KeyObject };
}

/**
 * A session token signed with the environment's own private key (or `key`): with no options it
 * is exactly what the server issues, so each option alone is what a refusal is about.
 */
async function forge(h: TestApp, user: User, o: ForgeOptions = {}): Promise<string> {
  const key = o.key ?? await h.services.keys.activeKey((o.env ?? h.services.defaultEnv).id);
  const iat = nowSeconds(h);
  const { iss, aud } = sessionUrls(o.env);
  // A session token names its grant; the forge borrows a live one of the user's, so that only
  // what each test changes differs from a real token.
  const env = o.env ?? h.services.defaultEnv;
  const real = await h.services.sessions.start(env, h.services.urls.of(env), user);
  const gid = decodeJwt(real.accessToken).gid;
  const all: Record<string, unknown> = { iss, sub: user.id, aud, iat, exp: iat + 3600, jti: 'forged-jti-0123456789', gid, ...o.claims };
  const claims = Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined));
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'session+jwt', ...o.header }).sign(key.privateKey);
}

async function publishedJwk(h: TestApp): Promise<JWK & { kid: string }> {
  const res = await h.inject({ method: 'GET', url: '/oauth/jwks' });
  assert.equal(res.statusCode, 200, res.body);
  const key = res.json<JSONWebKeySet>().keys[0];
  assert.ok(key?.kid !== undefined);
  return { ...key, kid: key.kid };
}

/** A 200 that started a device authorization: the token was accepted. */
async function assertAccepted(h: TestApp, token: string, label = 'good token', env?: Environment): Promise<void> {
  const res = await getDeviceCode(h, `Bearer ${token}`, env === undefined ? {} : { env });
  assert.equal(res.statusCode, 200, `${label}: ${res.body}`);
  assert.equal(typeof res.json<DeviceCodeBody>().deviceCode, 'string');
}

/** 401 invalid_token with the Bearer challenge, and the database exactly as before. */
async function assertRefusedResponse(h: TestApp, send: () => Promise<LightMyRequestResponse>, label: string): Promise<void> {
  const before = databaseDigest(h);
  const res = await send();
  assert.equal(res.statusCode, 401, `${label}: expected 401, got ${res.statusCode}: ${res.body}`);
  assertInvalidToken(res);
  assert.equal(databaseDigest(h), before, `${label}: the database changed`);
}

function assertRefused(h: TestApp, token: string, label: string, env?: Environment): Promise<void> {
  return assertRefusedResponse(h, () => getDeviceCode(h, `Bearer ${token}`, env === undefined ? {} : { env }), label);
}

test('Veeam probe: a session token is accepted and starts a device authorization; a forge with the same claims is too', async (t) => {
  const { h, user, token } = await setup(t);
  const before = databaseDigest(h);
  await assertAccepted(h, token);
  assert.notEqual(databaseDigest(h), before, 'the accepted request started a device authorization');
  // The test forger makes tokens the server takes, so each forged variant below differs in one thing only.
  await assertAccepted(h, await forge(h, user), 'forged with the environment key');
  await assertRefusedResponse(h, () => getDeviceCode(h, undefined), 'no Authorization header');
});

test('Veeam: alg none in any spelling is refused, with an empty or a garbage signature', async (t) => {
  const { h, token } = await setup(t);
  await assertAccepted(h, token);
  const [header, claims, signature] = segments(token);
  const { kid } = JSON.parse(Buffer.from(header, 'base64url').toString()) as { kid: string };
  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    for (const h64 of [b64json({ alg, kid, typ: 'session+jwt' }), b64json({ alg, typ: 'session+jwt' })]) {
      for (const sig of ['', 'AAAA', 'garbage', signature]) {
        await assertRefused(h, `${h64}.${claims}.${sig}`, `alg ${alg}, signature "${sig.slice(0, 10)}"`);
      }
    }
    await assertRefused(h, `${b64json({ alg, kid, typ: 'session+jwt' })}.${claims}`, `alg ${alg}, two segments`);
  }
});

test('Veeam: HS256 keyed with the published public key, and algorithms the key does not have, are refused', async (t) => {
  const { h, user, token } = await setup(t);
  await assertAccepted(h, token);
  const published = await publishedJwk(h);
  const { kid, ...bare } = published;
  const publicKey = createPublicKey({ key: bare, format: 'jwk' });
  const [, claims] = segments(token);
  const secrets: [string, Buffer | string][] = [
    ['the published JWK JSON', JSON.stringify(published)],
    ['the JWK JSON without kid', JSON.stringify(bare)],
    ['the SPKI PEM', publicKey.export({ type: 'spki', format: 'pem' })],
    ['the SPKI DER', publicKey.export({ type: 'spki', format: 'der' })],
    ['the x coordinate', Buffer.from(String(published.x), 'base64url')],
  ];
  for (const [name, secret] of secrets) {
    for (const header of [{ alg: 'HS256', kid, typ: 'session+jwt' }, { alg: 'HS256', typ: 'session+jwt' }]) {
      const input = `${b64json(header)}.${claims}`;
      await assertRefused(h, `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`, `HS256 with ${name}`);
    }
  }
  // RS256 or PS256 under the environment's kid, signed by an attacker's RSA key.
  const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
  for (const alg of ['RS256', 'PS256']) {
    await assertRefused(h, await forge(h, user, { key: { alg, kid, privateKey: attacker.privateKey } }), `${alg} under the real kid`);
  }
  // The real ES256 signature under a header that claims RS256.
  const [, , signature] = segments(token);
  await assertRefused(h, `${b64json({ alg: 'RS256', kid, typ: 'session+jwt' })}.${claims}.${signature}`, 'real signature relabelled RS256');
});

test('Veeam: embedded jwk, jku, x5u, x5c and other header parameters are refused, from an attacker key or the real one', async (t) => {
  const { h, user, token } = await setup(t);
  await assertAccepted(h, token);
  const { kid } = await publishedJwk(h);
  const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const attackerJwk = await exportJWK(attacker.publicKey);
  const fakeCert = Buffer.from('not really a certificate').toString('base64');
  const attackerKey = (k: string) => ({ alg: 'ES256', kid: k, privateKey: attacker.privateKey });

  // The attacker signs with their own key and points the server at it, under their kid or the real one.
  for (const k of ['attacker', kid]) {
    for (const header of [{ jwk: attackerJwk }, { jku: 'https://attacker.test/jwks.json' }, { x5u: 'https://attacker.test/cert.pem' }, { x5c: [fakeCert] }]) {
      await assertRefused(h, await forge(h, user, { key: attackerKey(k), header }), `attacker key, kid ${k.slice(0, 8)}, ${Object.keys(header).join('+')}`);
    }
  }
  // And without any embedded key, under the real kid, the attacker's signature is simply wrong.
  await assertRefused(h, await forge(h, user, { key: attackerKey(kid) }), 'attacker key under the real kid');

  // The real key with one extra parameter: only alg, typ and kid are accepted.
  const realJwk = await publishedJwk(h);
  const extras: Record<string, unknown>[] = [
    { jwk: realJwk },
    { jku: `${ROOT}/oauth/jwks` },
    { x5u: 'https://attacker.test/cert.pem' },
    { x5c: [fakeCert] },
    { crit: ['b64'], b64: true },
    { cty: 'JWT' },
  ];
  for (const header of extras) {
    await assertRefused(h, await forge(h, user, { header }), `real key with ${Object.keys(header).join('+')}`);
  }
  // An unknown critical extension, signed by hand as jose will not sign one.
  // The by-hand signer with the plain header is accepted, so only the header makes the difference.
  const record = (await h.services.store.signingKeys.list(h.services.defaultEnv.id)).find((k) => k.kid === kid);
  assert.ok(record);
  const envKey = createPrivateKey({ key: JSON.parse(h.services.secrets.decrypt(record.privateJwkEnc)) as JsonWebKey, format: 'jwk' });
  const [, claims] = segments(token);
  const es256ByHand = (header: Record<string, unknown>): string => {
    const input = `${b64json(header)}.${claims}`;
    return `${input}.${sign('sha256', Buffer.from(input), { key: envKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  };
  await assertAccepted(h, es256ByHand({ alg: 'ES256', kid, typ: 'session+jwt' }), 'hand-signed, plain header');
  await assertRefused(h, es256ByHand({ alg: 'ES256', kid, typ: 'session+jwt', crit: ['exp'], exp: 1 }), 'crit exp');

  // typ must be session+jwt exactly.
  for (const typ of ['at+jwt', 'JWT', 'application/session+jwt', 'SESSION+JWT', undefined]) {
    await assertRefused(h, await forge(h, user, { header: { typ } }), `typ ${typ ?? 'missing'}`);
  }
});

test('Veeam: an unknown, missing or foreign kid is refused', async (t) => {
  const { h, user, token } = await setup(t);
  await assertAccepted(h, token);
  const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  await assertRefused(h, await forge(h, user, { key: { alg: 'ES256', kid: 'attacker-kid', privateKey: attacker.privateKey } }), 'attacker key, own kid');
  // The real key's signature under another kid.
  for (const kid of ['unknown', '', 'x'.repeat(129), 42, null, undefined]) {
    await assertRefused(h, await forge(h, user, { header: { kid } }), `kid ${kid === undefined ? 'missing' : JSON.stringify(kid)}`);
  }
  // Another environment's key and kid, with claims meant for this environment.
  const other = await h.services.admin.createEnvironment('other');
  const otherKey = await h.services.keys.activeKey(other.id);
  await assertRefused(h, await forge(h, user, { key: otherKey }), "another environment's key");
});

test('Veeam: expiry and issued-at are checked at the 60-second tolerance boundary', async (t) => {
  const { h, user, token } = await setup(t);
  // Issued now, for 3600 s; jose refuses once exp <= now - tolerance.
  h.clock.advance(3600 + 59);
  await assertAccepted(h, token, 'exp + 59');
  h.clock.advance(1);
  await assertRefused(h, token, 'exp + 60');
  h.clock.advance(1);
  await assertRefused(h, token, 'exp + 61');

  // A token from the future: the clock of the verifier is behind the issuer's.
  const fresh = await sessionToken(h, 'alice');
  h.clock.advance(-60);
  await assertAccepted(h, fresh, 'iat = now + 60');
  h.clock.advance(-1);
  await assertRefused(h, fresh, 'iat = now + 61');
  h.clock.advance(61);

  const now = nowSeconds(h);
  await assertAccepted(h, await forge(h, user, { claims: { nbf: now + 60 } }), 'nbf = now + 60');
  await assertRefused(h, await forge(h, user, { claims: { nbf: now + 61 } }), 'nbf = now + 61');
  await assertRefused(h, await forge(h, user, { claims: { iat: now + 61, exp: now + 3600 } }), 'forged iat = now + 61');
});

test('Veeam: lifetime and required claims of a session token', async (t) => {
  const { h, user, token } = await setup(t);
  await assertAccepted(h, token);
  const now = nowSeconds(h);
  await assertAccepted(h, await forge(h, user, { claims: { exp: now + 3600 } }), 'lifetime 3600');
  await assertRefused(h, await forge(h, user, { claims: { exp: now + 3601 } }), 'lifetime 3601');
  await assertRefused(h, await forge(h, user, { claims: { exp: now + 86_400 * 365 } }), 'lifetime one year');
  for (const claim of ['sub', 'iat', 'exp', 'jti', 'iss', 'aud']) {
    await assertRefused(h, await forge(h, user, { claims: { [claim]: undefined } }), `no ${claim}`);
  }
  for (const [claim, value] of [['sub', ''], ['sub', 'no-such-user'], ['exp', String(now + 3600)], ['iat', String(now)]] as const) {
    await assertRefused(h, await forge(h, user, { claims: { [claim]: value } }), `${claim} ${JSON.stringify(value)}`);
  }
});

test('Veeam: wrong iss or aud is refused, and a token of one environment does not work in another', async (t) => {
  const { h, user, token } = await setup(t);
  await assertAccepted(h, token);
  const wrongIss = ['http://evil.test', `${ROOT}/`, `${ROOT}/oauth`, 'https://issuer.test', ['http://issuer.test']];
  for (const iss of wrongIss) await assertRefused(h, await forge(h, user, { claims: { iss } }), `iss ${JSON.stringify(iss)}`);
  const wrongAud = [ROOT, `${ROOT}/api/`, `${ROOT}/AdminInterface/restapi`, `${ROOT}/api/v1`, 'http://evil.test/api', [ROOT]];
  for (const aud of wrongAud) await assertRefused(h, await forge(h, user, { claims: { aud } }), `aud ${JSON.stringify(aud)}`);

  const a = await h.services.admin.createEnvironment('tenant-a');
  const b = await h.services.admin.createEnvironment('tenant-b');
  await h.user('anna', PASSWORD, a.id);
  await h.user('bert', PASSWORD, b.id);
  const tokenA = await sessionToken(h, 'anna', { env: a });
  const tokenB = await sessionToken(h, 'bert', { env: b });
  await assertAccepted(h, tokenA, 'A at A', a);
  await assertAccepted(h, tokenB, 'B at B', b);
  await assertRefused(h, tokenA, 'A at B', b);
  await assertRefused(h, tokenB, 'B at A', a);
  await assertRefused(h, tokenA, 'A at the default environment');
  await assertRefused(h, token, 'default at A', a);
  assert.equal(apiPrefix(a), `/${a.id}/api`);
  // A's key signing B's issuer and audience: B does not know A's kid.
  const bert = await h.services.admin.users.getByUsername(b.id, 'bert');
  await assertRefused(h, await forge(h, bert, { env: b, key: await h.services.keys.activeKey(a.id) }), "A's key, B's claims", b);
});

test('Veeam: oversized tokens and Authorization headers are refused before parsing', async (t) => {
  const { h, user, token } = await setup(t);
  await assertAccepted(h, token);
  // A token signed by the real key, padded to just under and just over the 8192-character limit.
  const padded = (target: number) => paddedToken((pad) => forge(h, user, { claims: { pad } }), target);
  const small = await padded(8189);
  assert.ok(small.length >= 8189 && small.length <= 8192, String(small.length));
  await assertAccepted(h, small, `length ${small.length}`);
  const big = await padded(8193);
  assert.ok(big.length > 8192, String(big.length));
  await assertRefused(h, big, `length ${big.length}`);
  await assertRefused(h, `${token}${'A'.repeat(9000)}`, 'good token with 9000 characters appended');

  // The header itself is bounded: a good token behind 9000 spaces (which the Bearer syntax
  // would allow) is refused; behind two spaces it is fine.
  const ok = await getDeviceCode(h, `Bearer  ${token}`);
  assert.equal(ok.statusCode, 200, ok.body);
  await assertRefusedResponse(h, () => getDeviceCode(h, `Bearer${' '.repeat(9000)}${token}`), 'header padded to 9000+');
  await assertRefusedResponse(h, () => getDeviceCode(h, `Bearer ${'A'.repeat(20_000)}`), 'header of 20000');
});

test('Veeam: the token only counts in an Authorization: Bearer header', async (t) => {
  const { h, token } = await setup(t);
  await assertAccepted(h, token);
  const url = `${apiPrefix()}/v1/accounts/created/getDeviceCode`;
  // In the query string: refused, even when the same good token is also in the header.
  await assertRefusedResponse(h, () => getDeviceCode(h, undefined, { url: `${url}?access_token=${token}` }), 'query only');
  await assertRefusedResponse(h, () => getDeviceCode(h, `Bearer ${token}`, { url: `${url}?access_token=${token}` }), 'query and header');
  await assertRefusedResponse(h, () => getDeviceCode(h, `Bearer ${token}`, { url: `${url}?access_token=` }), 'empty access_token in the query');
  const malformed = [
    `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`,
    `Basic ${token}`,
    `JWT ${token}`,
    token,
    'Bearer',
    'Bearer ',
    '',
    `Bearer ${token} ${token}`,
    `Bearer ${token}, Bearer ${token}`,
    `Bearer ${token},${token}`,
    `Bearer "${token}"`,
  ];
  for (const authorization of malformed) {
    await assertRefusedResponse(h, () => getDeviceCode(h, authorization), `Authorization "${authorization.slice(0, 30)}"`);
  }
  await assertAccepted(h, token, 'good token at the end');
});

test('Veeam: device access tokens and admin JWTs are refused at getDeviceCode', async (t) => {
  const { h, user, token } = await setup(t);
  await assertAccepted(h, token);
  const accessToken = async (audience?: string): Promise<string> => {
    const { client } = await h.services.admin.createClient({ envId: h.services.defaultEnv.id, name: 'TV', ...(audience === undefined ? {} : { audience }) });
    const started = await startAuthorization(h, client);
    await decide(h, started.user_code, user, true);
    const res = await poll(h, started.device_code, client.clientId);
    assert.equal(res.statusCode, 200, res.body);
    return res.json<TokenBody>().access_token;
  };
  // An ordinary device access token, and one whose aud is the session API: same issuer, same
  // key, same sub, same aud as a session token; only typ at+jwt tells them apart.
  await assertRefused(h, await accessToken(), 'device access token');
  const lookalike = await accessToken(`${ROOT}/api`);
  const payload = JSON.parse(Buffer.from(segments(lookalike)[1], 'base64url').toString()) as JWTPayload;
  assert.equal(payload.aud, `${ROOT}/api`);
  assert.equal(payload.iss, ROOT);
  assert.equal(payload.sub, user.id);
  await assertRefused(h, lookalike, 'device access token with the session API audience');

  // An admin JWT, plain and aimed at the session API.
  const file = await adminKeyFile(h);
  await assertRefused(h, await adminJwt(h, file), 'admin JWT');
  await assertRefused(h, await adminJwt(h, file, { claims: { aud: `${ROOT}/api`, iss: ROOT, sub: user.id, jti: 'j' } }), 'admin JWT with session claims');
});

test("Veeam: a disabled user's session token stops working at once", async (t) => {
  const { h, token } = await setup(t);
  await assertAccepted(h, token, 'before disabling');
  await h.services.admin.users.setDisabled(h.services.defaultEnv.id, 'alice', true);
  await assertRefused(h, token, 'after disabling');
  // The password grant will not mint a new one either.
  const res = await h.form('/api/oauth2/token', { grant_type: 'Password', Username: 'alice', Password: PASSWORD });
  assert.equal(res.statusCode, 400, res.body);
});
