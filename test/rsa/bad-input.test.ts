// Hostile and malformed requests to the RSA facade (docs/vendors.md): each one gets RSA's error body
// {timestamp, status, error, message, path} with the exact status and message, never a 500, never
// a stack trace, and none of them changes a single row of the database.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { build, type TestApp } from '../helpers/build.ts';
import { assertNoStackTrace } from '../oauth/_support.ts';
import { adminJwt, adminKeyFile, assertRsaError, CODE_PATH, databaseDigest, LOOKUP_PATH, REDEEM_PATH, RSA_APP_ID, rsaRequest } from './_support.ts';

// Generous limits: these tests send many requests from one source and one admin key, and the
// guess budget is tested on its own below.
const LIMITS = { RATE_LIMIT_ADMIN_API: '100000', RATE_LIMIT_DEVICE_REGISTRATION: '100000', CODE_GUESS_BUDGET: '1000' };

const MALFORMED = 'Malformed request: malformed JSON body.';
const EMPTY = 'Malformed request: request body is empty.';
const NOT_OBJECT = 'The request body must be a JSON object.';
const COUNT = 'Incorrect number of properties in the request body.';
const TOO_LARGE = 'The request body is too large.';
const MEDIA = 'The request body must be application/json.';
const NO_ENDPOINT = 'No such endpoint.';
const NOT_ALLOWED = 'Request method not supported.';
const BAD_CODE = 'The device registration code is invalid, expired or already used.';
const AUTH = 'Authentication failed: the JWT is missing, malformed, expired, or not signed by a valid admin API key.';
const invalid = (name: string) => `Invalid property specified: ${name}.`;
const notFound = (who: string) => `User ${who} not found.`;

const MB = 1024 * 1024;
const NOBODY = 'nobody@example.test';

interface Ctx {
  h: TestApp;
  jwt: string;
}

interface Case {
  name: string;
  send: (c: Ctx) => Promise<LightMyRequestResponse>;
  status: number;
  message: string | RegExp;
  /** The path the error body names, when not the endpoint's. */
  path?: string;
}

/** A JSON request as RSA's clients send it (object JSON-encoded, string sent as is). */
const json = (path: string, body: unknown, opts: { auth?: boolean } = {}) => (c: Ctx) =>
  rsaRequest(c.h, 'POST', path, opts.auth === false ? undefined : c.jwt, body);

/** Any method, media type and raw payload; no content-type header when `type` is undefined. */
const raw = (path: string, type: string | undefined, payload?: string | Buffer, method: InjectOptions['method'] = 'POST') => (c: Ctx) => {
  const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${c.jwt}` };
  if (type !== undefined) headers['content-type'] = type;
  return c.h.inject(payload === undefined ? { method, url: path, headers } : { method, url: path, headers, payload });
};

/** Each case is its own subtest (one failure does not hide the others); the path is echoed as sent. */
async function runCases(t: TestContext, c: Ctx, path: string, cases: Case[]): Promise<void> {
  for (const k of cases) {
    await t.test(k.name, async () => {
      const res = await k.send(c);
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${k.name}: ${res.statusCode} ${res.body.slice(0, 300)}`);
      assertRsaError(res, k.status, k.message, k.path ?? path);
    });
  }
}

