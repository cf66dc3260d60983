// HTTP fuzzing of every operation openapi.yaml documents (issue 9 §3): fast-check sends
// each one random requests — another method now and then, path parameters filled with random and
// oversized strings, odd path suffixes, random query strings, random and oversized headers and
// credentials, bodies of random media types, built from the operation's own field names or from
// nothing. Nothing may answer 5xx, and every 4xx must come in the shape of the front end whose
// path it is. Afterwards the database is intact.
//
// Responses go through app.inject, not the contract checker: a fuzzed request may well get an
// error the document does not list for that operation; the shape is what is held here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import fc from 'fast-check';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { OPENAPI_FILE } from '../../src/surfaces/ops/routes.ts';
import { build, DEVICE_CODE_GRANT } from '../helpers/build.ts';
import { decide, poll, startAuthorization } from '../oauth/_support.ts';
import { adminJwt, adminKeyFile, RSA_APP_ID } from '../rsa/_support.ts';
import { sessionToken } from '../veeam/_support.ts';
import { assertDatabaseIntact, CHECK, CONSENT, cookieOf, flowIdOf, UNLIMITED, VERIFY } from './_support.ts';

const RUNS_PER_OPERATION = 50;
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'] as const;

// ---- The document: operations, their parameters and their body fields -------------------------

interface Schema {
  $ref?: string;
  properties?: Record<string, unknown>;
  anyOf?: Schema[];
  oneOf?: Schema[];
}
interface Operation {
  parameters?: { in: string; name: string }[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
}
interface Document {
  paths: Record<string, Partial<Record<(typeof METHODS)[number], Operation>>>;
  components?: { schemas?: Record<string, Schema> };
}

interface Endpoint {
  method: string;
  path: string;
  query: string[];
  mediaTypes: string[];
  fields: string[];
}

async function endpoints(): Promise<Endpoint[]> {
  const doc = (await SwaggerParser.parse(OPENAPI_FILE)) as unknown as Document;
  const fieldsOf = (schema: Schema | undefined, depth = 0): string[] => {
    if (schema === undefined || depth > 4) return [];
    if (schema.$ref !== undefined) return fieldsOf(doc.components?.schemas?.[schema.$ref.split('/').pop() ?? ''], depth + 1);
    return [...Object.keys(schema.properties ?? {}), ...[...(schema.anyOf ?? []), ...(schema.oneOf ?? [])].flatMap((s) => fieldsOf(s, depth + 1))];
  };
  return Object.entries(doc.paths).flatMap(([path, item]) => METHODS.flatMap((method) => {
    const op = item[method];
    if (op === undefined) return [];
    const content = op.requestBody?.content ?? {};
    return [{
      method: method.toUpperCase(),
      path,
      query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
      mediaTypes: Object.keys(content),
      fields: [...new Set(Object.values(content).flatMap((c) => fieldsOf(c.schema)))],
    }];
  }));
}

// ---- Which front end answers a path, and its error shape ----------------------------------------

type Surface = 'oauth' | 'page' | 'flows' | 'veeam' | 'rsa';

/**
 * The front ends' claims on the URL space (README "What it implements"; http/wire-format.ts): the longest
 * claim a path falls under names the shape of its errors; the rest of the URL space answers in the
 * server's native format, RFC 6749's JSON.
 */
const CLAIMS: readonly [prefix: string, surface: Surface][] = [
  ['/oauth', 'oauth'], ['/:envId/as', 'oauth'], ['/.well-known', 'oauth'],
  ['/device', 'page'], ['/signon', 'page'], ['/:envId/device', 'page'], ['/:envId/signon', 'page'],
  ['/:envId/idp', 'page'], ['/:envId/flows', 'flows'],
  ['/api', 'veeam'], ['/:envId/api', 'veeam'],
  ['/AdminInterface/restapi', 'rsa'], ['/api/v1/devices', 'rsa'],
];

function surfaceOf(url: string): Surface {
  const path = (url.split('?')[0] ?? '').split('/').filter(Boolean);
  let best: { length: number; surface: Surface } = { length: 0, surface: 'oauth' };
  for (const [prefix, surface] of CLAIMS) {
    const segments = prefix.split('/').filter(Boolean);
    const fits = segments.length <= path.length && segments.every((s, i) => s.startsWith(':') || s === path[i]);
    if (fits && segments.length > best.length) best = { length: segments.length, surface };
  }
  return best.surface;
}

const has = (body: Record<string, unknown>, key: string, type: string) => typeof body[key] === type;

/** Why a 4xx is not in its front end's shape, or undefined when it is. */
function misshapen(surface: Surface, res: LightMyRequestResponse, head: boolean): string | undefined {
  const type = (res.headers['content-type'] ?? '').split(';')[0]?.trim();
  if (surface === 'page') {
    if (type !== 'text/html') return `the page answered ${type ?? 'no media type'}`;
    return head || res.body.startsWith('<!doctype html>') ? undefined : 'the page answered a body that is not its HTML';
  }
  const json = surface === 'veeam' ? 'application/problem+json' : 'application/json';
  if (type !== json) return `expected ${json}, got ${type ?? 'no media type'}`;
  if (head) return undefined;
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(res.body) as Record<string, unknown>;
  } catch {
    return 'the body is not JSON';
  }
  switch (surface) {
    case 'oauth':
      return has(body, 'error', 'string') ? undefined : 'no RFC 6749 `error`';
    case 'flows':
      return has(body, 'id', 'string') && has(body, 'code', 'string') && has(body, 'message', 'string') ? undefined : 'not a PingOne envelope';
    case 'veeam':
      return has(body, 'title', 'string') && body.status === res.statusCode && has(body, 'detail', 'string') && has(body, 'error', 'string')
        ? undefined : 'not a problem+json body';
    case 'rsa':
      return has(body, 'timestamp', 'number') && body.status === res.statusCode && has(body, 'error', 'string') && has(body, 'message', 'string')
        && has(body, 'path', 'string') ? undefined : 'not an RSA error body';
  }
}

