import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { FLOW_STATUSES } from '../src/model/records.ts';
import { renderOpenApi } from '../src/openapi.ts';
import { GRANT_TYPES_SUPPORTED } from '../src/surfaces/oauth/grant-types.ts';
import { OAUTH_ERROR_CODES } from '../src/surfaces/oauth/errors.ts';
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
    '/api/v1/devices/registrations:', '/:', '/docs:', '/openapi.yaml:', '/openapi.json:', '/metrics:']) {
    assert.ok(doc.includes(`  ${p}`), `${p} missing from openapi.yaml`);
  }
  assert.match(doc, /application\/x-www-form-urlencoded/);
  for (const schema of ['OAuthError', 'PingOneError', 'Problem', 'RsaError', 'VeeamDeviceCode', 'RsaRegistrationCode', 'RsaRegistrationCodeRequest']) {
    assert.ok(doc.includes(`    ${schema}:`), `component ${schema} missing`);
  }
});

// ---- For code generators -------------------------------------------------------------------------

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
interface Schema { enum?: unknown[]; properties?: Record<string, Schema>; examples?: unknown[]; $ref?: string }
interface Operation {
  operationId?: string;
  summary?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { description?: string }>;
}
interface Api {
  servers?: { url: string }[];
  tags?: { name: string; description?: string }[];
  paths: Record<string, Partial<Record<(typeof METHODS)[number], Operation>>>;
  components: { schemas: Record<string, Schema>; securitySchemes?: Record<string, { type: string; scheme?: string; bearerFormat?: string }> };
}

async function api(): Promise<Api> {
  return await SwaggerParser.parse(OPENAPI_FILE) as unknown as Api;
}

function operations(doc: Api): { method: string; path: string; op: Operation }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) => METHODS.flatMap((method) => {
    const op = item[method];
    return op === undefined ? [] : [{ method, path, op }];
  }));
}

test('every operation has a unique camelCase operationId, a summary and a described tag; every response a description', async () => {
  const doc = await api();
  const ops = operations(doc);
  assert.ok(ops.length >= 48, `${ops.length} operations`);
  const tags = new Map((doc.tags ?? []).map((t) => [t.name, t.description ?? '']));
  assert.deepEqual([...tags.keys()], ['oauth', 'page', 'flows', 'veeam', 'rsa', 'ops'], 'one tag per front end');
  for (const [name, description] of tags) assert.ok(description.length > 40, `tag ${name} is described`);
  const ids = new Set<string>();
  for (const { method, path, op } of ops) {
    const where = `${method.toUpperCase()} ${path}`;
    assert.match(op.operationId ?? '', /^[a-z][a-zA-Z0-9]+$/, `${where}: operationId`);
    assert.ok(!ids.has(op.operationId ?? ''), `${where}: operationId ${op.operationId ?? ''} is not unique`);
    ids.add(op.operationId ?? '');
    assert.ok((op.summary ?? '').length > 10, `${where}: summary`);
    assert.equal(op.tags?.length, 1, `${where}: one tag`);
    assert.ok(tags.has(op.tags[0] ?? ''), `${where}: tag ${op.tags[0] ?? ''} is declared`);
    for (const [status, response] of Object.entries(op.responses)) {
      assert.ok((response.description ?? '').length > 3, `${where} ${status}: a description`);
      assert.notEqual(response.description, 'Default Response', `${where} ${status}: a real description`);
    }
  }
  // The names generated clients call are stable: a few that matter.
  for (const id of ['requestDeviceAuthorization', 'requestToken', 'requestTokenInEnvironment', 'getOpenIdConfiguration', 'getFlow', 'actOnFlow',
    'getVeeamDeviceCode', 'createDeviceRegistrationCode', 'getLanding', 'getApiDocs', 'getOpenApiYaml', 'getOpenApiJson', 'getHealth']) {
    assert.ok(ids.has(id), `operationId ${id}`);
  }
});