/** The families every JSON endpoint of the facade refuses the same way, whatever its fields. */
function transportCases(path: string, valid: Record<string, unknown>): Case[] {
  const text = JSON.stringify(valid);
  return [
    // Malformed JSON: the parser refuses it before any rule of RSA's runs.
    { name: 'truncated JSON', send: json(path, text.slice(0, -5)), status: 400, message: MALFORMED },
    { name: 'an unterminated string', send: json(path, '{"email":"nobody'), status: 400, message: MALFORMED },
    { name: 'trailing garbage', send: json(path, `${text}xyz`), status: 400, message: MALFORMED },
    { name: 'two objects in a row', send: json(path, `${text}${text}`), status: 400, message: MALFORMED },
    { name: 'single quotes', send: json(path, text.replace(/"/g, '\'')), status: 400, message: MALFORMED },
    { name: 'unquoted keys', send: json(path, text.replace(/"(\w+)":/g, '$1:')), status: 400, message: MALFORMED },
    { name: 'a trailing comma', send: json(path, `${text.slice(0, -1)},}`), status: 400, message: MALFORMED },
    { name: 'a comment', send: json(path, `/* hi */${text}`), status: 400, message: MALFORMED },
    { name: 'NaN as a value', send: json(path, `${text.slice(0, -1)},"x":NaN}`), status: 400, message: MALFORMED },
    { name: 'a lone bare word', send: json(path, 'nobody@example.test'), status: 400, message: MALFORMED },
    { name: 'whitespace only', send: json(path, '   \n'), status: 400, message: MALFORMED },
    { name: 'an empty JSON body', send: json(path, ''), status: 400, message: EMPTY },
    // Valid JSON that is not an object.
    { name: 'an empty array', send: json(path, '[]'), status: 400, message: NOT_OBJECT },
    { name: 'the valid body wrapped in an array', send: json(path, `[${text}]`), status: 400, message: NOT_OBJECT },
    { name: 'a JSON string', send: json(path, '"nobody@example.test"'), status: 400, message: NOT_OBJECT },
    { name: 'a JSON number', send: json(path, '42'), status: 400, message: NOT_OBJECT },
    { name: 'a JSON boolean', send: json(path, 'true'), status: 400, message: NOT_OBJECT },
    { name: 'JSON null', send: json(path, 'null'), status: 400, message: NOT_OBJECT },
    { name: 'arrays nested 5000 deep', send: json(path, `${'['.repeat(5000)}${']'.repeat(5000)}`), status: 400, message: NOT_OBJECT },
    { name: 'an empty object', send: json(path, {}), status: 400, message: COUNT },
    // Prototype pollution: Fastify's JSON parser refuses these keys outright.
    { name: '__proto__ key', send: json(path, `{"__proto__":{"isAdmin":true},${text.slice(1)}`), status: 400, message: MALFORMED },
    { name: '__proto__ key, escaped', send: json(path, `{"\\u005f_proto__":{"isAdmin":true},${text.slice(1)}`), status: 400, message: MALFORMED },
    { name: 'constructor.prototype', send: json(path, `{"constructor":{"prototype":{"isAdmin":true}},${text.slice(1)}`), status: 400, message: MALFORMED },
    // Property names that exist on Object.prototype are plain unknown names.
    { name: 'constructor as a string', send: json(path, { ...first(valid), constructor: 'x' }), status: 400, message: invalid('constructor') },
    { name: 'prototype key', send: json(path, { ...first(valid), prototype: {} }), status: 400, message: invalid('prototype') },
    { name: 'hasOwnProperty key', send: json(path, { ...first(valid), hasOwnProperty: 'x' }), status: 400, message: invalid('hasOwnProperty') },
    { name: 'toString key', send: json(path, { ...first(valid), toString: 'x' }), status: 400, message: invalid('toString') },
    // NUL bytes and control characters in names: quoted back printable.
    { name: 'a NUL byte in a property name', send: json(path, renameFirst(valid, (k) => `${k.slice(0, 2)}\u0000${k.slice(2)}`)), status: 400, message: invalid(`${firstKey(valid).slice(0, 2)}?${firstKey(valid).slice(2)}`) },
    { name: 'a property named NUL', send: json(path, renameFirst(valid, () => '\u0000')), status: 400, message: invalid('?') },
    { name: 'a property name with CR LF', send: json(path, renameFirst(valid, () => 'x\r\nSet-Cookie: a=b')), status: 400, message: invalid('x??Set-Cookie: a=b') },
    // A very long property name: quoted back cut to 64 characters.
    { name: 'a 10,000-character property name', send: json(path, renameFirst(valid, () => 'k'.repeat(10_000))), status: 400, message: invalid('k'.repeat(64)) },
    // Bodies over BODY_LIMIT (16 KiB): RSA answers a malformed body with 400.
    { name: '1 MB JSON body', send: json(path, JSON.stringify({ ...valid, pad: 'a'.repeat(MB) })), status: 400, message: TOO_LARGE },
    { name: '1 MB body without a content type', send: raw(path, undefined, JSON.stringify({ ...valid, pad: 'a'.repeat(MB) })), status: 400, message: TOO_LARGE },
    { name: '1 MB text/plain body', send: raw(path, 'text/plain', 'a'.repeat(MB)), status: 400, message: TOO_LARGE },
    { name: 'one byte over the limit', send: json(path, text.padEnd(16_385, ' ')), status: 400, message: TOO_LARGE },
    // Media types other than JSON.
    { name: 'text/plain', send: raw(path, 'text/plain', text), status: 415, message: MEDIA },
    { name: 'text/plain; charset=utf-8', send: raw(path, 'text/plain; charset=utf-8', text), status: 415, message: MEDIA },
    { name: 'form-encoded', send: raw(path, 'application/x-www-form-urlencoded', new URLSearchParams(Object.entries(valid).map(([k, v]): [string, string] => [k, String(v)])).toString()), status: 415, message: MEDIA },
    { name: 'multipart', send: raw(path, 'multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="email"\r\n\r\nnobody@example.test\r\n--x--'), status: 415, message: MEDIA },
    { name: 'application/xml', send: raw(path, 'application/xml', '<email>nobody@example.test</email>'), status: 415, message: MEDIA },
    { name: 'application/jsonx (not JSON)', send: raw(path, 'application/jsonx', text), status: 415, message: MEDIA },
    { name: 'text/json', send: raw(path, 'text/json', text), status: 415, message: MEDIA },
    { name: 'an empty content type', send: raw(path, '', text), status: 415, message: MEDIA },
    // Without a content type the body is JSON (RSA's examples send none): malformed is malformed.
    { name: 'no content type, malformed JSON', send: raw(path, undefined, text.slice(0, -1)), status: 400, message: MALFORMED },
    { name: 'no content type, a JSON array', send: raw(path, undefined, '[]'), status: 400, message: NOT_OBJECT },
    { name: 'no content type, __proto__', send: raw(path, undefined, '{"__proto__":{"x":1}}'), status: 400, message: MALFORMED },
    { name: 'no content type and no body', send: raw(path, undefined), status: 400, message: NOT_OBJECT },
    // Other methods on this POST-only path: 405 in RSA's shape, as Spring answers, before the body is read.
    { name: 'GET', send: raw(path, undefined, undefined, 'GET'), status: 405, message: NOT_ALLOWED },
    { name: 'PUT with the valid body', send: raw(path, 'application/json', text, 'PUT'), status: 405, message: NOT_ALLOWED },
    { name: 'PATCH with the valid body', send: raw(path, 'application/json', text, 'PATCH'), status: 405, message: NOT_ALLOWED },
    { name: 'DELETE', send: raw(path, undefined, undefined, 'DELETE'), status: 405, message: NOT_ALLOWED },
    { name: 'a path below the endpoint', send: raw(`${path}/extra`, 'application/json', text), status: 404, message: NO_ENDPOINT, path: `${path}/extra` },
    // The query string is not part of the path RSA's body names.
    { name: 'GET with a query string', send: raw(`${path}?email=${NOBODY}`, undefined, undefined, 'GET'), status: 405, message: NOT_ALLOWED },
  ];
}

const firstKey = (o: Record<string, unknown>): string => Object.keys(o)[0] ?? '';
/** Every property but the first: adding one more name keeps the count valid. */
function first(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).slice(1));
}
function renameFirst(o: Record<string, unknown>, to: (k: string) => string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).map(([k, v], i) => [i === 0 ? to(k) : k, v]));
}

