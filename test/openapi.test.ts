import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import { renderOpenApi } from '../src/openapi.ts';
import { OPENAPI_FILE } from '../src/surfaces/ops/routes.ts';
import { build } from './helpers/build.ts';

test('openapi.yaml matches the route schemas (run `npm run openapi` after changing a route)', async () => {
  assert.equal(readFileSync(OPENAPI_FILE, 'utf8'), await renderOpenApi());
});

test('openapi.yaml is a valid OpenAPI 3.1 document (swagger-parser)', async () => {
  // validate() checks the document against the OpenAPI 3.1 schema and resolves every $ref; it throws on any error.
  const api = await SwaggerParser.validate(OPENAPI_FILE);
  assert.ok('openapi' in api && api.openapi.startsWith('3.1.'), 'an OpenAPI 3.1 document');
  // …and it does reject a broken one: a dangling $ref, and a response that is not a Response Object.
  const broken = await SwaggerParser.parse(OPENAPI_FILE);
  const responses = (broken.paths?.['/oauth/token'] as { post?: { responses: Record<string, unknown> } } | undefined)?.post?.responses;
  assert.ok(responses);
  responses['200'] = { description: 'x', content: { 'application/json': { schema: { $ref: '#/components/schemas/Nowhere' } } } };
  await assert.rejects(SwaggerParser.validate(structuredClone(broken)), /Nowhere/);
  responses['200'] = 'not a response';
  await assert.rejects(SwaggerParser.validate(structuredClone(broken)));
});

test('every endpoint is documented, with each surface\'s error schema', () => {
  const doc = readFileSync(OPENAPI_FILE, 'utf8');
  for (const p of ['/oauth/device_authorization:', '/oauth/token:', '/oauth/jwks:', '/{envId}/as/token:',
    '/.well-known/openid-configuration:', '/.well-known/oauth-authorization-server/{envId}/as:', '/healthz:', '/readyz:',
    '/device:', '/device/qr.svg:', '/{envId}/device/qr.svg:', '/{envId}/signon:', '/{envId}/flows/{flowId}:',
    '/api/oauth2/token:', '/api/v1/accounts/created/getDeviceCode:', '/{envId}/api/oauth2/token:', '/{envId}/api/v1/accounts/created/getDeviceCode:',
    '/AdminInterface/restapi/v1/users/deviceRegistrationCode:', '/AdminInterface/restapi/v1/users/lookup:',
    '/AdminInterface/restapi/v1/users/{userId}/devices:', '/AdminInterface/restapi/v1/users/{userId}/devices/{deviceId}:',
    '/api/v1/devices/registrations:']) {
    assert.ok(doc.includes(`  ${p}`), `${p} missing from openapi.yaml`);
  }
  assert.match(doc, /application\/x-www-form-urlencoded/);
  for (const schema of ['OAuthError', 'PingOneError', 'Problem', 'RsaError', 'VeeamDeviceCode', 'RsaRegistrationCode', 'RsaRegistrationCodeRequest']) {
    assert.ok(doc.includes(`    ${schema}:`), `component ${schema} missing`);
  }
});

test('/docs serves the checked-in document', async (t) => {
  const h = await build(t);
  const res = await h.inject({ method: 'GET', url: '/docs' });
  assert.equal(res.statusCode, 200);
  assert.match(res.headers['content-type'] ?? '', /yaml/);
  assert.equal(res.body, readFileSync(OPENAPI_FILE, 'utf8'));
});
