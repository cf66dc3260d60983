// The upstream OpenID Provider the federation tests sign in through (test/helpers/upstream-op.ts),
// proven with a real relying party: openid-client v6 runs the authorization code flow with PKCE,
// state and nonce against it (OpenID Connect Core §3.1), the ID token's signature checked too; each
// misbehaviour is one openid-client notices.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import {
  allowInsecureRequests, AuthorizationResponseError, authorizationCodeGrant, buildAuthorizationUrl, calculatePKCECodeChallenge,
  ClientSecretBasic, customFetch, discovery, enableNonRepudiationChecks, fetchUserInfo, None, randomNonce, randomPKCECodeVerifier, randomState,
  type Configuration, type CustomFetch, type TokenEndpointResponse, type TokenEndpointResponseHelpers,
} from 'openid-client';
import { startUpstream, type Upstream, type UpstreamOptions, type UpstreamUser } from '../helpers/upstream-op.ts';

// Deprecated only to stand out: plain HTTP to a local test server is exactly its use.
// eslint-disable-next-line @typescript-eslint/no-deprecated
const insecure = allowInsecureRequests;

const REDIRECT_URI = 'http://127.0.0.1:9/callback'; // never reached: loginOverHttp stops at the redirect
const ALICE: UpstreamUser = {
  sub: 'alice-0001', username: 'alice', password: 'wonderland', email: 'alice@example.test', emailVerified: true,
  name: 'Alice Liddell', givenName: 'Alice', familyName: 'Liddell', amr: ['pwd', 'otp'], acr: 'urn:example:loa:2',
};
const BOB: UpstreamUser = { sub: 'bob-0002', username: 'bob', password: 'builder' };
const CLIENT = { clientId: 'device-code-server', clientSecret: 'upstream-secret', redirectUris: [REDIRECT_URI] };

/** An upstream, and our relying party at it (openid-client, ID token signatures checked). */
async function upstream(t: TestContext, o: Partial<UpstreamOptions> = {}, fetchThrough?: CustomFetch): Promise<{ up: Upstream; rp: Configuration }> {
  const client = o.client ?? CLIENT;
  const up = await startUpstream(t, { users: [ALICE, BOB], client, ...o });
  const auth = client.clientSecret === undefined ? None() : ClientSecretBasic(client.clientSecret);
  const rp = await discovery(new URL(up.issuer), client.clientId, undefined, auth, {
    execute: [insecure, enableNonRepudiationChecks],
    ...(fetchThrough === undefined ? {} : { [customFetch]: fetchThrough }),
  });
  return { up, rp };
}

interface Started { url: string; state: string; nonce: string; verifier: string }

/** What our server does when it sends a person upstream: PKCE S256 (RFC 7636), state, nonce (Core §3.1.2.1). */
async function authorizationRequest(rp: Configuration, extra: Record<string, string> = {}): Promise<Started> {
  const verifier = randomPKCECodeVerifier();
  const state = randomState();
  const nonce = randomNonce();
  const url = buildAuthorizationUrl(rp, {
    redirect_uri: REDIRECT_URI, scope: 'openid email profile', state, nonce,
    code_challenge: await calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
  });
  return { url: url.href, state, nonce, verifier };
}

function redeem(rp: Configuration, back: string, s: Started): Promise<TokenEndpointResponse & TokenEndpointResponseHelpers> {
  return authorizationCodeGrant(rp, new URL(back), { pkceCodeVerifier: s.verifier, expectedState: s.state, expectedNonce: s.nonce });
}