/** Wrong types for one property of an otherwise well-formed body. */
function wrongTypes(path: string, valid: Record<string, unknown>, name: string): Case[] {
  const values: [string, unknown][] = [['a number', 5], ['zero', 0], ['a boolean', true], ['an array', []], ['an array of the value', [valid[name]]], ['an object', {}], ['null', null]];
  return values.map(([what, value]) => ({ name: `${name} is ${what}`, send: json(path, { ...valid, [name]: value }), status: 400, message: invalid(name) }));
}

async function setup(t: TestContext): Promise<Ctx & { before: string }> {
  const h = await build(t, { env: LIMITS });
  const jwt = await adminJwt(h, await adminKeyFile(h));
  await h.user('alice');
  await h.user('bob');
  return { h, jwt, before: databaseDigest(h) };
}

test('deviceRegistrationCode: hostile bodies get RSA\'s exact 4xx, and the database does not change', async (t) => {
  const c = await setup(t);
  const P = CODE_PATH;
  // A well-formed body for a user who does not exist: refused without a write.
  const valid = { email: NOBODY, appId: RSA_APP_ID };
  const cases: Case[] = [
    ...transportCases(P, valid),
    // Property counts.
    { name: 'only appId', send: json(P, { appId: RSA_APP_ID }), status: 400, message: COUNT },
    { name: 'only email', send: json(P, { email: NOBODY }), status: 400, message: COUNT },
    { name: 'an extra property', send: json(P, { ...valid, extra: 1 }), status: 400, message: COUNT },
    { name: 'email, username and appId', send: json(P, { email: 'alice@example.test', username: 'alice', appId: RSA_APP_ID }), status: 400, message: COUNT },
    { name: 'twenty properties', send: json(P, Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`p${i}`, i]))), status: 400, message: COUNT },
    // Unknown names, and email with username (the second of the pair is named).
    { name: 'an unknown property instead of appId', send: json(P, { email: NOBODY, foo: RSA_APP_ID }), status: 400, message: invalid('foo') },
    { name: 'Email in another case', send: json(P, { Email: NOBODY, appId: RSA_APP_ID }), status: 400, message: invalid('Email') },
    { name: 'appid in another case', send: json(P, { email: NOBODY, appid: RSA_APP_ID }), status: 400, message: invalid('appid') },
    { name: 'lookup\'s searchUnsynched', send: json(P, { email: NOBODY, searchUnsynched: true }), status: 400, message: invalid('searchUnsynched') },
    { name: 'email and username, no appId', send: json(P, { email: 'alice@example.test', username: 'alice' }), status: 400, message: invalid('username') },
    { name: 'username and email, no appId', send: json(P, { username: 'alice', email: 'alice@example.test' }), status: 400, message: invalid('username') },
    // Wrong types.
    ...wrongTypes(P, valid, 'email'),
    ...wrongTypes(P, { username: 'nobody', appId: RSA_APP_ID }, 'username'),
    ...wrongTypes(P, valid, 'appId'),
    // Bad values.
    { name: 'email without @', send: json(P, { ...valid, email: 'nobody' }), status: 400, message: invalid('email') },
    { name: 'an empty email', send: json(P, { ...valid, email: '' }), status: 400, message: invalid('email') },
    { name: 'an email with a space', send: json(P, { ...valid, email: 'no body@example.test' }), status: 400, message: invalid('email') },
    { name: 'an email with two @', send: json(P, { ...valid, email: 'a@b@example.test' }), status: 400, message: invalid('email') },
    { name: 'a 10,000-character email', send: json(P, { ...valid, email: `${'a'.repeat(10_000)}@example.test` }), status: 400, message: invalid('email') },
    { name: 'a 10,000-character domain', send: json(P, { ...valid, email: `a@${'b'.repeat(10_000)}.test` }), status: 400, message: invalid('email') },
    { name: 'a NUL byte in email', send: json(P, { ...valid, email: 'nob\u0000ody@example.test' }), status: 400, message: invalid('email') },
    { name: 'a NUL byte at the end of alice\'s email', send: json(P, { ...valid, email: 'alice@example.test\u0000' }), status: 400, message: invalid('email') },
    { name: 'an empty username', send: json(P, { username: '', appId: RSA_APP_ID }), status: 400, message: invalid('username') },
    { name: 'a 10,000-character username', send: json(P, { username: 'u'.repeat(10_000), appId: RSA_APP_ID }), status: 400, message: invalid('username') },
    { name: 'a NUL byte in username', send: json(P, { username: 'alice\u0000', appId: RSA_APP_ID }), status: 400, message: invalid('username') },
    { name: 'an empty appId', send: json(P, { ...valid, appId: '' }), status: 400, message: invalid('appId') },
    { name: 'a 10,000-character appId', send: json(P, { ...valid, appId: 'a'.repeat(10_000) }), status: 400, message: invalid('appId') },
    { name: 'a NUL byte in appId', send: json(P, { ...valid, appId: `${RSA_APP_ID}\u0000` }), status: 400, message: invalid('appId') },
    // An unknown appId is refused before the user is even looked up, for real users too.
    { name: 'an unknown appId for alice', send: json(P, { email: 'alice@example.test', appId: randomUUID() }), status: 400, message: invalid('appId') },
    { name: 'an appId that is not a UUID', send: json(P, { email: 'alice@example.test', appId: 'rsa-authenticator' }), status: 400, message: invalid('appId') },
    { name: 'the RSA appId with whitespace', send: json(P, { email: 'alice@example.test', appId: ` ${RSA_APP_ID} ` }), status: 400, message: invalid('appId') },
    // Unknown users: plain not-found answers that echo what was asked, characters intact.
    { name: 'a unicode email', send: json(P, { ...valid, email: '用户@例子.广告' }), status: 403, message: notFound('用户@例子.广告') },
    { name: 'a unicode username', send: json(P, { username: 'Ünïcødé 🚀', appId: RSA_APP_ID }), status: 403, message: notFound('Ünïcødé 🚀') },
    { name: 'an email at the length limit (320)', send: json(P, { ...valid, email: `${'a'.repeat(64)}@${'b'.repeat(255)}` }), status: 403, message: notFound(`${'a'.repeat(64)}@${'b'.repeat(255)}`) },
    { name: 'invalid UTF-8 in email', send: raw(P, 'application/json', Buffer.concat([Buffer.from('{"email":"a'), Buffer.from([0xff, 0xfe]), Buffer.from(`@example.test","appId":"${RSA_APP_ID}"}`)])), status: 403, message: notFound('a\uFFFD\uFFFD@example.test') },
    { name: 'duplicate keys (the last one counts)', send: json(P, `{"email":"alice@example.test","email":"${NOBODY}","appId":"${RSA_APP_ID}"}`), status: 403, message: notFound(NOBODY) },
    // SQL metacharacters: bound parameters, so just unknown users (or malformed emails).
    { name: 'SQL in a quoted local part (spaces: not an email)', send: json(P, { ...valid, email: '"\' OR 1=1 --"@x.test' }), status: 400, message: invalid('email') },
    { name: 'SQL in an email', send: json(P, { ...valid, email: '\'OR\'1\'=\'1\'--@x.test' }), status: 403, message: notFound('\'OR\'1\'=\'1\'--@x.test') },
    { name: 'SQL in a username', send: json(P, { username: 'a\'; DROP TABLE users; --', appId: RSA_APP_ID }), status: 403, message: notFound('a\'; DROP TABLE users; --') },
    { name: 'SQL comment after alice', send: json(P, { username: 'alice\' --', appId: RSA_APP_ID }), status: 403, message: notFound('alice\' --') },
    { name: 'a LIKE wildcard email', send: json(P, { ...valid, email: '%@example.test' }), status: 403, message: notFound('%@example.test') },
    { name: 'a LIKE wildcard username', send: json(P, { username: 'al%', appId: RSA_APP_ID }), status: 403, message: notFound('al%') },
    { name: 'a one-character wildcard username', send: json(P, { username: '_lice', appId: RSA_APP_ID }), status: 403, message: notFound('_lice') },
    // A body that would be fine, at exactly the limit.
    { name: 'a body of exactly BODY_LIMIT bytes', send: json(P, JSON.stringify(valid).padEnd(16_384, ' ')), status: 403, message: notFound(NOBODY) },
    { name: 'application/json; charset=utf-8', send: raw(P, 'application/json; charset=utf-8', JSON.stringify(valid)), status: 403, message: notFound(NOBODY) },
    { name: 'APPLICATION/JSON in upper case', send: raw(P, 'APPLICATION/JSON', JSON.stringify(valid)), status: 403, message: notFound(NOBODY) },
    // Authentication comes from the header alone.
    { name: 'no Authorization header', send: json(P, valid, { auth: false }), status: 403, message: AUTH },
    { name: 'no Authorization header, alice\'s body', send: json(P, { email: 'alice@example.test', appId: RSA_APP_ID }, { auth: false }), status: 403, message: AUTH },
    { name: 'a garbage bearer token', send: (x) => rsaRequest(x.h, 'POST', P, 'not.a.jwt', { email: 'alice@example.test', appId: RSA_APP_ID }), status: 403, message: AUTH },
  ];
  await runCases(t, c, P, cases);
  assert.equal(databaseDigest(c.h), c.before, 'no hostile request may change the database');
});

