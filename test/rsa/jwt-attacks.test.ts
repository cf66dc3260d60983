// Attacks on the RSA admin API's bearer JWTs (docs/vendors.md, RFC 8725): every forged, confused, stale or
// misplaced token is a 403 in RSA's error body, and no registration code is written for it.
// Each test first shows the same request with a good token is a 200, so a refusal means the
// attack was caught, not that the probe was broken.
import assert from 'node:assert/strict';
import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { TestContext } from 'node:test';
import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { exportJWK, SignJWT } from 'jose';
import type { AdminKeyFile } from '../../src/core/admin-keys.ts';
import { build, type TestApp } from '../helpers/build.ts';
import { paddedToken } from '../helpers/jwt.ts';
import { decide, poll, startAuthorization, type TokenBody } from '../oauth/_support.ts';
import { sessionToken } from '../veeam/_support.ts';
import { adminJwt, adminKeyFile, assertRsaError, CODE_PATH, databaseDigest, RSA_APP_ID, rsaRequest } from './_support.ts';

const AUD = 'http://issuer.test/AdminInterface/restapi';
const AUTH_FAILED = /^Authentication failed: the JWT is missing, malformed, expired, or not signed by a valid admin API key\.$/;
const BODY = { email: 'user1@example.test', appId: RSA_APP_ID };

interface Setup {
  h: TestApp;
  file: AdminKeyFile;
}

async function setup(t: TestContext): Promise<Setup> {
  const h = await build(t);
  await h.user('user1');
  return { h, file: await adminKeyFile(h) };
}

const b64json = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
const nowSeconds = (h: TestApp): number => Math.floor(h.clock.now() / 1000);
/** A claim value for a failure message (JSON.stringify gives undefined for undefined). */
const show = (v: unknown): string => (v === undefined ? 'missing' : JSON.stringify(v));

/** The claims adminJwt would put in a good token, for tokens assembled by hand. */
function goodClaims(h: TestApp, file: AdminKeyFile): Record<string, unknown> {
  const iat = nowSeconds(h);
  return { sub: file.accessID, aud: file.adminRestApiUrl, iat, exp: iat + 3600 };
}

function hs256(header: Record<string, unknown>, claims: Record<string, unknown>, secret: Buffer | string): string {
  const input = `${b64json(header)}.${b64json(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** RS256 by hand, for headers jose refuses to sign (an unknown `crit` extension). */
function rs256ByHand(key: KeyObject, header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const input = `${b64json(header)}.${b64json(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

function signWith(key: KeyObject, claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...header }).sign(key);
}

function codeRequest(h: TestApp, jwt: string | undefined): Promise<LightMyRequestResponse> {
  return rsaRequest(h, 'POST', CODE_PATH, jwt, BODY);
}

/** A 200 with a registration code: the token was accepted. */
async function assertAccepted(h: TestApp, jwt: string, label = 'good token'): Promise<void> {
  const res = await codeRequest(h, jwt);
  assert.equal(res.statusCode, 200, `${label}: ${res.body}`);
  assert.match(res.json<{ deviceRegistrationCode: string }>().deviceRegistrationCode, /^\d+$/);
}

/** 403 in RSA's body, and the database exactly as before (no code was issued). */
async function assertRefusedResponse(h: TestApp, send: () => Promise<LightMyRequestResponse>, label: string): Promise<void> {
  const before = databaseDigest(h);
  const res = await send();
  assert.equal(res.statusCode, 403, `${label}: expected 403, got ${res.statusCode}: ${res.body}`);
  assertRsaError(res, 403, AUTH_FAILED, CODE_PATH);
  assert.equal(databaseDigest(h), before, `${label}: the database changed`);
}

function assertRefused(h: TestApp, jwt: string, label: string): Promise<void> {
  return assertRefusedResponse(h, () => codeRequest(h, jwt), label);
}

test('RSA probe: a good admin JWT is accepted and writes a registration code (so the refusals below mean something)', async (t) => {
  const { h, file } = await setup(t);
  const jwt = await adminJwt(h, file);
  const before = databaseDigest(h);
  await assertAccepted(h, jwt);
  assert.notEqual(databaseDigest(h), before, 'the accepted request issued a code');
  // And the refusal helper does see a refusal as one: no token at all.
  await assertRefusedResponse(h, () => codeRequest(h, undefined), 'no token');
});

test('RSA: alg none in any spelling is refused, with an empty or a garbage signature', async (t) => {
  const { h, file } = await setup(t);
  await assertAccepted(h, await adminJwt(h, file));
  const claims = b64json(goodClaims(h, file));
  // The signature of a good token, to paste after an alg-none header (signature stripping).
  const realSignature = (await adminJwt(h, file)).split('.')[2] ?? '';
  assert.ok(realSignature.length > 300);
  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    const header = b64json({ alg, typ: 'JWT' });
    for (const signature of ['', 'AAAA', 'garbage', realSignature]) {
      await assertRefused(h, `${header}.${claims}.${signature}`, `alg ${alg}, signature "${signature.slice(0, 10)}"`);
    }
    await assertRefused(h, `${header}.${claims}`, `alg ${alg}, two segments`);
  }
});