test('discovery and the JWKS are served: code flow only, S256 only, a public RS256 key', async (t) => {
  const { up, rp } = await upstream(t);
  assert.match(up.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
  const meta = rp.serverMetadata();
  assert.equal(meta.issuer, up.issuer);
  assert.deepEqual(meta.response_types_supported, ['code']);
  assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
  assert.deepEqual(meta.scopes_supported, ['openid', 'email', 'profile']);
  assert.deepEqual(meta.acr_values_supported, ['urn:example:loa:2']);
  assert.equal(meta.authorization_response_iss_parameter_supported, true);

  assert.ok(meta.jwks_uri !== undefined);
  const res = await fetch(meta.jwks_uri);
  assert.equal(res.status, 200);
  const { keys } = (await res.json()) as { keys: Record<string, unknown>[] };
  assert.equal(keys.length, 1);
  assert.deepEqual([keys[0]?.kty, keys[0]?.alg, keys[0]?.use, typeof keys[0]?.kid], ['RSA', 'RS256', 'sig', 'string']);
  assert.equal(keys[0]?.d, undefined, 'no private part');
});

test('a confidential client: code + PKCE + state + nonce, the signed ID token carries the configured claims', async (t) => {
  const { up, rp } = await upstream(t);
  const s = await authorizationRequest(rp);
  const back = await up.loginOverHttp(s.url, 'alice', 'wonderland');
  const params = new URL(back).searchParams;
  assert.ok(back.startsWith(`${REDIRECT_URI}?`), back);
  assert.deepEqual([params.get('state'), params.get('iss'), params.has('code')], [s.state, up.issuer, true]);

  const tokens = await redeem(rp, back, s);
  const claims = tokens.claims();
  assert.ok(claims !== undefined, 'an ID token');
  assert.deepEqual([claims.iss, claims.aud, claims.sub, claims.nonce], [up.issuer, CLIENT.clientId, 'alice-0001', s.nonce]);
  assert.deepEqual([claims.amr, claims.acr, typeof claims.auth_time], [['pwd', 'otp'], 'urn:example:loa:2', 'number']);
  assert.deepEqual(
    [claims.email, claims.email_verified, claims.name, claims.given_name, claims.family_name, claims.preferred_username],
    ['alice@example.test', true, 'Alice Liddell', 'Alice', 'Liddell', 'alice'],
  );
  // The same claims at the UserInfo endpoint (Core §5.3).
  const info = await fetchUserInfo(rp, tokens.access_token, 'alice-0001');
  assert.deepEqual(info, {
    sub: 'alice-0001', email: 'alice@example.test', email_verified: true, name: 'Alice Liddell', given_name: 'Alice',
    family_name: 'Liddell', preferred_username: 'alice',
  });

  // The code is single use (RFC 6749 §4.1.2).
  await assert.rejects(redeem(rp, back, s), (err: unknown) => err instanceof Error && /invalid_grant/.test(JSON.stringify(err)));
});

test('a public client (none, PKCE only); a user with no optional claims gets none; a narrower scope', async (t) => {
  const { up, rp } = await upstream(t, { client: { clientId: 'public-rp', redirectUris: [REDIRECT_URI] } });
  const s = await authorizationRequest(rp, { scope: 'openid' });
  const tokens = await redeem(rp, await up.loginOverHttp(s.url, 'bob', 'builder'), s);
  const claims = tokens.claims();
  assert.ok(claims !== undefined);
  assert.equal(claims.sub, 'bob-0002');
  for (const absent of ['email', 'name', 'preferred_username', 'amr', 'acr']) assert.equal(claims[absent], undefined, absent);
});

test('the upstream refuses a request without PKCE and a wrong password', async (t) => {
  const { up, rp } = await upstream(t);
  // RFC 9700 §2.1.1: required for every client here; the refusal goes back to the client (RFC 6749 §4.1.2.1).
  const url = buildAuthorizationUrl(rp, { redirect_uri: REDIRECT_URI, scope: 'openid', state: 's1' });
  const back = new URL(await up.loginOverHttp(url.href, 'alice', 'wonderland'));
  assert.deepEqual([back.searchParams.get('error'), back.searchParams.get('state')], ['invalid_request', 's1']);

  const s = await authorizationRequest(rp);
  await assert.rejects(up.loginOverHttp(s.url, 'alice', 'not her password'), /did not send the browser back/);
});

test('cancel on the login page, and misbehave.deny: access_denied back at the redirect URI', async (t) => {
  const { up, rp } = await upstream(t);
  const s = await authorizationRequest(rp);
  const back = await up.loginOverHttp(s.url, 'alice', '', { cancel: true });
  await assert.rejects(redeem(rp, back, s), (err: unknown) => err instanceof AuthorizationResponseError && err.error === 'access_denied');

  const denying = await upstream(t, { misbehave: { deny: true } });
  const d = await authorizationRequest(denying.rp);
  const denied = await denying.up.loginOverHttp(d.url, 'alice', 'wonderland');
  assert.equal(new URL(denied).searchParams.get('state'), d.state);
  await assert.rejects(redeem(denying.rp, denied, d), (err: unknown) => err instanceof AuthorizationResponseError && err.error === 'access_denied');
});

test('misbehave.wrongNonce: a validly signed ID token whose nonce openid-client rejects', async (t) => {
  const idTokens: string[] = [];
  const recording: CustomFetch = async (url, options) => {
    const res = await fetch(url, options);
    if (new URL(url).pathname === '/token' && res.status === 200) idTokens.push(((await res.clone().json()) as { id_token: string }).id_token);
    return res;
  };
  const { up, rp } = await upstream(t, { misbehave: { wrongNonce: true } }, recording);
  const s = await authorizationRequest(rp);
  const back = await up.loginOverHttp(s.url, 'alice', 'wonderland');
  await assert.rejects(redeem(rp, back, s), (err: unknown) =>
    err instanceof Error && err.cause instanceof Error && err.cause.message === 'unexpected ID Token "nonce" claim value');

  // Only the nonce is wrong: the signature, issuer and audience all check out.
  const [idToken] = idTokens;
  assert.ok(idToken !== undefined);
  const jwks = createRemoteJWKSet(new URL(`${up.issuer}/jwks`));
  const { payload } = await jwtVerify(idToken, jwks, { issuer: up.issuer, audience: CLIENT.clientId });
  assert.equal(payload.nonce, `not-${s.nonce}`);
});

test('misbehave.tokenEndpoint: 500, or no answer at all (the client gives up)', async (t) => {
  const failing = await upstream(t, { misbehave: { tokenEndpoint: 'error' } });
  const s = await authorizationRequest(failing.rp);
  await assert.rejects(redeem(failing.rp, await failing.up.loginOverHttp(s.url, 'alice', 'wonderland'), s),
    (err: unknown) => err instanceof Error && err.cause instanceof Response && err.cause.status === 500);

  const hanging = await upstream(t, { misbehave: { tokenEndpoint: 'hang' } });
  hanging.rp.timeout = 1; // seconds; the request must end by the client's timeout, however long that takes
  const h = await authorizationRequest(hanging.rp);
  await assert.rejects(redeem(hanging.rp, await hanging.up.loginOverHttp(h.url, 'alice', 'wonderland'), h),
    (err: unknown) => err instanceof Error && err.cause instanceof Error && err.cause.name === 'TimeoutError');
});

test('stop() refuses connections; start() serves again on the same issuer, with the same keys', async (t) => {
  const { up, rp } = await upstream(t);
  await up.stop();
  await assert.rejects(fetch(`${up.issuer}/.well-known/openid-configuration`), (err: unknown) =>
    err instanceof TypeError && (err.cause as { code?: string } | undefined)?.code === 'ECONNREFUSED');
  await up.start();
  // rp was configured before the stop: the discovery document and JWKS it holds are still right.
  const s = await authorizationRequest(rp);
  const tokens = await redeem(rp, await up.loginOverHttp(s.url, 'alice', 'wonderland'), s);
  assert.equal(tokens.claims()?.sub, 'alice-0001');
});