// ---- Random requests ------------------------------------------------------------------------------

interface Known {
  envId: string;
  clientId: string;
  confidentialId: string;
  userId: string;
  flowId: string;
  cookie: string;
  deviceCode: string;
  userCode: string;
  csrf: string;
  refreshToken: string;
  bearers: string[];
}

/** Values that reach deeper than random text: real ids and tokens, protocol words, known-bad inputs. */
function interesting(k: Known): fc.Arbitrary<string> {
  return fc.constantFrom(
    k.envId, k.clientId, k.confidentialId, k.userId, k.flowId, k.deviceCode, k.userCode, k.csrf, k.refreshToken, RSA_APP_ID, 'default',
    DEVICE_CODE_GRANT, 'refresh_token', 'Password', 'password', 'Refresh_token', 'openid offline_access', 'alice', 'correct horse battery',
    'alice@example.test', 'BBBB-BBBB', 'WDJB-MJHT', '123456789', 'devices', 'signin', 'code', 'approve', 'deny', 'signout', 'true',
    '', ' ', '\0', 'a\0b', '__proto__', 'constructor', '%', '%zz', '../..', '..', '.', '\u202e', '\ud83d\ude00', 'ǅ', 'İ',
    '<script>alert(1)</script>', '"', "'", '\\', '{}', '[]', 'null', '-1', '1e309', 'x'.repeat(5000),
  );
}

function text(k: Known): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: interesting(k), weight: 3 },
    { arbitrary: fc.string(), weight: 2 },
    { arbitrary: fc.string({ unit: 'binary' }), weight: 1 },
    { arbitrary: fc.string({ unit: 'grapheme', minLength: 65, maxLength: 400 }), weight: 1 },
  );
}

/** A header value the HTTP layer can carry: visible ASCII, sometimes very long. */
const headerText = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 80 }),
  fc.integer({ min: 1000, max: 20_000 }).map((n) => 'h'.repeat(n)),
);

const MEDIA_TYPES = [
  'application/x-www-form-urlencoded', 'application/json', 'application/json; charset=utf-8', CHECK, VERIFY, CONSENT,
  'application/vnd.pingidentity.nothing+json', 'text/plain', 'multipart/form-data; boundary=x', 'application/xml',
  'application/x-www-form-urlencoded; charset=iso-8859-1', '*/*', 'garbage', '',
];