test('RSA: HS256 signed with the public key (algorithm confusion) is refused', async (t) => {
  const { h, file } = await setup(t);
  await assertAccepted(h, await adminJwt(h, file));
  const stored = await h.services.store.adminKeys.get(file.accessID);
  assert.ok(stored);
  const pem = stored.publicKeyPem;
  assert.match(pem, /^-----BEGIN PUBLIC KEY-----/);
  const publicKey = createPublicKey(pem);
  const secrets: [string, Buffer | string][] = [
    ['SPKI PEM bytes', Buffer.from(pem)],
    ['SPKI PEM trimmed', pem.trim()],
    ['SPKI DER', publicKey.export({ type: 'spki', format: 'der' })],
    ['PKCS#1 PEM', publicKey.export({ type: 'pkcs1', format: 'pem' })],
    ['JWK JSON', JSON.stringify(publicKey.export({ format: 'jwk' }))],
  ];
  for (const [name, secret] of secrets) {
    for (const alg of ['HS256', 'hs256']) {
      await assertRefused(h, hs256({ alg, typ: 'JWT' }, goodClaims(h, file), secret), `${alg} keyed with ${name}`);
    }
  }
});

test('RSA: any other alg than RS256 is refused, even when the real key signed it', async (t) => {
  const { h, file } = await setup(t);
  await assertAccepted(h, await adminJwt(h, file));
  const key = createPrivateKey(file.accessKey);
  for (const alg of ['PS256', 'RS384', 'RS512', 'PS512']) {
    const jwt = await new SignJWT(goodClaims(h, file)).setProtectedHeader({ alg, typ: 'JWT' }).sign(key);
    await assertRefused(h, jwt, `alg ${alg}`);
  }
});

test('RSA: embedded jwk, jku, x5u, x5c, crit and kid header parameters are refused, from an attacker key or the real one', async (t) => {
  const { h, file } = await setup(t);
  await assertAccepted(h, await adminJwt(h, file));
  const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const attackerJwk = await exportJWK(attacker.publicKey);
  const realJwk = await exportJWK(createPublicKey(file.accessKey));
  const fakeCert = Buffer.from('not really a certificate').toString('base64');

  // The attacker signs with their own key and points the server at it.
  const attackerHeaders: Record<string, unknown>[] = [
    { jwk: attackerJwk },
    { jku: 'https://attacker.test/jwks.json' },
    { x5u: 'https://attacker.test/cert.pem' },
    { x5c: [fakeCert] },
    { jwk: attackerJwk, kid: 'attacker' },
  ];
  for (const header of attackerHeaders) {
    await assertRefused(h, await signWith(attacker.privateKey, goodClaims(h, file), header), `attacker key with ${Object.keys(header).join('+')}`);
  }
  // Without any embedded key, the attacker's signature is simply wrong.
  await assertRefused(h, await signWith(attacker.privateKey, goodClaims(h, file)), 'attacker key, plain header');

  // The legitimate key with one extra parameter: still not exactly {alg, typ}.
  const extraHeaders: Record<string, unknown>[] = [
    { jwk: realJwk },
    { jku: 'https://attacker.test/jwks.json' },
    { x5u: 'https://attacker.test/cert.pem' },
    { x5c: [fakeCert] },
    { crit: ['b64'], b64: true },
    { kid: file.accessID },
    { kid: '' },
    { kid: 'anything' },
    { cty: 'JWT' },
  ];
  for (const header of extraHeaders) {
    await assertRefused(h, await adminJwt(h, file, { header }), `real key with ${Object.keys(header).join('+')}`);
  }
  // An unknown critical extension, signed by hand (jose will not sign one); the same by-hand
  // signer with the plain header is accepted, so only the header makes the difference.
  const key = createPrivateKey(file.accessKey);
  await assertAccepted(h, rs256ByHand(key, { alg: 'RS256', typ: 'JWT' }, goodClaims(h, file)), 'hand-signed, plain header');
  await assertRefused(h, rs256ByHand(key, { alg: 'RS256', typ: 'JWT', crit: ['exp'], exp: 1 }, goodClaims(h, file)), 'crit exp');
  // typ must be JWT.
  await assertRefused(h, await adminJwt(h, file, { header: { typ: 'at+jwt' } }), 'typ at+jwt');
  await assertRefused(h, await adminJwt(h, file, { header: { typ: undefined } }), 'no typ');
});