test('deviceRegistrationCode: an upper-case appId and a body without a content type are accepted', async (t) => {
  const c = await setup(t);
  // App ids are UUIDs, compared case-insensitively.
  const upper = await rsaRequest(c.h, 'POST', CODE_PATH, c.jwt, { email: 'alice@example.test', appId: RSA_APP_ID.toUpperCase() });
  assert.equal(upper.statusCode, 200, upper.body);
  assert.match(upper.json<{ deviceRegistrationCode: string }>().deviceRegistrationCode, /^\d{9}$/);
  // RSA's own examples carry no Content-Type: the body is read as JSON.
  const bare = await raw(CODE_PATH, undefined, JSON.stringify({ username: 'bob', appId: RSA_APP_ID }))(c);
  assert.equal(bare.statusCode, 200, bare.body);
  const body = bare.json<{ username: string; deviceRegistrationCode: string }>();
  assert.equal(body.username, 'bob');
  assert.match(body.deviceRegistrationCode, /^\d{9}$/);
  assertNoStackTrace(bare.body);
});

test('users/lookup: hostile bodies get RSA\'s exact 4xx, and the database does not change', async (t) => {
  const c = await setup(t);
  const P = LOOKUP_PATH;
  const valid = { email: NOBODY, searchUnsynched: false };
  const cases: Case[] = [
    ...transportCases(P, valid),
    { name: 'three properties', send: json(P, { email: NOBODY, username: 'nobody', searchUnsynched: true }), status: 400, message: COUNT },
    { name: 'email and username', send: json(P, { email: 'alice@example.test', username: 'alice' }), status: 400, message: invalid('username') },
    { name: 'an appId (not a lookup property)', send: json(P, { email: NOBODY, appId: RSA_APP_ID }), status: 400, message: invalid('appId') },
    { name: 'an unknown property alone', send: json(P, { mail: NOBODY }), status: 400, message: invalid('mail') },
    // With neither email nor username, the other property given is the one named.
    // Neither email nor username: the message names the property the body lacks.
    { name: 'searchUnsynched alone', send: json(P, { searchUnsynched: true }), status: 400, message: invalid('email') },
    ...wrongTypes(P, valid, 'email'),
    ...wrongTypes(P, { username: 'nobody' }, 'username'),
    { name: 'searchUnsynched as a string', send: json(P, { email: NOBODY, searchUnsynched: 'true' }), status: 400, message: invalid('searchUnsynched') },
    { name: 'searchUnsynched as a number', send: json(P, { email: NOBODY, searchUnsynched: 1 }), status: 400, message: invalid('searchUnsynched') },
    { name: 'searchUnsynched null', send: json(P, { email: NOBODY, searchUnsynched: null }), status: 400, message: invalid('searchUnsynched') },
    { name: 'a 10,000-character email', send: json(P, { email: `${'a'.repeat(10_000)}@example.test` }), status: 400, message: invalid('email') },
    { name: 'a 10,000-character username', send: json(P, { username: 'u'.repeat(10_000) }), status: 400, message: invalid('username') },
    { name: 'a NUL byte in email', send: json(P, { email: 'alice@example.test\u0000' }), status: 400, message: invalid('email') },
    { name: 'a NUL byte in username', send: json(P, { username: 'ali\u0000ce' }), status: 400, message: invalid('username') },
    { name: 'a unicode email', send: json(P, { email: '用户@例子.广告' }), status: 404, message: 'User not found.' },
    { name: 'SQL in an email', send: json(P, { email: '\'OR\'1\'=\'1\'--@x.test' }), status: 404, message: 'User not found.' },
    { name: 'SQL in a username', send: json(P, { username: 'a\'; DROP TABLE users; --' }), status: 404, message: 'User not found.' },
    { name: 'SQL comment after alice', send: json(P, { username: 'alice\' --' }), status: 404, message: 'User not found.' },
    { name: 'a LIKE wildcard email', send: json(P, { email: '%@example.test' }), status: 404, message: 'User not found.' },
    { name: 'a LIKE wildcard username', send: json(P, { username: '%' }), status: 404, message: 'User not found.' },
    { name: 'no Authorization header', send: json(P, { email: 'alice@example.test' }, { auth: false }), status: 403, message: AUTH },
  ];
  await runCases(t, c, P, cases);
  // A lookup writes nothing, so real answers belong to the batch too: a body with no content type
  // is read as JSON, and the tables survived the SQL above.
  for (const body of [{ email: 'alice@example.test' }, { username: 'bob', searchUnsynched: true }]) {
    const res = await raw(P, undefined, JSON.stringify(body))(c);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json<{ emailAddress: string }>().emailAddress, 'email' in body ? body.email : 'bob@example.test');
  }
  assert.equal(databaseDigest(c.h), c.before, 'no hostile request may change the database');
});