function body(k: Known, e: Endpoint): fc.Arbitrary<{ type: string | undefined; payload: string | undefined }> {
  const keys = fc.oneof({ arbitrary: fc.constantFrom(...(e.fields.length > 0 ? e.fields : ['x'])), weight: 4 }, fc.string({ maxLength: 12 }), fc.constant('__proto__'));
  const entries = fc.array(fc.tuple(keys, text(k)), { maxLength: 8 });
  const json = fc.oneof(
    entries.map((kv) => JSON.stringify(Object.fromEntries(kv))),
    fc.dictionary(keys, fc.jsonValue({ maxDepth: 3 })).map((o) => JSON.stringify(o)),
    fc.json({ maxDepth: 3 }),
    fc.constantFrom('{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}', '{', '', 'null', '[]', `{"a":"${'y'.repeat(20_000)}"}`),
  );
  const form = entries.map((kv) => new URLSearchParams(kv).toString());
  const raw = fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.constantFrom('a=%zz', 'a&a&a', '=', `${'z'.repeat(20_000)}=1`));
  const payload = fc.oneof(json, form, raw);
  const type = fc.oneof({ arbitrary: fc.constantFrom(...(e.mediaTypes.length > 0 ? e.mediaTypes : ['application/json'])), weight: 3 }, fc.constantFrom(...MEDIA_TYPES));
  return fc.oneof(
    { arbitrary: fc.record({ type: fc.option(type, { nil: undefined }), payload }), weight: e.mediaTypes.length > 0 ? 6 : 1 },
    { arbitrary: fc.constant({ type: undefined, payload: undefined }), weight: e.mediaTypes.length > 0 ? 1 : 4 },
  );
}

/** The documented path with its parameters filled (a real id now and then), sometimes mangled. */
function url(k: Known, e: Endpoint): fc.Arbitrary<string> {
  const param = fc.oneof(
    { arbitrary: fc.constantFrom(k.envId, k.flowId, k.userId, k.clientId), weight: 3 },
    { arbitrary: text(k).map(encodeURIComponent), weight: 3 },
    { arbitrary: fc.constantFrom('%', '%zz', '..', '%2F', '%00', 'a'.repeat(201), 'qr.svg', 'as', 'api', 'flows'), weight: 1 },
  );
  const names = [...e.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? '');
  const suffix = fc.constantFrom('', '', '', '', '/', '//', '/x', '/..', '/%2e%2e/x', '/.well-known', `/${'s'.repeat(3000)}`, '?');
  const query = fc.array(fc.tuple(fc.oneof(fc.constantFrom(...(e.query.length > 0 ? e.query : ['q'])), fc.string({ maxLength: 8 })), text(k)), { maxLength: 5 })
    .map((kv) => (kv.length === 0 ? '' : `?${new URLSearchParams(kv).toString()}`));
  return fc.tuple(fc.array(param, { minLength: names.length, maxLength: names.length }), suffix, query, fc.constantFrom('', '', '', '//'))
    .map(([values, tail, q, lead]) => {
      let i = 0;
      const filled = e.path.replace(/\{\w+\}/g, () => values[i++] ?? '');
      return `${lead}${filled}${tail}${q}`;
    });
}

