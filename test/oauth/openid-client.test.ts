// A real, unmodified third-party client (openid-client v6 on oauth4webapi) completes device logins
// against a listening server, as an OpenID Connect relying party too: the ID token validated
// (its signature as well, with enableNonRepudiationChecks) and UserInfo fetched. The client sleeps
// between polls by design, so the server runs on a clock that follows wall time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import {
  allowInsecureRequests, ClientSecretBasic, customFetch, discovery, enableNonRepudiationChecks, fetchUserInfo, initiateDeviceAuthorization,
  pollDeviceAuthorizationGrant, refreshTokenGrant, tokenIntrospection, tokenRevocation, type CustomFetch,
} from 'openid-client';
import { build, TestClock, type TestApp } from '../helpers/build.ts';
import { freePort } from '../../scripts/net.ts';
import { approveAsPerson } from './_support.ts';

// Deprecated only to stand out: plain HTTP to a local test server is exactly its use.
// eslint-disable-next-line @typescript-eslint/no-deprecated
const insecure = allowInsecureRequests;


async function listeningServer(t: Parameters<typeof build>[0]): Promise<{ h: TestApp; base: string }> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const h = await build(t, { env: { PUBLIC_URL: base }, clock: new TestClock('real') });
  await h.app.listen({ host: '127.0.0.1', port });
  return { h, base };
}

/** Wraps fetch: records every token-endpoint answer and runs `onPending` the first time the server says pending. */
function observingFetch(onPending: () => Promise<void>): { fetch: CustomFetch; tokenErrors: string[] } {
  const tokenErrors: string[] = [];
  let approved = false;
  const wrapped: CustomFetch = async (url, options) => {
    const res = await fetch(url, options);
    if (new URL(url).pathname.endsWith('/token') && res.status === 400) {
      const { error } = (await res.clone().json()) as { error: string };
      tokenErrors.push(error);
      if (error === 'authorization_pending' && !approved) {
        approved = true;
        await onPending();
      }
    }
    return res;
  };
  return { fetch: wrapped, tokenErrors };
}

test('openid-client: discovery, device authorization, pending, approval, token, verified with the remote JWKS', async (t) => {
  const { h, base } = await listeningServer(t);
  const client = await h.publicClient({ pollInterval: 1, scope: 'openid profile email' });
  const user = await h.user('alice');
  let userCode = '';
  const observer = observingFetch(async () => {
    const device = await h.services.deviceFlow.findPendingByUserCode(h.services.defaultEnv, userCode);
    await h.services.deviceFlow.decide(device, user, true);
  });

  const config = await discovery(new URL(base), client.clientId, undefined, undefined, {
    execute: [insecure],
    [customFetch]: observer.fetch,
  });
  const meta = config.serverMetadata();
  assert.equal(meta.issuer, base);
  assert.equal(meta.device_authorization_endpoint, `${base}/oauth/device_authorization`);

  const started = await initiateDeviceAuthorization(config, { scope: 'profile email' });
  assert.match(started.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
  assert.equal(started.verification_uri, `${base}/device`);
  assert.equal(started.verification_uri_complete, `${base}/device?user_code=${started.user_code}`);
  assert.equal(started.interval, 1);
  assert.equal(started.expires_in, 600);
  userCode = started.user_code;

  const tokens = await pollDeviceAuthorizationGrant(config, started);
  // One pending poll, then the token. (Exact-interval behaviour is pinned down with a TestClock in
  // token.test.ts; here a wall-clock poll landing a millisecond early could legitimately be slowed down.)
  assert.equal(observer.tokenErrors[0], 'authorization_pending');
  assert.equal(observer.tokenErrors.filter((e) => e === 'authorization_pending').length, 1);
  assert.ok(observer.tokenErrors.every((e) => e === 'authorization_pending' || e === 'slow_down'), observer.tokenErrors.join());
  assert.equal(tokens.token_type, 'bearer');
  assert.equal(tokens.scope, 'profile email');
  assert.equal(tokens.expires_in, 3600);
  assert.equal(tokens.id_token, undefined);

  assert.ok(meta.jwks_uri !== undefined);
  const { payload, protectedHeader } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(meta.jwks_uri)), {
    issuer: base,
    audience: base,
    typ: 'at+jwt',
  });
  assert.equal(protectedHeader.typ, 'at+jwt');
  assert.equal(payload.sub, user.id);
  assert.equal(payload.client_id, client.clientId);
  assert.equal(payload.scope, 'profile email');
});