test('RSA: a signature by another admin key with the first key\'s sub is refused, and so is a spliced signature', async (t) => {
  const { h, file } = await setup(t);
  const other = await adminKeyFile(h);
  await assertAccepted(h, await adminJwt(h, file), 'first key');
  await assertAccepted(h, await adminJwt(h, other), 'second key');
  // Key B signs a token naming key A.
  await assertRefused(h, await signWith(createPrivateKey(other.accessKey), goodClaims(h, file)), 'B signs sub=A');
  // Header and payload of A's token with the signature of B's.
  const [ha, pa] = (await adminJwt(h, file)).split('.');
  const sb = (await adminJwt(h, other)).split('.')[2];
  assert.ok(ha !== undefined && pa !== undefined && sb !== undefined);
  await assertRefused(h, `${ha}.${pa}.${sb}`, 'A header+payload, B signature');
  // A's signed token with its payload swapped for one naming B.
  const sa = (await adminJwt(h, file)).split('.')[2] ?? '';
  await assertRefused(h, `${ha}.${b64json(goodClaims(h, other))}.${sa}`, 'payload swapped to sub=B');
  // An unknown, empty or non-string sub.
  for (const sub of ['00000000-0000-4000-8000-000000000000', '', 42, undefined, 'x'.repeat(129)]) {
    await assertRefused(h, await adminJwt(h, file, { claims: { sub } }), `sub ${show(sub)}`);
  }
});

test('RSA: expiry and issued-at are checked at the 60-second tolerance boundary', async (t) => {
  const { h, file } = await setup(t);
  // iat = now, exp = now + 3600; at now + 3659 exp is 59 s past: inside the tolerance.
  const jwt = await adminJwt(h, file);
  h.clock.advance(3659);
  await assertAccepted(h, jwt, 'exp = now - 59');
  // One second later exp = now - 60: expired.
  h.clock.advance(1);
  await assertRefused(h, jwt, 'exp = now - 60');
  h.clock.advance(1);
  await assertRefused(h, jwt, 'exp = now - 61');

  // The same boundary built with offsets instead of waiting.
  await assertAccepted(h, await adminJwt(h, file, { iatOffset: -3659, lifetime: 3600 }), 'iatOffset -3659');
  await assertRefused(h, await adminJwt(h, file, { iatOffset: -3660, lifetime: 3600 }), 'iatOffset -3660');

  // iat in the future: up to 60 s of skew is allowed, 61 is not.
  await assertAccepted(h, await adminJwt(h, file, { iatOffset: 60 }), 'iat = now + 60');
  await assertRefused(h, await adminJwt(h, file, { iatOffset: 61 }), 'iat = now + 61');
  await assertRefused(h, await adminJwt(h, file, { iatOffset: 3000 }), 'iat = now + 3000');

  // nbf: optional; more than 60 s in the future is refused; a non-number is refused.
  const now = nowSeconds(h);
  await assertAccepted(h, await adminJwt(h, file, { claims: { nbf: now + 60 } }), 'nbf = now + 60');
  await assertRefused(h, await adminJwt(h, file, { claims: { nbf: now + 61 } }), 'nbf = now + 61');
  await assertRefused(h, await adminJwt(h, file, { claims: { nbf: now + 3000 } }), 'nbf = now + 3000');
  await assertRefused(h, await adminJwt(h, file, { claims: { nbf: 'soon' } }), 'nbf non-numeric');

  // Missing iat or exp.
  await assertRefused(h, await adminJwt(h, file, { claims: { iat: undefined } }), 'no iat');
  await assertRefused(h, await adminJwt(h, file, { claims: { exp: undefined } }), 'no exp');
});

