// A real, unmodified third-party client (openid-client v6 on oauth4webapi) completes device logins
// against a listening server. The client sleeps between polls by design, so the server
// runs on a clock that follows wall time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import {
  allowInsecureRequests, ClientSecretBasic, customFetch, discovery, initiateDeviceAuthorization, pollDeviceAuthorizationGrant,
  refreshTokenGrant, tokenIntrospection, tokenRevocation, type CustomFetch,
} from 'openid-client';
import { build, TestClock, type TestApp } from '../helpers/build.ts';
import { freePort } from '../../scripts/net.ts';

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
