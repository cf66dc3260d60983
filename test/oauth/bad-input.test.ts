// Hostile and malformed requests to the OAuth endpoints: each one is a 4xx with an RFC 6749 §5.2 JSON body,
// never a 500, never a stack trace, never Fastify's own error format.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { InjectOptions } from 'fastify';
import { build, DEVICE_CODE_GRANT, encodeForm, type TestApp } from '../helpers/build.ts';
import { assertNoStore, assertOAuthError, basic, startAuthorization } from './_support.ts';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const JSON_TYPE = { 'content-type': 'application/json' };

interface Case {
  name: string;
  request: InjectOptions;
  status: number;
  error: string;
}

async function runCases(h: TestApp, cases: Case[], opts: { noStore: boolean }): Promise<void> {
  for (const c of cases) {
    const res = await h.inject(c.request);
    assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${c.name}: ${res.statusCode} ${res.body}`);
    assertOAuthError(res, c.status, c.error);
    if (opts.noStore) assertNoStore(res);
  }
}

function endpointCases(url: string, validForm: Record<string, string>): Case[] {
  const post = (headers: Record<string, string>, payload?: string | Buffer): InjectOptions =>
    payload === undefined ? { method: 'POST', url, headers } : { method: 'POST', url, headers, payload };
  const form = encodeForm(validForm);
  return [
    { name: 'JSON body', request: post(JSON_TYPE, JSON.stringify(validForm)), status: 415, error: 'invalid_request' },
    { name: 'JSON array body', request: post(JSON_TYPE, '[1,2]'), status: 415, error: 'invalid_request' },
    { name: 'malformed JSON', request: post(JSON_TYPE, '{"client_id":'), status: 400, error: 'invalid_request' },
    { name: 'empty JSON', request: post(JSON_TYPE, ''), status: 400, error: 'invalid_request' },
    { name: 'JSON with __proto__', request: post(JSON_TYPE, `{"client_id":"x","__proto__":{"polluted":true}}`), status: 400, error: 'invalid_request' },
    { name: 'JSON with constructor.prototype', request: post(JSON_TYPE, `{"constructor":{"prototype":{"polluted":true}}}`), status: 400, error: 'invalid_request' },
    { name: 'text/plain', request: post({ 'content-type': 'text/plain' }, form), status: 415, error: 'invalid_request' },
    { name: 'application/xml', request: post({ 'content-type': 'application/xml' }, '<a/>'), status: 415, error: 'invalid_request' },
    { name: 'multipart', request: post({ 'content-type': 'multipart/form-data; boundary=x' }, '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--x--'), status: 415, error: 'invalid_request' },
    { name: 'no content type, no body', request: post({}), status: 400, error: 'invalid_request' },
    { name: 'a body without a content type', request: post({}, form), status: 415, error: 'invalid_request' },
    { name: '1 MB form body', request: post(FORM, `${form}&pad=${'a'.repeat(1024 * 1024)}`), status: 413, error: 'invalid_request' },
    { name: '1 MB JSON body', request: post(JSON_TYPE, JSON.stringify({ pad: 'a'.repeat(1024 * 1024) })), status: 413, error: 'invalid_request' },
    { name: 'NUL byte in a parameter', request: post(FORM, `${form}%00`), status: 400, error: 'invalid_request' },
    { name: 'NUL byte in client_secret', request: post(FORM, `${form}&client_secret=a%00b`), status: 400, error: 'invalid_request' },
    { name: 'a parameter over 4096 characters', request: post(FORM, `${form}&client_secret=${'a'.repeat(5000)}`), status: 400, error: 'invalid_request' },
    { name: 'a repeated parameter', request: post(FORM, `${form}&${form}`), status: 400, error: 'invalid_request' },
    { name: 'a repeated __proto__', request: post(FORM, `${form}&__proto__=a&__proto__=b`), status: 400, error: 'invalid_request' },
  ];
}

test('device authorization endpoint: malformed bodies are 4xx RFC 6749 errors with no-store', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  await runCases(h, endpointCases('/oauth/device_authorization', { client_id: client.clientId }), { noStore: true });
});

test('token endpoint: malformed bodies are 4xx RFC 6749 errors with no-store', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  const started = await startAuthorization(h, client);
  await runCases(h, endpointCases('/oauth/token', { grant_type: DEVICE_CODE_GRANT, device_code: started.device_code, client_id: client.clientId }), { noStore: true });
});

test('per-environment endpoints refuse malformed bodies the same way', async (t) => {
  const h = await build(t);
  const tenant = await h.services.admin.createEnvironment('tenant2');
  const client = await h.publicClient({ envId: tenant.id });
  await runCases(h, endpointCases(`/${tenant.id}/as/device_authorization`, { client_id: client.clientId }), { noStore: true });
});

test('malformed percent-encoding is taken literally (WHATWG form parsing), so it never matches a real value', async (t) => {
  const h = await build(t);
  const client = await h.publicClient({ scope: 'openid' });
  const cases: Case[] = [
    { name: 'truncated escape in client_id', request: { method: 'POST', url: '/oauth/device_authorization', headers: FORM, payload: `client_id=${client.clientId}%` }, status: 401, error: 'invalid_client' },
    { name: 'non-hex escape in client_id', request: { method: 'POST', url: '/oauth/device_authorization', headers: FORM, payload: `client_id=%ZZ${client.clientId}` }, status: 401, error: 'invalid_client' },
    { name: 'invalid UTF-8 escape', request: { method: 'POST', url: '/oauth/device_authorization', headers: FORM, payload: 'client_id=%C3%28%FF' }, status: 401, error: 'invalid_client' },
    { name: 'raw invalid UTF-8 bytes', request: { method: 'POST', url: '/oauth/device_authorization', headers: FORM, payload: Buffer.concat([Buffer.from('client_id='), Buffer.from([0xc3, 0x28, 0xff])]) }, status: 401, error: 'invalid_client' },
    { name: 'truncated escape in scope', request: { method: 'POST', url: '/oauth/device_authorization', headers: FORM, payload: `client_id=${client.clientId}&scope=openid%E0%A4%A` }, status: 400, error: 'invalid_scope' },
    { name: 'truncated escape in grant_type', request: { method: 'POST', url: '/oauth/token', headers: FORM, payload: `grant_type=${encodeURIComponent(DEVICE_CODE_GRANT)}%&device_code=x&client_id=${client.clientId}` }, status: 400, error: 'unsupported_grant_type' },
    { name: 'truncated escape in device_code', request: { method: 'POST', url: '/oauth/token', headers: FORM, payload: `grant_type=${encodeURIComponent(DEVICE_CODE_GRANT)}&device_code=dc_%A&client_id=${client.clientId}` }, status: 400, error: 'invalid_grant' },
  ];
  await runCases(h, cases, { noStore: true });
});

test('malformed client credentials in the Authorization header are invalid_client with a Basic challenge', async (t) => {
  const h = await build(t);
  for (const authorization of ['Basic !!!', 'Basic', `Basic ${Buffer.from('no-colon').toString('base64')}`, `Basic ${Buffer.from('%ZZ:x').toString('base64')}`, basic('x'.repeat(3000), 'y')]) {
    const res = await h.form('/oauth/device_authorization', {}, { authorization });
    assertOAuthError(res, 401, 'invalid_client');
    assert.match(String(res.headers['www-authenticate']), /^Basic /, authorization.slice(0, 40));
    assertNoStore(res);
  }
});

test('__proto__ and other prototype names in a form body are plain unknown parameters: no pollution, no inherited values', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  const cases: Case[] = [
    { name: '__proto__ only', request: { method: 'POST', url: '/oauth/device_authorization', headers: FORM, payload: '__proto__=x' }, status: 401, error: 'invalid_client' },
    { name: '__proto__[client_id]', request: { method: 'POST', url: '/oauth/device_authorization', headers: FORM, payload: `__proto__%5Bclient_id%5D=${client.clientId}` }, status: 401, error: 'invalid_client' },
    { name: 'constructor[prototype][client_id]', request: { method: 'POST', url: '/oauth/device_authorization', headers: FORM, payload: `constructor%5Bprototype%5D%5Bclient_id%5D=${client.clientId}` }, status: 401, error: 'invalid_client' },
    { name: 'token: __proto__ with no grant_type', request: { method: 'POST', url: '/oauth/token', headers: FORM, payload: `__proto__=x&client_id=${client.clientId}` }, status: 400, error: 'invalid_request' },
    { name: 'token: __proto__[grant_type]', request: { method: 'POST', url: '/oauth/token', headers: FORM, payload: `__proto__%5Bgrant_type%5D=${encodeURIComponent(DEVICE_CODE_GRANT)}&device_code=x&client_id=${client.clientId}` }, status: 400, error: 'invalid_request' },
  ];
  await runCases(h, cases, { noStore: true });
  // Alongside valid parameters, such names are ignored like any unknown parameter.
  const ok = await h.form('/oauth/device_authorization', `__proto__=x&constructor=y&hasOwnProperty=z&toString=w&valueOf=v&client_id=${client.clientId}`);
  assert.equal(ok.statusCode, 200, ok.body);
  const probe: Record<string, unknown> = {};
  for (const key of ['polluted', 'client_id', 'grant_type', 'x']) assert.equal(probe[key], undefined, `Object.prototype.${key}`);
});

test('unknown paths, wrong methods and malformed URLs: 404/400 with {error, error_description}', async (t) => {
  const h = await build(t);
  const cases: Case[] = [
    { name: 'GET unknown path', request: { method: 'GET', url: '/nope' }, status: 404, error: 'invalid_request' },
    { name: 'POST unknown path', request: { method: 'POST', url: '/oauth/nope', headers: FORM, payload: 'a=b' }, status: 404, error: 'invalid_request' },
    { name: 'below a real endpoint', request: { method: 'POST', url: '/oauth/token/extra', headers: FORM, payload: 'a=b' }, status: 404, error: 'invalid_request' },
    { name: 'GET device_authorization', request: { method: 'GET', url: '/oauth/device_authorization' }, status: 404, error: 'invalid_request' },
    { name: 'GET token', request: { method: 'GET', url: '/oauth/token?grant_type=x' }, status: 404, error: 'invalid_request' },
    { name: 'PUT token', request: { method: 'PUT', url: '/oauth/token', headers: FORM, payload: 'a=b' }, status: 404, error: 'invalid_request' },
    { name: 'DELETE device_authorization', request: { method: 'DELETE', url: '/oauth/device_authorization' }, status: 404, error: 'invalid_request' },
    { name: 'POST jwks', request: { method: 'POST', url: '/oauth/jwks', headers: FORM, payload: 'a=b' }, status: 404, error: 'invalid_request' },
    { name: 'POST discovery', request: { method: 'POST', url: '/.well-known/openid-configuration', headers: FORM, payload: 'a=b' }, status: 404, error: 'invalid_request' },
    { name: 'malformed escape in the path', request: { method: 'GET', url: '/%E0%A4%A' }, status: 400, error: 'invalid_request' },
    { name: 'malformed escape in an environment id', request: { method: 'GET', url: '/%ZZ/as/jwks' }, status: 400, error: 'invalid_request' },
    { name: 'an environment id over the router limit', request: { method: 'GET', url: `/${'a'.repeat(300)}/as/jwks` }, status: 400, error: 'invalid_request' },
    { name: 'an environment id that is not a UUID', request: { method: 'GET', url: '/tenant2/as/.well-known/openid-configuration' }, status: 404, error: 'invalid_request' },
  ];
  await runCases(h, cases, { noStore: false });
});

test('an unknown path over a real socket gets the same JSON error', async (t) => {
  const h = await build(t);
  const base = await h.listen();
  const res = await fetch(`${base}/definitely/not/here`);
  assert.equal(res.status, 404);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const body = (await res.json()) as Record<string, unknown>;
  assert.equal(body.error, 'invalid_request');
  assert.equal(typeof body.error_description, 'string');
});