test('security schemes for Basic client authentication, access tokens, Veeam sessions and RSA admin JWTs, used by their operations', async () => {
  const doc = await api();
  const schemes = doc.components.securitySchemes ?? {};
  assert.deepEqual(schemes.clientBasic && { type: schemes.clientBasic.type, scheme: schemes.clientBasic.scheme }, { type: 'http', scheme: 'basic' });
  for (const name of ['accessToken', 'veeamSession', 'rsaAdminJwt']) {
    assert.deepEqual(schemes[name] && { type: schemes[name].type, scheme: schemes[name].scheme, bearerFormat: schemes[name].bearerFormat },
      { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, name);
  }
  const used = (method: 'get' | 'post' | 'delete', path: string) => (doc.paths[path]?.[method]?.security ?? []).flatMap((r) => Object.keys(r));
  for (const p of ['/oauth/device_authorization', '/oauth/token', '/oauth/revoke', '/oauth/introspect', '/{envId}/as/token']) {
    assert.deepEqual(used('post', p), ['clientBasic'], p);
    assert.ok(doc.paths[p]?.post?.security?.some((r) => Object.keys(r).length === 0), `${p}: public clients need no header`);
  }
  assert.deepEqual(used('get', '/oauth/userinfo'), ['accessToken']);
  assert.deepEqual(used('get', '/api/v1/accounts/created/getDeviceCode'), ['veeamSession']);
  assert.deepEqual(used('get', '/{envId}/api/v1/accounts/created/getDeviceCode'), ['veeamSession']);
  for (const [method, p] of [['post', '/AdminInterface/restapi/v1/users/deviceRegistrationCode'], ['post', '/AdminInterface/restapi/v1/users/lookup'],
    ['get', '/AdminInterface/restapi/v1/users/{userId}/devices'], ['delete', '/AdminInterface/restapi/v1/users/{userId}/devices/{deviceId}']] as const) {
    assert.deepEqual(used(method, p), ['rsaAdminJwt'], p);
  }
  assert.deepEqual(used('post', '/api/v1/devices/registrations'), [], 'the redemption is the code itself');
  // Every requirement names a declared scheme.
  for (const { method, path, op } of operations(doc)) {
    for (const name of (op.security ?? []).flatMap((r) => Object.keys(r))) assert.ok(name in schemes, `${method} ${path}: ${name}`);
  }
});

test('enums: grant_type, error codes and flow statuses', async () => {
  const doc = await api();
  const form = doc.paths['/oauth/token']?.post?.requestBody?.content['application/x-www-form-urlencoded']?.schema;
  assert.deepEqual(form?.properties?.grant_type?.enum, GRANT_TYPES_SUPPORTED);
  const { schemas } = doc.components;
  assert.deepEqual(schemas.OAuthError?.properties?.error?.enum, [...OAUTH_ERROR_CODES]);
  for (const code of ['authorization_pending', 'slow_down', 'access_denied', 'expired_token', 'invalid_grant', 'unsupported_grant_type']) {
    assert.ok(OAUTH_ERROR_CODES.includes(code as never), code);
  }
  assert.deepEqual(schemas.Flow?.properties?.status?.enum, [...FLOW_STATUSES]);
  assert.ok((schemas.PingOneError?.properties?.code?.enum ?? []).includes('INVALID_DATA'));
  assert.ok((schemas.Problem?.properties?.error?.enum ?? []).includes('invalid_token'));
});

test('the examples in the document are valid instances of their schemas', async () => {
  const doc = await api();
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  // The components as $defs of one schema, so that $refs between them resolve.
  const retarget = (node: unknown): unknown => JSON.parse(JSON.stringify(node).replaceAll('"#/components/schemas/', '"urn:dcs:components#/$defs/')) as unknown;
  ajv.addSchema({ $id: 'urn:dcs:components', $defs: retarget(doc.components.schemas) as object });
  let checked = 0;
  for (const [name, schema] of Object.entries(doc.components.schemas)) {
    for (const example of schema.examples ?? []) {
      const validate = ajv.getSchema(`urn:dcs:components#/$defs/${name}`);
      assert.ok(validate, name);
      assert.ok(validate(example), `${name} example: ${ajv.errorsText(validate.errors)}`);
      checked++;
    }
  }
  assert.ok(checked >= 8, `${checked} examples`);
});

test('servers: the checked-in document names the default PUBLIC_URL', async () => {
  const doc = await api();
  assert.deepEqual(doc.servers?.map((s) => s.url), ['http://127.0.0.1:3000']);
});

test('/openapi.yaml and /openapi.json serve the checked-in document with this server\'s PUBLIC_URL', async (t) => {
  const h = await build(t);
  const yaml = await h.inject({ method: 'GET', url: '/openapi.yaml' });
  assert.equal(yaml.statusCode, 200);
  assert.match(yaml.headers['content-type'] ?? '', /^application\/yaml/);
  const checkedIn = readFileSync(OPENAPI_FILE, 'utf8');
  assert.ok(checkedIn.includes('  - url: http://127.0.0.1:3000\n'));
  assert.equal(yaml.body, checkedIn.replace('  - url: http://127.0.0.1:3000\n', `  - url: ${h.config.publicUrl}\n`));
  const json = await h.inject({ method: 'GET', url: '/openapi.json' });
  assert.equal(json.statusCode, 200);
  const served = json.json<Api>();
  assert.deepEqual(served.servers?.map((s) => s.url), ['http://issuer.test']);
  assert.deepEqual({ ...served, servers: [] }, { ...(await api()), servers: [] });
});

test('/docs serves Swagger UI from this server, under a CSP that admits only this server\'s scripts and styles', async (t) => {
  const h = await build(t);
  const page = await h.inject({ method: 'GET', url: '/docs' });
  assert.equal(page.statusCode, 200);
  assert.match(page.headers['content-type'] ?? '', /^text\/html/);
  const csp = String(page.headers['content-security-policy']);
  assert.equal(csp, "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' http://issuer.test; "
    + "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
  // Every script and stylesheet the page names is served here, with the same CSP.
  const assets = [...page.body.matchAll(/(?:src|href)="([^"]+\.(?:js|css))"/g)].map((m) => m[1] ?? '');
  assert.ok(assets.length >= 4, assets.join(' '));
  for (const asset of assets) {
    assert.ok(asset.startsWith('/docs/static/'), `${asset} is local`);
    const res = await h.app.inject({ method: 'GET', url: asset });
    assert.equal(res.statusCode, 200, asset);
    assert.equal(res.headers['content-security-policy'], csp);
  }
  // The UI reads the same document.
  const ui = await h.app.inject({ method: 'GET', url: '/docs/json' });
  assert.deepEqual(ui.json(), (await h.inject({ method: 'GET', url: '/openapi.json' })).json());
});