test('RSA: exp at most 3600 s after iat and strictly after it; iat/exp as numeric strings only', async (t) => {
  const { h, file } = await setup(t);
  await assertAccepted(h, await adminJwt(h, file, { lifetime: 3600 }), 'lifetime 3600');
  await assertRefused(h, await adminJwt(h, file, { lifetime: 3601 }), 'lifetime 3601');
  await assertRefused(h, await adminJwt(h, file, { lifetime: 86_400 }), 'lifetime one day');
  await assertRefused(h, await adminJwt(h, file, { lifetime: 0 }), 'exp = iat');
  // exp before iat, yet still in the future (iat set ahead within the skew).
  await assertRefused(h, await adminJwt(h, file, { iatOffset: 50, lifetime: -10 }), 'exp < iat');

  // RSA's own sample sends the NumericDates as strings of digits.
  const now = nowSeconds(h);
  await assertAccepted(h, await adminJwt(h, file, { claims: { iat: String(now), exp: String(now + 3600) } }), 'string iat/exp');
  await assertAccepted(h, await adminJwt(h, file, { claims: { exp: String(now + 600) } }), 'string exp');
  // Strings still obey the lifetime rule.
  await assertRefused(h, await adminJwt(h, file, { claims: { iat: String(now), exp: String(now + 3601) } }), 'string lifetime 3601');
  // Anything else that is not a plain number or a string of digits is refused.
  const bad: unknown[] = ['soon', `${now + 3600}.5`, `${now + 3600}abc`, ` ${now + 3600}`, `-${now}`, '1.7e9', '0x7fffffff', '', true, null, [now + 3600], { n: now + 3600 }];
  for (const exp of bad) {
    await assertRefused(h, await adminJwt(h, file, { claims: { exp } }), `exp ${JSON.stringify(exp)}`);
  }
  for (const iat of ['soon', `${now}.0`, '', null]) {
    await assertRefused(h, await adminJwt(h, file, { claims: { iat } }), `iat ${JSON.stringify(iat)}`);
  }
});

test('RSA: aud must be the admin API (trailing slash optional, or inside an array)', async (t) => {
  const { h, file } = await setup(t);
  assert.equal(file.adminRestApiUrl, `${AUD}/`);
  for (const aud of [AUD, `${AUD}/`, [AUD], ['https://other.test', `${AUD}/`]]) {
    await assertAccepted(h, await adminJwt(h, file, { claims: { aud } }), `aud ${JSON.stringify(aud)}`);
  }
  const wrong: unknown[] = [
    undefined,
    '',
    'http://issuer.test',
    'http://issuer.test/',
    'https://issuer.test/AdminInterface/restapi',
    'http://evil.test/AdminInterface/restapi',
    `${AUD}/v1`,
    `${AUD}x`,
    'http://issuer.test/AdminInterface',
    'http://issuer.test/api',
    ['https://other.test'],
    [],
    { aud: AUD },
  ];
  for (const aud of wrong) {
    await assertRefused(h, await adminJwt(h, file, { claims: { aud } }), `aud ${show(aud)}`);
  }
});

test('RSA: oversized tokens and Authorization headers are refused before parsing', async (t) => {
  const { h, file } = await setup(t);
  // A properly signed token padded to just under and just over the 8192-character limit.
  const padded = (target: number) => paddedToken((pad) => adminJwt(h, file, { claims: { pad } }), target);
  const small = await padded(8189);
  assert.ok(small.length >= 8189 && small.length <= 8192, String(small.length));
  await assertAccepted(h, small, `length ${small.length}`);
  const big = await padded(8193);
  assert.ok(big.length > 8192, String(big.length));
  await assertRefused(h, big, `length ${big.length}`);
  await assertRefused(h, `${await adminJwt(h, file)}${'A'.repeat(9000)}`, 'good token with 9000 characters appended');

  // The header itself is bounded: a good token behind 9000 spaces (which the Bearer syntax
  // would allow) is refused; behind two spaces it is fine.
  const jwt = await adminJwt(h, file);
  const send = (authorization: string) => () => h.inject({
    method: 'POST', url: CODE_PATH, headers: { authorization, 'content-type': 'application/json' }, payload: JSON.stringify(BODY),
  });
  const ok = await send(`Bearer  ${jwt}`)();
  assert.equal(ok.statusCode, 200, ok.body);
  await assertRefusedResponse(h, send(`Bearer${' '.repeat(9000)}${jwt}`), 'header padded to 9000+');
  await assertRefusedResponse(h, send(`Bearer ${'A'.repeat(20_000)}`), 'header of 20000');
});

