// Revocation (RFC 7009) and introspection (RFC 7662) of every token kind, per environment.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Client, Environment } from '../../src/model/records.ts';
import { build, type TestApp } from '../helpers/build.ts';
import { assertNoStore, assertOAuthError, basic, decide, poll, prefixFor, startAuthorization, type TokenBody } from './_support.ts';

interface Tokens extends TokenBody {
  refresh_token: string;
}

async function setup(t: Parameters<typeof build>[0]) {
  const h = await build(t);
  const device = (await h.services.admin.createClient({ envId: h.services.defaultEnv.id, name: 'TV', refreshTokens: true })).client;
  const api = await h.services.admin.createClient({ envId: h.services.defaultEnv.id, name: 'API', confidential: true });
  const rs = { client: api.client, secret: api.secret ?? '' };
  return { h, device, rs };
}

async function login(h: TestApp, client: Client, env?: Environment): Promise<Tokens> {
  const started = await startAuthorization(h, client, { scope: 'openid offline_access', ...(env ? { env } : {}) });
  await decide(h, started.user_code, await h.user(undefined, undefined, env?.id), true, env);
  const res = await poll(h, started.device_code, client.clientId, env ? { env } : {});
  assert.equal(res.statusCode, 200, res.body);
  return res.json<Tokens>();
}

const introspect = (h: TestApp, rs: { client: Client; secret: string }, token: string, env?: Environment) =>
  h.form(`${prefixFor(env)}/introspect`, { token }, { authorization: basic(rs.client.clientId, rs.secret) });
const active = async (h: TestApp, rs: { client: Client; secret: string }, token: string, env?: Environment) =>
  (await introspect(h, rs, token, env)).json<{ active: boolean }>().active;

test('introspection: an access token\'s claims, a refresh token\'s grant; inactive once expired', async (t) => {
  const { h, device, rs } = await setup(t);
  const tokens = await login(h, device);
  const res = await introspect(h, rs, tokens.access_token);
  assert.equal(res.statusCode, 200, res.body);
  assertNoStore(res);
  const a = res.json<Record<string, unknown>>();
  assert.equal(a.active, true);
  assert.equal(a.token_type, 'Bearer');
  assert.equal(a.client_id, device.clientId);
  assert.equal(a.scope, 'openid offline_access');
  assert.equal(a.iss, 'http://issuer.test');
  assert.equal(typeof a.sub, 'string');
  assert.match(String(a.username), /^user\d+$/);
  assert.equal(Number(a.exp) - Number(a.iat), 3600);
  const r = (await introspect(h, rs, tokens.refresh_token)).json<Record<string, unknown>>();
  assert.equal(r.active, true);
  assert.equal(r.token_type, 'refresh_token');
  assert.equal(r.client_id, device.clientId);
  assert.equal(r.sub, a.sub);
  h.clock.advance(3601 + 60);
  assert.equal(await active(h, rs, tokens.access_token), false, 'expired, past the clock tolerance');
  assert.equal(await active(h, rs, tokens.refresh_token), true, 'the grant lives longer');
  for (const junk of ['x', 'rt_unknown', 'eyJhbGciOiJub25lIn0.e30.', tokens.access_token.slice(0, -2)]) {
    assert.equal(await active(h, rs, junk), false, junk);
  }
});

test('introspection is for confidential clients; public clients and bad credentials are 401', async (t) => {
  const { h, device, rs } = await setup(t);
  const tokens = await login(h, device);
  assertOAuthError(await h.form('/oauth/introspect', { token: tokens.access_token, client_id: device.clientId }), 401, 'invalid_client');
  assertOAuthError(await h.form('/oauth/introspect', { token: tokens.access_token }, { authorization: basic(rs.client.clientId, 'wrong') }), 401, 'invalid_client');
  assertOAuthError(await h.form('/oauth/introspect', {}, { authorization: basic(rs.client.clientId, rs.secret) }), 400, 'invalid_request');
  assertOAuthError(await h.inject({ method: 'POST', url: '/oauth/introspect', headers: { 'content-type': 'application/json' }, payload: '{}' }), 415, 'invalid_request');
});

