// The access token (RFC 9068 JWT) checked with jose against the published JWKS, environment
// isolation of tokens, and discovery metadata (RFC 8414, OpenID Connect Discovery).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import type { Client, Environment, User } from '../../src/model/records.ts';
import { build, DEVICE_CODE_GRANT, type TestApp } from '../helpers/build.ts';
import { assertOAuthError, decide, poll, prefixFor, startAuthorization, type TokenBody } from './_support.ts';

async function jwksOf(h: TestApp, env?: Environment): Promise<JSONWebKeySet> {
  const res = await h.inject({ method: 'GET', url: `${prefixFor(env)}/jwks` });
  assert.equal(res.statusCode, 200, res.body);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  return res.json<JSONWebKeySet>();
}

async function issueToken(h: TestApp, client: Client, user: User, opts: { env?: Environment; scope?: string } = {}): Promise<TokenBody> {
  const started = await startAuthorization(h, client, opts);
  await decide(h, started.user_code, user, true, opts.env);
  const res = await poll(h, started.device_code, client.clientId, opts);
  assert.equal(res.statusCode, 200, res.body);
  return res.json<TokenBody>();
}

test('the access token verifies against the JWKS with issuer, audience and typ at+jwt; every claim is right', async (t) => {
  const h = await build(t);
  const client = await h.publicClient({ scope: 'openid profile email' });
  const user = await h.user('alice');
  const token = await issueToken(h, client, user, { scope: 'openid profile' });

  const jwks = await jwksOf(h);
  assert.ok(jwks.keys.length >= 1);
  for (const key of jwks.keys) {
    assert.equal(key.d, undefined, 'no private key material in the JWKS');
    assert.equal(typeof key.kid, 'string');
  }
  const header = decodeProtectedHeader(token.access_token);
  assert.equal(header.typ, 'at+jwt');
  assert.equal(header.alg, 'ES256');
  assert.ok(jwks.keys.some((k) => k.kid === header.kid), 'the signing kid is published');

  const { payload, protectedHeader } = await jwtVerify(token.access_token, createLocalJWKSet(jwks), {
    issuer: 'http://issuer.test',
    audience: 'http://issuer.test',
    typ: 'at+jwt',
    currentDate: new Date(h.clock.now()),
  });
  assert.equal(protectedHeader.kid, header.kid);
  assert.equal(payload.iss, 'http://issuer.test');
  assert.equal(payload.sub, user.id);
  assert.equal(payload.aud, 'http://issuer.test');
  assert.equal(payload.client_id, client.clientId);
  assert.equal(payload.scope, 'openid profile');
  assert.equal(payload.iat, Math.floor(h.clock.now() / 1000));
  assert.equal(payload.exp, Math.floor(h.clock.now() / 1000) + 3600);
  assert.equal(typeof payload.jti, 'string');
  assert.ok((payload.jti ?? '').length >= 16);

  // The token expires with expires_in.
  await assert.rejects(
    jwtVerify(token.access_token, createLocalJWKSet(jwks), { issuer: 'http://issuer.test', currentDate: new Date(h.clock.now() + 3601_000) }),
    { code: 'ERR_JWT_EXPIRED' },
  );
  // And a wrong issuer or audience is refused (so the checks above mean something).
  await assert.rejects(
    jwtVerify(token.access_token, createLocalJWKSet(jwks), { issuer: 'http://other.test', currentDate: new Date(h.clock.now()) }),
    { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' },
  );
});

test('every token has its own jti', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  const user = await h.user();
  const jwks = createLocalJWKSet(await jwksOf(h));
  const jtis = new Set<string>();
  for (let i = 0; i < 3; i++) {
    const { payload } = await jwtVerify((await issueToken(h, client, user)).access_token, jwks, { currentDate: new Date(h.clock.now()) });
    jtis.add(String(payload.jti));
  }
  assert.equal(jtis.size, 3);
});

test("the client's configured audience becomes aud", async (t) => {
  const h = await build(t);
  const { client } = await h.services.admin.createClient({ envId: h.services.defaultEnv.id, name: 'TV', audience: 'https://api.example.test' });
  const user = await h.user();
  const token = await issueToken(h, client, user);
  const { payload } = await jwtVerify(token.access_token, createLocalJWKSet(await jwksOf(h)), {
    issuer: 'http://issuer.test',
    audience: 'https://api.example.test',
    typ: 'at+jwt',
    currentDate: new Date(h.clock.now()),
  });
  assert.equal(payload.aud, 'https://api.example.test');
});