test('RSA: the token only counts in an Authorization: Bearer header', async (t) => {
  const { h, file } = await setup(t);
  const jwt = await adminJwt(h, file);
  await assertAccepted(h, jwt);
  const send = (headers: Record<string, string>, url = CODE_PATH) => () => h.inject({
    method: 'POST', url, headers: { 'content-type': 'application/json', ...headers }, payload: JSON.stringify(BODY),
  });
  // In the query string: refused, even when the same good token is also in the header.
  await assertRefusedResponse(h, send({}, `${CODE_PATH}?access_token=${jwt}`), 'query only');
  await assertRefusedResponse(h, send({ authorization: `Bearer ${jwt}` }, `${CODE_PATH}?access_token=${jwt}`), 'query and header');
  await assertRefusedResponse(h, send({ authorization: `Bearer ${jwt}` }, `${CODE_PATH}?access_token=`), 'empty access_token in the query');
  // Other schemes and malformed Bearer headers.
  const malformed = [
    `Basic ${Buffer.from(`${file.accessID}:secret`).toString('base64')}`,
    `Basic ${jwt}`,
    `JWT ${jwt}`,
    jwt,
    'Bearer',
    'Bearer ',
    '',
    `Bearer ${jwt} ${jwt}`,
    `Bearer ${jwt}, Bearer ${jwt}`,
    `Bearer ${jwt},${jwt}`,
    `Bearer "${jwt}"`,
  ];
  for (const authorization of malformed) {
    await assertRefusedResponse(h, send({ authorization }), `Authorization "${authorization.slice(0, 30)}"`);
  }
  // Nothing was broken along the way.
  await assertAccepted(h, jwt, 'good token at the end');
});

test('RSA: a revoked admin key is refused from the next request on; other keys are unaffected', async (t) => {
  const { h, file } = await setup(t);
  const other = await adminKeyFile(h);
  const jwt = await adminJwt(h, file);
  const otherJwt = await adminJwt(h, other);
  await assertAccepted(h, jwt, 'before revoke');
  await h.services.adminKeys.revoke(h.services.defaultEnv.id, file.accessID);
  await assertRefused(h, jwt, 'same JWT after revoke');
  await assertRefused(h, await adminJwt(h, file), 'fresh JWT of the revoked key');
  await assertAccepted(h, otherJwt, 'another key of the same environment');
});

test('RSA: tokens of the other kinds (device access token, session token) are refused at the admin API', async (t) => {
  const { h, file } = await setup(t);
  await assertAccepted(h, await adminJwt(h, file));
  // A real device access token, even one whose aud is the admin API.
  const { client } = await h.services.admin.createClient({ envId: h.services.defaultEnv.id, name: 'TV', audience: AUD });
  const user = await h.user('alice');
  const started = await startAuthorization(h, client);
  await decide(h, started.user_code, user, true);
  const res = await poll(h, started.device_code, client.clientId);
  assert.equal(res.statusCode, 200, res.body);
  const accessToken = res.json<TokenBody>().access_token;
  await assertRefused(h, accessToken, 'device access token');
  // A real Veeam session token.
  await assertRefused(h, await sessionToken(h, 'alice'), 'session token');
  // The environment's own signing key, with claims that would pass as an admin token.
  const envKey = await h.services.keys.activeKey(h.services.defaultEnv.id);
  const forged = await new SignJWT(goodClaims(h, file)).setProtectedHeader({ alg: envKey.alg, typ: 'JWT' }).sign(envKey.privateKey);
  await assertRefused(h, forged, 'environment key, admin claims');
});