test('openid-client: RFC 8414 discovery of a per-environment issuer and client_secret_basic', async (t) => {
  const { h, base } = await listeningServer(t);
  const tenant = await h.services.admin.createEnvironment('tenant2');
  const issuer = `${base}/${tenant.id}/as`;
  const created = await h.services.admin.createClient({ envId: tenant.id, name: 'Backend', confidential: true, pollInterval: 1, scope: 'devices:read' });
  assert.ok(created.secret !== undefined);
  const user = await h.user('tina', 'correct horse battery', tenant.id);

  const config = await discovery(new URL(issuer), created.client.clientId, undefined, ClientSecretBasic(created.secret), {
    execute: [insecure],
    algorithm: 'oauth2', // /.well-known/oauth-authorization-server/{envId}/as
  });
  assert.equal(config.serverMetadata().issuer, issuer);
  assert.equal(config.serverMetadata().token_endpoint, `${issuer}/token`);

  const started = await initiateDeviceAuthorization(config, { scope: 'devices:read' });
  assert.equal(started.verification_uri, `${base}/${tenant.id}/device`);
  const device = await h.services.deviceFlow.findPendingByUserCode(tenant, started.user_code);
  await h.services.deviceFlow.decide(device, user, true);

  const tokens = await pollDeviceAuthorizationGrant(config, started);
  assert.equal(tokens.scope, 'devices:read');
  const jwksUri = config.serverMetadata().jwks_uri;
  assert.equal(jwksUri, `${issuer}/jwks`);
  const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${issuer}/jwks`)), { issuer, audience: issuer, typ: 'at+jwt' });
  assert.equal(payload.sub, user.id);
  // The default environment's keys do not verify it.
  await assert.rejects(
    jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${base}/oauth/jwks`))),
    { code: 'ERR_JWKS_NO_MATCHING_KEY' },
  );
});

test('openid-client: a denied request surfaces as access_denied', async (t) => {
  const { h, base } = await listeningServer(t);
  const client = await h.publicClient({ pollInterval: 1 });
  const user = await h.user('bob');
  const config = await discovery(new URL(base), client.clientId, undefined, undefined, { execute: [insecure] });
  const started = await initiateDeviceAuthorization(config, { scope: 'profile' });
  const device = await h.services.deviceFlow.findPendingByUserCode(h.services.defaultEnv, started.user_code);
  await h.services.deviceFlow.decide(device, user, false);
  await assert.rejects(pollDeviceAuthorizationGrant(config, started), { error: 'access_denied' });
});

test('openid-client: refreshTokenGrant rotates, tokenIntrospection and tokenRevocation work (RFC 6749 §6, 7662, 7009)', async (t) => {
  const { h, base } = await listeningServer(t);
  const device = (await h.services.admin.createClient({ envId: h.services.defaultEnv.id, name: 'CLI', refreshTokens: true, pollInterval: 1 })).client;
  const api = await h.services.admin.createClient({ envId: h.services.defaultEnv.id, name: 'API', confidential: true });
  const user = await h.user('alice');
  let userCode = '';
  const observer = observingFetch(async () => {
    await h.services.deviceFlow.decide(await h.services.deviceFlow.findPendingByUserCode(h.services.defaultEnv, userCode), user, true);
  });
  const config = await discovery(new URL(base), device.clientId, undefined, undefined, { execute: [insecure], [customFetch]: observer.fetch });
  assert.equal(config.serverMetadata().revocation_endpoint, `${base}/oauth/revoke`);
  assert.equal(config.serverMetadata().introspection_endpoint, `${base}/oauth/introspect`);
  const started = await initiateDeviceAuthorization(config, { scope: 'openid offline_access' });
  userCode = started.user_code;
  const first = await pollDeviceAuthorizationGrant(config, started);
  assert.match(first.refresh_token ?? '', /^rt_/);

  const refreshed = await refreshTokenGrant(config, first.refresh_token ?? '');
  assert.match(refreshed.refresh_token ?? '', /^rt_/);
  assert.notEqual(refreshed.refresh_token, first.refresh_token);
  assert.notEqual(refreshed.access_token, first.access_token);

  // The resource server introspects with its own credentials.
  const rs = await discovery(new URL(base), api.client.clientId, undefined, ClientSecretBasic(api.secret ?? ''), { execute: [insecure] });
  const live = await tokenIntrospection(rs, refreshed.access_token);
  assert.equal(live.active, true);
  assert.equal(live.client_id, device.clientId);
  assert.equal(live.sub, user.id);

  // The device signs out: revoking its refresh token ends the grant.
  await tokenRevocation(config, refreshed.refresh_token ?? '', { token_type_hint: 'refresh_token' });
  assert.equal((await tokenIntrospection(rs, refreshed.access_token)).active, false);
  await assert.rejects(refreshTokenGrant(config, refreshed.refresh_token ?? ''), (err: unknown) => err instanceof Error && 'error' in err && err.error === 'invalid_grant');
});

