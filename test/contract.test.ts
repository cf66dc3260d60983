// The contract check that test/helpers/build.ts runs on every injected response: it must catch what
// openapi.yaml does not document, and explain itself.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { checkResponse } from './helpers/contract.ts';

const ENV = '6f1c3a2e-0000-4000-8000-000000000001';

function response(statusCode: number, type: string | undefined, body: unknown = ''): LightMyRequestResponse {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return {
    statusCode,
    headers: type === undefined ? {} : { 'content-type': type },
    body: text,
    rawPayload: Buffer.from(text),
  } as unknown as LightMyRequestResponse;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const oauthError = { error: 'invalid_request', error_description: 'nope' };

test('documented answers pass: JSON by schema, HTML and SVG by media type, redirects by status', async () => {
  await checkResponse({ method: 'POST', url: '/oauth/token' }, response(400, JSON_TYPE, oauthError));
  await checkResponse({ method: 'POST', url: `/${ENV}/as/token?x=1` }, response(200, JSON_TYPE, { access_token: 'a', token_type: 'Bearer', expires_in: 60, scope: '' }));
  await checkResponse({ method: 'GET', url: `/${ENV}/signon?flowId=x` }, response(404, 'text/html; charset=utf-8', '<!doctype html>'));
  await checkResponse({ method: 'GET', url: '/device' }, response(302, undefined));
  // A static segment beats a parameter: qr.svg is not /{envId}/device/{clientId}, which answers 302 only.
  await checkResponse({ method: 'GET', url: `/${ENV}/device/qr.svg?user_code=WDJB-MJHT` }, response(200, 'image/svg+xml', '<svg/>'));
  // Duplicate and trailing slashes route like the server does.
  await checkResponse({ method: 'GET', url: '//oauth/jwks/' }, response(200, JSON_TYPE, { keys: [] }));
  // HEAD is GET without a body.
  await checkResponse({ method: 'HEAD', url: '/oauth/jwks' }, response(200, JSON_TYPE));
});

test('a body that does not match its schema fails, naming method, path, status and the Ajv errors', async () => {
  await assert.rejects(
    checkResponse({ method: 'POST', url: '/oauth/token' }, response(200, JSON_TYPE, { token_type: 'Bearer', expires_in: '60', scope: '' })),
    (err: Error) => {
      assert.match(err.message, /^openapi\.yaml: POST \/oauth\/token answered 200: the body does not match/);
      assert.match(err.message, /must have required property 'access_token'/);
      assert.match(err.message, /\/expires_in must be integer/);
      return true;
    },
  );
  await assert.rejects(checkResponse({ method: 'POST', url: '/oauth/token' }, response(400, JSON_TYPE, '{"error":')), /is not JSON/);
});

test('undocumented statuses, media types and bodies fail', async () => {
  await assert.rejects(checkResponse({ method: 'GET', url: '/oauth/jwks' }, response(500, JSON_TYPE, oauthError)), /status 500 is not documented for GET \/oauth\/jwks/);
  await assert.rejects(checkResponse({ method: 'GET', url: `/${ENV}/signon` }, response(200, JSON_TYPE, {})), /media type application\/json is not documented \(text\/html\)/);
  await assert.rejects(checkResponse({ method: 'GET', url: '/device' }, response(302, 'text/html', '<p>moved</p>')), /promises none/);
  await assert.rejects(checkResponse({ method: 'GET', url: '/oauth/jwks' }, response(200, undefined)), /an empty body where the document promises application\/json/);
});

test('other methods: refused in a documented shape; a 404 without one is the unknown-route case', async () => {
  await checkResponse({ method: 'PUT', url: '/oauth/token' }, response(404, JSON_TYPE, oauthError));
  await checkResponse({ method: 'GET', url: '/api/v1/devices/registrations' },
    response(405, JSON_TYPE, { timestamp: 1, status: 405, error: 'Method Not Allowed', message: 'Request method not supported.', path: '/api/v1/devices/registrations' }));
  await assert.rejects(checkResponse({ method: 'GET', url: '/api/v1/devices/registrations' }, response(405, JSON_TYPE, oauthError)), /does not match/);
  await assert.rejects(checkResponse({ method: 'PUT', url: '/oauth/token' }, response(200, JSON_TYPE, {})), /PUT is not documented for \/oauth\/token, yet it was not refused/);
  await assert.rejects(checkResponse({ method: 'PUT', url: '/oauth/token' }, response(405, JSON_TYPE, oauthError)), /no operation there documents 405/);
  await checkResponse({ method: 'POST', url: '/device' }, response(404, 'text/html', '<!doctype html>'));
});

test('unknown paths are outside the document', async () => {
  await checkResponse({ method: 'GET', url: '/no/such/path' }, response(404, JSON_TYPE, oauthError));
  await checkResponse({ method: 'GET', url: '/robots.txt' }, response(404, 'text/plain', 'whatever'));
});