test('revoking a refresh token ends its grant: refresh fails and its access tokens are inactive', async (t) => {
  const { h, device, rs } = await setup(t);
  const tokens = await login(h, device);
  const res = await h.form('/oauth/revoke', { token: tokens.refresh_token, token_type_hint: 'refresh_token', client_id: device.clientId });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.body, '');
  assertNoStore(res);
  assert.equal(await active(h, rs, tokens.access_token), false);
  assert.equal(await active(h, rs, tokens.refresh_token), false);
  assertOAuthError(await h.form('/oauth/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: device.clientId }), 400, 'invalid_grant');
});

test('revoking a rotated-out refresh token ends the grant, as its reuse would; the revocation is counted once', async (t) => {
  const { h, device, rs } = await setup(t);
  const tokens = await login(h, device);
  const refreshed = (await h.form('/oauth/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: device.clientId })).json<Tokens>();
  assert.equal(await active(h, rs, refreshed.refresh_token), true);
  const res = await h.form('/oauth/revoke', { token: tokens.refresh_token, client_id: device.clientId });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(await active(h, rs, refreshed.refresh_token), false, 'the whole grant ended');
  assert.equal(await active(h, rs, refreshed.access_token), false);
  // Revoking it again (the grant is gone) is still 200 and counts nothing more.
  assert.equal((await h.form('/oauth/revoke', { token: refreshed.refresh_token, client_id: device.clientId })).statusCode, 200);
  const metrics = await h.services.metrics.render();
  assert.match(metrics, /dcs_revocations_total\{kind="refresh_token"\} 1\n/);
  assert.doesNotMatch(metrics, /dcs_revocations_total\{kind="grant"\} [1-9]/);
});

test('revoking an access token denylists it until it expires; its grant and other tokens live on', async (t) => {
  const { h, device, rs } = await setup(t);
  const tokens = await login(h, device);
  const refreshed = (await h.form('/oauth/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: device.clientId })).json<Tokens>();
  assert.equal((await h.form('/oauth/revoke', { token: tokens.access_token, client_id: device.clientId })).statusCode, 200);
  assert.equal(await active(h, rs, tokens.access_token), false);
  assert.equal(await active(h, rs, refreshed.access_token), true);
  assert.equal(await active(h, rs, refreshed.refresh_token), true);
});

test('unknown, malformed and other clients\' tokens: always 200, and nothing is revoked', async (t) => {
  const { h, device, rs } = await setup(t);
  const other = (await h.services.admin.createClient({ envId: h.services.defaultEnv.id, name: 'Other', refreshTokens: true })).client;
  const tokens = await login(h, device);
  // A tampered signature: its first character changed. (Not the last one: in base64url the last
  // character of a signature carries unused bits, so changing it can leave the signature intact.)
  const [head = '', body = '', signature = ''] = tokens.access_token.split('.');
  const tampered = `${head}.${body}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
  for (const token of ['garbage', 'rt_nothing', 'eyJ.eyJ.sig', tampered]) {
    assert.equal((await h.form('/oauth/revoke', { token, client_id: device.clientId })).statusCode, 200, token);
  }
  for (const token of [tokens.access_token, tokens.refresh_token]) {
    assert.equal((await h.form('/oauth/revoke', { token, client_id: other.clientId })).statusCode, 200);
    assert.equal(await active(h, rs, token), true, 'another client cannot revoke it');
  }
  assertOAuthError(await h.form('/oauth/revoke', { client_id: device.clientId }), 400, 'invalid_request');
  assertOAuthError(await h.form('/oauth/revoke', { token: 'x', client_id: 'nobody' }), 401, 'invalid_client');
});

test('tokens of one environment are inactive in another, and revocation there changes nothing', async (t) => {
  const { h, device, rs } = await setup(t);
  const env = await h.services.admin.createEnvironment('tenant-b');
  const bApi = await h.services.admin.createClient({ envId: env.id, name: 'B API', confidential: true });
  const bRs = { client: bApi.client, secret: bApi.secret ?? '' };
  const bDevice = (await h.services.admin.createClient({ envId: env.id, name: 'B TV', refreshTokens: true })).client;
  const rootTokens = await login(h, device);
  const bTokens = await login(h, bDevice, env);
  assert.equal(await active(h, bRs, rootTokens.access_token, env), false);
  assert.equal(await active(h, bRs, rootTokens.refresh_token, env), false);
  assert.equal(await active(h, rs, bTokens.access_token), false);
  assert.equal(await active(h, bRs, bTokens.access_token, env), true);
  assert.equal((await h.form(`/${env.id}/as/revoke`, { token: rootTokens.refresh_token, client_id: bDevice.clientId }, {})).statusCode, 200);
  assert.equal(await active(h, rs, rootTokens.refresh_token), true);
  // The default environment's tokens introspect at its per-environment path too (both issuers are its own).
  assert.equal(await active(h, rs, rootTokens.access_token, h.services.defaultEnv), true);
});