function request(k: Known, e: Endpoint): fc.Arbitrary<InjectOptions> {
  const method = fc.oneof({ arbitrary: fc.constant(e.method), weight: 6 }, fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'PROPFIND'));
  const authorization = fc.option(fc.oneof(
    fc.constantFrom(...k.bearers.map((b) => `Bearer ${b}`)),
    headerText.map((h) => `Bearer ${h}`),
    fc.tuple(text(k), text(k)).map(([u, p]) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`),
    headerText,
  ), { nil: undefined });
  const cookie = fc.option(fc.oneof(fc.constant(k.cookie), headerText, headerText.map((h) => `dcs_browser=${h}`)), { nil: undefined });
  const extra = fc.dictionary(fc.constantFrom('accept', 'x-forwarded-for', 'origin', 'referer', 'user-agent', 'x-request-id', 'content-length', 'x-junk'), headerText, { maxKeys: 3 });
  return fc.record({ method, url: url(k, e), body: body(k, e), authorization, cookie, extra }).map((r) => {
    const headers: Record<string, string> = { ...r.extra };
    if (r.body.type !== undefined) headers['content-type'] = r.body.type;
    if (r.authorization !== undefined) headers.authorization = r.authorization;
    if (r.cookie !== undefined) headers.cookie = r.cookie;
    const opts: InjectOptions = { method: r.method, url: r.url, headers };
    if (r.body.payload !== undefined && r.method !== 'GET' && r.method !== 'HEAD') opts.payload = r.body.payload;
    return opts;
  });
}

// ---- The test ---------------------------------------------------------------------------------------

test('fuzz: every documented operation, random requests: no 5xx, every 4xx in its front end\'s shape, the database intact', async (t) => {
  const h = await build(t, { env: { ...UNLIMITED } });
  const env = h.services.defaultEnv;
  const { client } = await h.services.admin.createClient({ envId: env.id, name: 'TV', scope: 'openid profile', refreshTokens: true });
  const confidential = await h.confidentialClient();
  const alice = await h.user('alice');
  // A refresh token, a device code and a flow the fuzzer may stumble into.
  const login = await startAuthorization(h, client, { scope: 'openid offline_access' });
  await decide(h, login.user_code, alice, true);
  const refreshToken = (await poll(h, login.device_code, client.clientId)).json<{ refresh_token: string }>().refresh_token;
  const pending = await startAuthorization(h, client);
  const started = await h.inject({ method: 'GET', url: '/device' });
  const flowId = flowIdOf(started.headers.location);
  const cookie = cookieOf(started.headers['set-cookie']);
  // The page's CSRF token for that flow, so that some form posts get past it.
  const page = await h.inject({ method: 'GET', url: `/${env.id}/signon?flowId=${flowId}`, headers: { cookie } });
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1];
  assert.ok(csrf !== undefined, 'the sign-in page carries a CSRF token');
  const known: Known = {
    envId: env.id, clientId: client.clientId, confidentialId: confidential.client.clientId, userId: alice.id, flowId, cookie,
    deviceCode: pending.device_code, userCode: pending.user_code, csrf, refreshToken,
    bearers: [await adminJwt(h, await adminKeyFile(h)), await sessionToken(h, 'alice')],
  };

  const seen = new Map<number, number>();
  const started_ = Date.now();
  for (const e of await endpoints()) {
    await fc.assert(fc.asyncProperty(request(known, e), async (opts) => {
      const res = await h.app.inject(opts);
      const where = `${String(opts.method)} ${(typeof opts.url === 'string' ? opts.url : '').slice(0, 200)} (${e.method} ${e.path}) answered ${res.statusCode}`;
      seen.set(res.statusCode, (seen.get(res.statusCode) ?? 0) + 1);
      assert.ok(res.statusCode < 500, `${where}: ${res.body.slice(0, 300)}`);
      if (res.statusCode >= 400) {
        // The path as the server got it: the client resolves dot segments (`/device/..` is `/`).
        const surface = surfaceOf(res.raw.req.url ?? '');
        const wrong = misshapen(surface, res, opts.method === 'HEAD');
        assert.equal(wrong, undefined, `${where}, not in the ${surface} shape: ${wrong ?? ''}\n  body: ${res.body.slice(0, 300)}`);
      }
    }), { numRuns: RUNS_PER_OPERATION });
  }
  t.diagnostic(`${[...seen.values()].reduce((a, b) => a + b, 0)} requests in ${Date.now() - started_} ms; statuses ${JSON.stringify([...seen].sort(([a], [b]) => a - b))}`);
  // The fuzzer reached past the router: successes, refusals of every kind.
  for (const status of [200, 302, 400, 404, 405, 413, 415]) assert.ok((seen.get(status) ?? 0) > 0, `no request answered ${status}`);
  assertDatabaseIntact(h.config.databasePath);
});
