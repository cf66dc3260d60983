// Hostile and malformed requests to the Veeam facade (docs/vendors.md): each one is a 4xx RFC 7807
// problem with the exact `error` member, never a 500, never a stack trace; refused sign-ins
// change nothing in the database.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { build, type TestApp } from '../helpers/build.ts';
import { adminJwt, adminKeyFile, databaseDigest } from '../rsa/_support.ts';
import { assertInvalidToken, assertProblem, getDeviceCode, PASSWORD, sessionToken } from './_support.ts';

const TOKEN = '/api/oauth2/token';
const DEVICE_CODE = '/api/v1/accounts/created/getDeviceCode';
const FORM = 'application/x-www-form-urlencoded';
const MB = 1024 * 1024;
// Many requests from one source address: the per-source limit is not what is under test.
const LIMITS = { RATE_LIMIT_SESSION: '100000' };

interface Case {
  name: string;
  send: (h: TestApp) => Promise<LightMyRequestResponse>;
  status: number;
  error: string;
}

const enc = (s: string) => encodeURIComponent(s);
/** A form body from name/value pairs, in order, repeats kept. */
const pairs = (...p: [string, string][]) => p.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
const VALID = pairs(['grant_type', 'Password'], ['Username', 'alice'], ['Password', PASSWORD]);

const form = (body: string) => (h: TestApp) => h.form(TOKEN, body);
/** Any method, media type and payload; no content-type header when `type` is undefined. */
const raw = (type: string | undefined, payload?: string | Buffer, method: InjectOptions['method'] = 'POST', url = TOKEN) => (h: TestApp) => {
  const headers: Record<string, string> = type === undefined ? {} : { 'content-type': type };
  return h.inject(payload === undefined ? { method, url, headers } : { method, url, headers, payload });
};