test("a token of one environment does not verify against another environment's JWKS or issuer", async (t) => {
  const h = await build(t);
  const tenant = await h.services.admin.createEnvironment('tenant2');
  const tenantIssuer = `http://issuer.test/${tenant.id}/as`;
  const tenantClient = await h.publicClient({ envId: tenant.id });
  const tenantUser = await h.user('tina', 'correct horse battery', tenant.id);
  const defaultClient = await h.publicClient();
  const defaultUser = await h.user('dora');

  const tenantToken = await issueToken(h, tenantClient, tenantUser, { env: tenant });
  const defaultToken = await issueToken(h, defaultClient, defaultUser);
  const tenantJwks = await jwksOf(h, tenant);
  const defaultJwks = await jwksOf(h);
  const now = new Date(h.clock.now());

  // Each verifies in its own environment.
  const { payload } = await jwtVerify(tenantToken.access_token, createLocalJWKSet(tenantJwks), { issuer: tenantIssuer, audience: tenantIssuer, typ: 'at+jwt', currentDate: now });
  assert.equal(payload.sub, tenantUser.id);
  assert.equal(payload.client_id, tenantClient.clientId);
  await jwtVerify(defaultToken.access_token, createLocalJWKSet(defaultJwks), { issuer: 'http://issuer.test', typ: 'at+jwt', currentDate: now });

  // The key sets are disjoint, so neither token verifies with the other environment's keys…
  const tenantKids = new Set(tenantJwks.keys.map((k) => k.kid));
  assert.ok(defaultJwks.keys.every((k) => !tenantKids.has(k.kid)));
  await assert.rejects(jwtVerify(tenantToken.access_token, createLocalJWKSet(defaultJwks), { currentDate: now }), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
  await assert.rejects(jwtVerify(defaultToken.access_token, createLocalJWKSet(tenantJwks), { currentDate: now }), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
  // …and the issuers differ, so neither passes an issuer check meant for the other.
  await assert.rejects(
    jwtVerify(tenantToken.access_token, createLocalJWKSet(tenantJwks), { issuer: 'http://issuer.test', currentDate: now }),
    { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' },
  );
});

test('discovery: every well-known location returns the issuer and endpoints of its environment', async (t) => {
  const h = await build(t);
  const tenant = await h.services.admin.createEnvironment('tenant2');
  await h.publicClient({ scope: 'openid profile' });
  await h.publicClient({ envId: tenant.id, scope: 'devices:read' });
  const root = 'http://issuer.test';
  const tenantIssuer = `${root}/${tenant.id}/as`;
  const expectations: [url: string, issuer: string, prefix: string, scopes: string[]][] = [
    ['/.well-known/oauth-authorization-server', root, `${root}/oauth`, ['openid', 'profile']],
    ['/.well-known/openid-configuration', root, `${root}/oauth`, ['openid', 'profile']],
    [`/${tenant.id}/as/.well-known/openid-configuration`, tenantIssuer, tenantIssuer, ['devices:read']],
    [`/${tenant.id}/as/.well-known/oauth-authorization-server`, tenantIssuer, tenantIssuer, ['devices:read']],
    [`/.well-known/oauth-authorization-server/${tenant.id}/as`, tenantIssuer, tenantIssuer, ['devices:read']],
  ];
  for (const [url, issuer, prefix, scopes] of expectations) {
    const res = await h.inject({ method: 'GET', url });
    assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const meta = res.json<Record<string, unknown>>();
    assert.equal(meta.issuer, issuer, url);
    assert.equal(meta.device_authorization_endpoint, `${prefix}/device_authorization`, url);
    assert.equal(meta.token_endpoint, `${prefix}/token`, url);
    assert.equal(meta.jwks_uri, `${prefix}/jwks`, url);
    assert.equal(meta.revocation_endpoint, `${prefix}/revoke`, url);
    assert.equal(meta.introspection_endpoint, `${prefix}/introspect`, url);
    assert.deepEqual(meta.grant_types_supported, [DEVICE_CODE_GRANT, 'refresh_token'], url);
    assert.deepEqual(meta.token_endpoint_auth_methods_supported, ['none', 'client_secret_basic', 'client_secret_post'], url);
    // offline_access is always offered, beside the clients' own scopes; an OpenID Provider offers openid.
    const openid = url.endsWith('openid-configuration') ? ['openid'] : [];
    assert.deepEqual(meta.scopes_supported, [...new Set([...scopes, 'offline_access', ...openid])].sort(), url);
    assert.deepEqual(meta.response_types_supported, [], url);
  }
});

test('discovery endpoints are the ones that work: the advertised paths serve the flow and the keys', async (t) => {
  const h = await build(t);
  const tenant = await h.services.admin.createEnvironment('tenant2');
  const client = await h.publicClient({ envId: tenant.id });
  const user = await h.user('tina', 'correct horse battery', tenant.id);
  const meta = (await h.inject({ method: 'GET', url: `/.well-known/oauth-authorization-server/${tenant.id}/as` })).json<Record<string, string>>();
  const path = (u: string | undefined) => new URL(u ?? '').pathname;
  const started = await h.form(path(meta.device_authorization_endpoint), { client_id: client.clientId });
  assert.equal(started.statusCode, 200);
  const { device_code, user_code } = started.json<{ device_code: string; user_code: string }>();
  await decide(h, user_code, user, true, tenant);
  const tokenRes = await h.form(path(meta.token_endpoint), { grant_type: DEVICE_CODE_GRANT, device_code, client_id: client.clientId });
  assert.equal(tokenRes.statusCode, 200);
  const jwks = (await h.inject({ method: 'GET', url: path(meta.jwks_uri) })).json<JSONWebKeySet>();
  const { payload } = await jwtVerify(tokenRes.json<TokenBody>().access_token, createLocalJWKSet(jwks), {
    issuer: meta.issuer, typ: 'at+jwt', currentDate: new Date(h.clock.now()),
  });
  assert.equal(payload.iss, meta.issuer);
});

test('unknown environment: discovery and JWKS answer 404 in the RFC 6749 error format', async (t) => {
  const h = await build(t);
  const unknown = '0b7e3f4a-2c1d-4e5f-8a9b-1c2d3e4f5a6b';
  for (const url of [
    `/${unknown}/as/.well-known/openid-configuration`,
    `/${unknown}/as/.well-known/oauth-authorization-server`,
    `/.well-known/oauth-authorization-server/${unknown}/as`,
    `/${unknown}/as/jwks`,
  ]) {
    assertOAuthError(await h.inject({ method: 'GET', url }), 404, 'invalid_request');
  }
  assertOAuthError(await h.form(`/${unknown}/as/token`, { grant_type: DEVICE_CODE_GRANT, device_code: 'dc_x', client_id: 'x' }), 404, 'invalid_request');
});