test('device registration (redemption): hostile bodies get RSA\'s exact 4xx, and the database does not change', async (t) => {
  const c = await setup(t);
  const P = REDEEM_PATH;
  const valid = { deviceRegistrationCode: '123456789', appId: RSA_APP_ID, deviceName: 'Phone', platform: 'iOS' };
  const cases: Case[] = [
    ...transportCases(P, valid),
    { name: 'three properties', send: json(P, { deviceRegistrationCode: '123456789', appId: RSA_APP_ID, deviceName: 'Phone' }), status: 400, message: COUNT },
    { name: 'five properties', send: json(P, { ...valid, userId: 'x' }), status: 400, message: COUNT },
    { name: 'only the code', send: json(P, { deviceRegistrationCode: '123456789' }), status: 400, message: COUNT },
    { name: 'an unknown property instead of platform', send: json(P, { deviceRegistrationCode: '123456789', appId: RSA_APP_ID, deviceName: 'Phone', os: 'iOS' }), status: 400, message: invalid('os') },
    { name: 'email instead of the code', send: json(P, { email: 'alice@example.test', appId: RSA_APP_ID, deviceName: 'Phone', platform: 'iOS' }), status: 400, message: invalid('email') },
    ...wrongTypes(P, valid, 'deviceRegistrationCode'),
    ...wrongTypes(P, valid, 'appId'),
    ...wrongTypes(P, valid, 'deviceName'),
    ...wrongTypes(P, valid, 'platform'),
    // A number is not the code, even with the right digits (and leading zeros would be lost).
    { name: 'the code as a number', send: json(P, '{"deviceRegistrationCode":123456789,"appId":"' + RSA_APP_ID + '","deviceName":"Phone","platform":"iOS"}'), status: 400, message: invalid('deviceRegistrationCode') },
    { name: 'the code as a float', send: json(P, { ...valid, deviceRegistrationCode: 1.5e8 }), status: 400, message: invalid('deviceRegistrationCode') },
    { name: 'a 10,000-character code', send: json(P, { ...valid, deviceRegistrationCode: '1'.repeat(10_000) }), status: 400, message: invalid('deviceRegistrationCode') },
    { name: 'a NUL byte in the code', send: json(P, { ...valid, deviceRegistrationCode: '12345678\u00009' }), status: 400, message: invalid('deviceRegistrationCode') },
    { name: 'an empty appId', send: json(P, { ...valid, appId: '' }), status: 400, message: invalid('appId') },
    { name: 'a NUL byte in appId', send: json(P, { ...valid, appId: `\u0000${RSA_APP_ID}` }), status: 400, message: invalid('appId') },
    { name: 'an empty deviceName', send: json(P, { ...valid, deviceName: '' }), status: 400, message: invalid('deviceName') },
    { name: 'a 201-character deviceName', send: json(P, { ...valid, deviceName: 'd'.repeat(201) }), status: 400, message: invalid('deviceName') },
    { name: 'a NUL byte in deviceName', send: json(P, { ...valid, deviceName: 'Phone\u0000' }), status: 400, message: invalid('deviceName') },
    { name: 'an empty platform', send: json(P, { ...valid, platform: '' }), status: 400, message: invalid('platform') },
    { name: 'a 65-character platform', send: json(P, { ...valid, platform: 'p'.repeat(65) }), status: 400, message: invalid('platform') },
    { name: 'a NUL byte in platform', send: json(P, { ...valid, platform: 'i\u0000OS' }), status: 400, message: invalid('platform') },
  ];
  await runCases(t, c, P, cases);
  assert.equal(databaseDigest(c.h), c.before, 'no hostile request may change the database');
});