async function runCases(t: TestContext, h: TestApp, cases: Case[]): Promise<void> {
  for (const c of cases) {
    await t.test(c.name, async () => {
      const res = await c.send(h);
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${c.name}: ${res.statusCode} ${res.body.slice(0, 300)}`);
      assertProblem(res, c.status, c.error);
      assert.equal(res.headers['cache-control'], 'no-store');
    });
  }
}

test('token endpoint: hostile requests are 4xx problems with the exact error, and change nothing', async (t) => {
  const h = await build(t, { env: LIMITS });
  await h.user('alice');
  const before = databaseDigest(h);
  const cases: Case[] = [
    // Media types: only a form body is a token request.
    { name: 'a JSON body', send: raw('application/json', JSON.stringify({ grant_type: 'Password', Username: 'alice', Password: PASSWORD })), status: 415, error: 'unsupported_media_type' },
    { name: 'a JSON array', send: raw('application/json', '[]'), status: 415, error: 'unsupported_media_type' },
    { name: 'malformed JSON', send: raw('application/json', '{"grant_type":'), status: 400, error: 'invalid_request' },
    { name: 'JSON with __proto__', send: raw('application/json', '{"__proto__":{"grant_type":"Password"}}'), status: 400, error: 'invalid_request' },
    { name: 'text/plain', send: raw('text/plain', VALID), status: 415, error: 'unsupported_media_type' },
    { name: 'multipart', send: raw('multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\nPassword\r\n--x--'), status: 415, error: 'unsupported_media_type' },
    { name: 'application/xml', send: raw('application/xml', '<grant_type>Password</grant_type>'), status: 415, error: 'unsupported_media_type' },
    { name: 'a form body without a content type', send: raw(undefined, VALID), status: 415, error: 'unsupported_media_type' },
    { name: 'no content type and no body', send: raw(undefined), status: 400, error: 'invalid_request' },
    // Bodies over BODY_LIMIT (16 KiB).
    { name: '1 MB form body', send: form(`${VALID}&pad=${'a'.repeat(MB)}`), status: 413, error: 'payload_too_large' },
    { name: '1 MB JSON body', send: raw('application/json', JSON.stringify({ pad: 'a'.repeat(MB) })), status: 413, error: 'payload_too_large' },
    // Without a content type no parser applies, so the media type is refused before the size.
    { name: '1 MB without a content type', send: raw(undefined, 'a'.repeat(MB)), status: 415, error: 'unsupported_media_type' },
    // Repeated parameters (RFC 6749 §3.2: parameters must not be included more than once).
    { name: 'grant_type twice', send: form(`${VALID}&grant_type=Password`), status: 400, error: 'invalid_request' },
    { name: 'Username twice, same value', send: form(`${VALID}&Username=alice`), status: 400, error: 'invalid_request' },
    { name: 'Password twice, different values', send: form(`${VALID}&Password=other`), status: 400, error: 'invalid_request' },
    { name: 'an unknown parameter twice', send: form(`${VALID}&x=1&x=2`), status: 400, error: 'invalid_request' },
    { name: '__proto__ twice', send: form(`${VALID}&__proto__=a&__proto__=b`), status: 400, error: 'invalid_request' },
    // NUL bytes and oversized values (over 4096 characters).
    { name: 'a NUL byte in Username', send: form(pairs(['grant_type', 'Password'], ['Username', 'alice\0'], ['Password', PASSWORD])), status: 400, error: 'invalid_request' },
    { name: 'a NUL byte in Password', send: form(pairs(['grant_type', 'Password'], ['Username', 'alice'], ['Password', `${PASSWORD}\0`])), status: 400, error: 'invalid_request' },
    { name: 'a NUL byte in grant_type', send: form(pairs(['grant_type', 'Pass\0word'], ['Username', 'alice'], ['Password', PASSWORD])), status: 400, error: 'invalid_request' },
    { name: 'a NUL byte in lower-case username', send: form(pairs(['grant_type', 'Password'], ['username', '\0'], ['password', PASSWORD])), status: 400, error: 'invalid_request' },
    { name: 'a 5000-character Username', send: form(pairs(['grant_type', 'Password'], ['Username', 'u'.repeat(5000)], ['Password', PASSWORD])), status: 400, error: 'invalid_request' },
    { name: 'a 5000-character Password', send: form(pairs(['grant_type', 'Password'], ['Username', 'alice'], ['Password', 'p'.repeat(5000)])), status: 400, error: 'invalid_request' },
    { name: 'a 5000-character grant_type', send: form(pairs(['grant_type', 'g'.repeat(5000)], ['Username', 'alice'], ['Password', PASSWORD])), status: 400, error: 'invalid_request' },
    { name: 'a 5000-character lower-case password', send: form(pairs(['grant_type', 'Password'], ['username', 'alice'], ['password', 'p'.repeat(5000)])), status: 400, error: 'invalid_request' },
    // At the 4096 limit the value is read, and is simply wrong.
    { name: 'a 4096-character Password', send: form(pairs(['grant_type', 'Password'], ['Username', 'alice'], ['Password', 'p'.repeat(4096)])), status: 400, error: 'invalid_grant' },
    // grant_type.
    { name: 'an empty form', send: form(''), status: 400, error: 'invalid_request' },
    { name: 'no grant_type', send: form(pairs(['Username', 'alice'], ['Password', PASSWORD])), status: 400, error: 'invalid_request' },
    { name: 'an empty grant_type', send: form(pairs(['grant_type', ''], ['Username', 'alice'], ['Password', PASSWORD])), status: 400, error: 'invalid_request' },
    { name: 'Grant_Type (the name is case-sensitive)', send: form(pairs(['Grant_Type', 'Password'], ['Username', 'alice'], ['Password', PASSWORD])), status: 400, error: 'invalid_request' },
    { name: '__proto__[grant_type]', send: form(`__proto__%5Bgrant_type%5D=Password&Username=alice&Password=${enc(PASSWORD)}`), status: 400, error: 'invalid_request' },
    { name: 'client_credentials', send: form(pairs(['grant_type', 'client_credentials'], ['Username', 'alice'], ['Password', PASSWORD])), status: 400, error: 'unsupported_grant_type' },
    { name: 'authorization_code', send: form(pairs(['grant_type', 'authorization_code'], ['code', 'x'], ['Username', 'alice'], ['Password', PASSWORD])), status: 400, error: 'unsupported_grant_type' },
    // Veeam's Refresh_token grant renews a session: an unknown token is invalid_grant.
    { name: 'refresh_token', send: form(pairs(['grant_type', 'refresh_token'], ['refresh_token', 'x'])), status: 400, error: 'invalid_grant' },
    { name: 'the device_code grant', send: form(pairs(['grant_type', 'urn:ietf:params:oauth:grant-type:device_code'], ['device_code', 'x'])), status: 400, error: 'unsupported_grant_type' },
    { name: 'Password with a trailing space', send: form(pairs(['grant_type', 'Password '], ['Username', 'alice'], ['Password', PASSWORD])), status: 400, error: 'unsupported_grant_type' },
    { name: 'Passwords', send: form(pairs(['grant_type', 'Passwords'], ['Username', 'alice'], ['Password', PASSWORD])), status: 400, error: 'unsupported_grant_type' },
    { name: 'a truncated escape in grant_type', send: form(`grant_type=Password%&Username=alice&Password=${enc(PASSWORD)}`), status: 400, error: 'unsupported_grant_type' },
    // Credentials: missing, empty, or given in both spellings with different values.
    { name: 'no username', send: form(pairs(['grant_type', 'Password'], ['Password', PASSWORD])), status: 400, error: 'invalid_request' },
    { name: 'no password', send: form(pairs(['grant_type', 'Password'], ['Username', 'alice'])), status: 400, error: 'invalid_request' },
    { name: 'an empty Username', send: form(pairs(['grant_type', 'Password'], ['Username', ''], ['Password', PASSWORD])), status: 400, error: 'invalid_request' },
    { name: 'an empty lower-case username', send: form(pairs(['grant_type', 'Password'], ['username', ''], ['password', PASSWORD])), status: 400, error: 'invalid_request' },
    { name: 'an empty Password', send: form(pairs(['grant_type', 'Password'], ['Username', 'alice'], ['Password', ''])), status: 400, error: 'invalid_request' },
    { name: 'username and Username disagree', send: form(pairs(['grant_type', 'Password'], ['username', 'alice'], ['Username', 'bob'], ['Password', PASSWORD])), status: 400, error: 'invalid_request' },
    { name: 'password and Password disagree', send: form(pairs(['grant_type', 'Password'], ['Username', 'alice'], ['password', PASSWORD], ['Password', 'wrong'])), status: 400, error: 'invalid_request' },
    { name: 'an empty username beside a real Username', send: form(pairs(['grant_type', 'Password'], ['username', ''], ['Username', 'alice'], ['Password', PASSWORD])), status: 400, error: 'invalid_request' },
    // Wrong credentials, however they are spelled: invalid_grant (RFC 6749 §5.2).
    { name: 'a wrong password', send: form(pairs(['grant_type', 'Password'], ['Username', 'alice'], ['Password', 'wrong'])), status: 400, error: 'invalid_grant' },
    { name: 'the password in another case', send: form(pairs(['grant_type', 'Password'], ['Username', 'alice'], ['Password', PASSWORD.toUpperCase()])), status: 400, error: 'invalid_grant' },
    { name: 'an unknown user', send: form(pairs(['grant_type', 'Password'], ['Username', 'nobody'], ['Password', PASSWORD])), status: 400, error: 'invalid_grant' },
    { name: 'a unicode username', send: form(pairs(['grant_type', 'Password'], ['Username', '用户@例子.广告'], ['Password', PASSWORD])), status: 400, error: 'invalid_grant' },
    { name: 'SQL in the username', send: form(pairs(['grant_type', 'Password'], ['Username', 'alice\' --'], ['Password', 'x'])), status: 400, error: 'invalid_grant' },
    { name: 'SQL that drops a table', send: form(pairs(['grant_type', 'Password'], ['Username', 'a\'; DROP TABLE users; --'], ['Password', 'x'])), status: 400, error: 'invalid_grant' },
    { name: 'SQL in the password', send: form(pairs(['grant_type', 'Password'], ['Username', 'alice'], ['Password', '\' OR \'1\'=\'1'])), status: 400, error: 'invalid_grant' },
    { name: 'a LIKE wildcard username', send: form(pairs(['grant_type', 'Password'], ['Username', '%'], ['Password', PASSWORD])), status: 400, error: 'invalid_grant' },
    { name: 'a malformed escape in Username', send: form(`grant_type=Password&Username=%ZZalice&Password=${enc(PASSWORD)}`), status: 400, error: 'invalid_grant' },
    { name: 'invalid UTF-8 in Password', send: raw(FORM, Buffer.concat([Buffer.from('grant_type=Password&Username=alice&Password='), Buffer.from([0xc3, 0x28, 0xff])])), status: 400, error: 'invalid_grant' },
    // Other methods: 405 before any body is read.
    { name: 'GET', send: raw(undefined, undefined, 'GET', `${TOKEN}?${VALID}`), status: 405, error: 'method_not_allowed' },
    { name: 'PUT with a valid form', send: raw(FORM, VALID, 'PUT'), status: 405, error: 'method_not_allowed' },
    { name: 'DELETE', send: raw(undefined, undefined, 'DELETE'), status: 405, error: 'method_not_allowed' },
    { name: 'a path below the endpoint', send: raw(FORM, VALID, 'POST', `${TOKEN}/extra`), status: 404, error: 'not_found' },
  ];
  await runCases(t, h, cases);
  assert.equal(databaseDigest(h), before, 'no refused sign-in may change the database');
  // And alice can still sign in: the SQL above did nothing to the users table.
  await sessionToken(h, 'alice');
});

test('token endpoint: the spellings and forms Veeam clients use are accepted', async (t) => {
  const h = await build(t, { env: LIMITS });
  await h.user('alice');
  const accepted: [string, string, Record<string, string>?][] = [
    ['grant_type in lower case', pairs(['grant_type', 'password'], ['Username', 'alice'], ['Password', PASSWORD])],
    ['grant_type in upper case', pairs(['grant_type', 'PASSWORD'], ['Username', 'alice'], ['Password', PASSWORD])],
    ['RFC 6749 spellings', pairs(['grant_type', 'Password'], ['username', 'alice'], ['password', PASSWORD])],
    ['both spellings, agreeing', pairs(['grant_type', 'Password'], ['username', 'alice'], ['Username', 'alice'], ['password', PASSWORD], ['Password', PASSWORD])],
    ['prototype names beside the parameters', `__proto__=x&constructor=y&hasOwnProperty=z&${VALID}`],
    ['a charset parameter', VALID, { 'content-type': `${FORM}; charset=UTF-8` }],
  ];
  for (const [name, body, headers] of accepted) {
    const res = await h.form(TOKEN, body, headers);
    assert.equal(res.statusCode, 200, `${name}: ${res.body}`);
    assert.equal(res.json<{ token_type: string }>().token_type, 'Bearer', name);
  }
});

test('getDeviceCode: malformed or foreign bearer credentials are 401 invalid_token; other methods 405', async (t) => {
  const h = await build(t, { env: LIMITS });
  await h.user('alice');
  const token = await sessionToken(h, 'alice');
  const adminToken = await adminJwt(h, await adminKeyFile(h));
  const [head = '', payload = '', signature = ''] = token.split('.');
  const flipped = `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
  const refused: [string, string | undefined, string?][] = [
    ['no Authorization header', undefined],
    ['Bearer and nothing', 'Bearer'],
    ['Bearer and a space', 'Bearer '],
    ['Basic credentials', `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`],
    ['the token without a scheme', token],
    ['a garbage token', 'Bearer garbage'],
    ['three empty segments', 'Bearer ..'],
    ['a 10,000-character token', `Bearer ${'a'.repeat(10_000)}`],
    ['two tokens', `Bearer ${token} ${token}`],
    ['the token with a character appended', `Bearer ${token}x`],
    ['a tampered signature', `Bearer ${head}.${payload}.${flipped}`],
    ['no signature', `Bearer ${head}.${payload}.`],
    ['alg none', `Bearer ${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`],
    // An RSA admin JWT is not a session token.
    ['an RSA admin JWT', `Bearer ${adminToken}`],
    ['quotes and semicolons', 'Bearer "\'; DROP TABLE users; --'],
    // RFC 6750 §2.3 tokens in the URL are refused even beside a valid header.
    ['a valid token plus access_token in the query', `Bearer ${token}`, `${DEVICE_CODE}?access_token=${token}`],
  ];
  for (const [name, authorization, url] of refused) {
    await t.test(name, async () => {
      const res = await getDeviceCode(h, authorization, url === undefined ? {} : { url });
      assertInvalidToken(res);
    });
  }
  for (const method of ['POST', 'PUT', 'DELETE', 'HEAD'] as const) {
    await t.test(method, async () => {
      const res = await h.inject({ method, url: DEVICE_CODE, headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.statusCode, 405, res.body);
      assert.equal(res.headers.allow, 'GET');
      // HEAD answers carry no body, so only the other methods show the problem.
      if (method !== 'HEAD') assertProblem(res, 405, 'method_not_allowed');
    });
  }
  // The valid token still works: nothing above was mistaken for it.
  assert.equal((await getDeviceCode(h, `Bearer ${token}`)).statusCode, 200);
});