test('openid-client as a relying party: the ID token, its signature checked, and UserInfo name the same person', async (t) => {
  const { h, base } = await listeningServer(t);
  const client = await h.publicClient({ pollInterval: 1, scope: 'openid profile email' });
  const password = 'correct horse battery';
  const user = await h.services.admin.users.create({
    envId: h.services.defaultEnv.id, username: 'alice', email: 'alice@example.test', password,
    name: 'Alice Liddell', givenName: 'Alice', familyName: 'Liddell', emailVerified: true,
  });
  let userCode = '';
  // alice signs in with her password on the flow API once the device is waiting: amr pwd.
  const observer = observingFetch(() => approveAsPerson(h, userCode, 'alice', password));
  // On the way back, the token answer's ID token may be replaced (see the end).
  const tampering: { with?: (idToken: string) => string } = {};
  const fetchThrough: CustomFetch = async (url, options) => {
    const res = await observer.fetch(url, options);
    if (tampering.with === undefined || res.status !== 200 || !new URL(url).pathname.endsWith('/token')) return res;
    const body = (await res.json()) as Record<string, unknown>;
    body.id_token = tampering.with(String(body.id_token));
    return new Response(JSON.stringify(body), { status: 200, headers: res.headers });
  };

  // OpenID Connect Discovery (openid-client's default), and signatures checked, not only claims.
  const config = await discovery(new URL(base), client.clientId, undefined, undefined, {
    execute: [insecure, enableNonRepudiationChecks],
    [customFetch]: fetchThrough,
  });
  assert.equal(config.serverMetadata().userinfo_endpoint, `${base}/oauth/userinfo`);
  const started = await initiateDeviceAuthorization(config, { scope: 'openid profile email' });
  userCode = started.user_code;
  const tokens = await pollDeviceAuthorizationGrant(config, started);
  assert.equal(observer.tokenErrors[0], 'authorization_pending');

  // claims(): the ID token as openid-client validated it (iss, aud, azp, exp, iat, and the signature).
  const claims = tokens.claims();
  assert.ok(claims !== undefined, 'an ID token');
  assert.deepEqual([claims.iss, claims.sub, claims.aud, claims.azp], [base, user.id, client.clientId, client.clientId]);
  assert.deepEqual([claims.amr, claims.acr, typeof claims.auth_time, claims.nonce], [['pwd'], '1', 'number', undefined]);
  assert.deepEqual(
    [claims.name, claims.given_name, claims.family_name, claims.preferred_username, claims.email, claims.email_verified],
    ['Alice Liddell', 'Alice', 'Liddell', 'alice', 'alice@example.test', true],
  );

  // UserInfo with the access token, held by openid-client to the ID token's subject (OpenID Connect Core §5.3.4).
  const info = await fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.deepEqual(info, {
    sub: user.id, name: 'Alice Liddell', given_name: 'Alice', family_name: 'Liddell', preferred_username: 'alice',
    updated_at: claims.updated_at, email: 'alice@example.test', email_verified: true,
  });
  await assert.rejects(fetchUserInfo(config, tokens.access_token, 'someone-else'), (err: unknown) =>
    err instanceof Error && err.cause instanceof Error && err.cause.message === 'unexpected "response" body "sub" property value');

  // The signature check is real: a changed claim under the server's signature fails the next login.
  tampering.with = (idToken) => {
    const [header = '', payload = '', signature = ''] = idToken.split('.');
    const changed = { ...(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as object), name: 'Mallory' };
    return [header, Buffer.from(JSON.stringify(changed)).toString('base64url'), signature].join('.');
  };
  const again = await initiateDeviceAuthorization(config, { scope: 'openid profile' });
  await approveAsPerson(h, again.user_code, 'alice', password);
  await assert.rejects(pollDeviceAuthorizationGrant(config, again), (err: unknown) =>
    err instanceof Error && err.cause instanceof Error && err.cause.message === 'JWT signature verification failed');
});