test('device registration (redemption): codes that are not the code are refused, and the real code still works once', async (t) => {
  const c = await setup(t);
  const issued = await rsaRequest(c.h, 'POST', CODE_PATH, c.jwt, { email: 'alice@example.test', appId: RSA_APP_ID });
  assert.equal(issued.statusCode, 200, issued.body);
  const code = issued.json<{ deviceRegistrationCode: string }>().deviceRegistrationCode;
  const other = code === '000000000' ? '000000001' : '000000000';
  const redeem = (deviceRegistrationCode: string, appId = RSA_APP_ID) => (x: Ctx) =>
    rsaRequest(x.h, 'POST', REDEEM_PATH, undefined, { deviceRegistrationCode, appId, deviceName: 'Phone', platform: 'iOS' });
  // These reach the engine, which records each wrong code against the guess budget (a write by
  // design), so this batch is not held to the unchanged-digest rule; no device may appear, though.
  const wrong = [
    '12345678', '1234567890', 'abcdefghi', `${code.slice(0, 8)}a`, ` ${code}`, `${code} `, `${code}\n`, `+${code.slice(1)}`, '١٢٣٤٥٦٧٨٩', '１２３４５６７８９', '',
    '\' OR 1=1 --', '%', code.slice(0, 8), `${code}0`, other,
  ];
  const cases: Case[] = [
    ...wrong.map((w) => ({ name: `code ${JSON.stringify(w)}`, send: redeem(w), status: 400, message: BAD_CODE })),
    // The real code for another app, or for an app that does not exist: refused, not spent.
    { name: 'the real code with an unknown appId', send: redeem(code, randomUUID()), status: 400, message: BAD_CODE },
    { name: 'the real code with a non-UUID appId', send: redeem(code, '\' OR 1=1 --'), status: 400, message: BAD_CODE },
    // A malformed field leaves the code unspent too.
    { name: 'the real code with a NUL in deviceName', send: (x) => rsaRequest(x.h, 'POST', REDEEM_PATH, undefined, { deviceRegistrationCode: code, appId: RSA_APP_ID, deviceName: 'a\u0000', platform: 'iOS' }), status: 400, message: invalid('deviceName') },
  ];
  await runCases(t, c, REDEEM_PATH, cases);
  const alice = await c.h.services.store.users.getByUsername(c.h.services.defaultEnv.id, 'alice');
  assert.ok(alice);
  assert.deepEqual(await c.h.services.store.registeredDevices.listForUser(c.h.services.defaultEnv.id, alice.id), []);
  // The real code, with the appId in upper case (compared case-insensitively) and no content type.
  const ok = await c.h.inject({
    method: 'POST', url: REDEEM_PATH,
    payload: JSON.stringify({ deviceRegistrationCode: code, appId: RSA_APP_ID.toUpperCase(), deviceName: 'Phone', platform: 'iOS' }),
  });
  assert.equal(ok.statusCode, 201, ok.body);
  assert.equal(ok.json<{ appId: string }>().appId, RSA_APP_ID);
  assertRsaError(await redeem(code)(c), 400, BAD_CODE, REDEEM_PATH);
});

test('device registration (redemption): guessing codes runs out of the per-source budget', async (t) => {
  const h = await build(t, { env: { RATE_LIMIT_DEVICE_REGISTRATION: '100000' } });
  const send = (code: string) => rsaRequest(h, 'POST', REDEEM_PATH, undefined, { deviceRegistrationCode: code, appId: RSA_APP_ID, deviceName: 'Phone', platform: 'iOS' });
  // CODE_GUESS_BUDGET defaults to 5 wrong codes per source.
  for (let i = 0; i < 5; i++) assertRsaError(await send(String(100_000_000 + i)), 400, BAD_CODE, REDEEM_PATH);
  const res = await send('100000009');
  assertRsaError(res, 429, 'Too many requests.', REDEEM_PATH);
  assert.match(String(res.headers['retry-after']), /^\d+$/);
});
