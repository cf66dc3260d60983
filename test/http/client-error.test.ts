// Requests the HTTP parser itself rejects still answer in the RFC 6749 error format, over a real socket.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { build } from '../helpers/build.ts';

function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const socket = net.connect(port, '127.0.0.1', () => socket.end(request));
    socket.on('data', (d) => { out += String(d); });
    socket.on('close', () => { resolve(out); });
    // The server answers, then drops a client that is still sending: keep what arrived before the reset.
    socket.on('error', (err) => { if (out === '') reject(err); else resolve(out); });
  });
}

test('a body cut short and oversized headers get {error, error_description}, not the framework\'s body', async (t) => {
  const h = await build(t);
  const port = Number(new URL(await h.listen()).port);

  const truncated = await raw(port, 'POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 50\r\n\r\ngrant_type=x');
  assert.match(truncated, /^HTTP\/1\.1 400 /);
  assert.deepEqual(JSON.parse(truncated.split('\r\n\r\n')[1] ?? ''), { error: 'invalid_request', error_description: 'malformed HTTP request' });

  const headers = await raw(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
  assert.match(headers, /^HTTP\/1\.1 431 /);
  assert.equal((JSON.parse(headers.split('\r\n\r\n')[1] ?? '') as { error: string }).error, 'invalid_request');
});

test('on page URLs the parser\'s refusals are HTML pages; HEAD answers carry no body', async (t) => {
  const h = await build(t);
  const port = Number(new URL(await h.listen()).port);
  const env = h.services.defaultEnv.id;
  for (const path of ['/device', `/${env}/signon?flowId=x`, `/${env}/device/some-client`]) {
    const res = await raw(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nCookie: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
    assert.match(res, /^HTTP\/1\.1 431 /, path);
    assert.match(res, /\r\nContent-Type: text\/html; charset=utf-8\r\n/i, path);
    assert.match(res, /\r\nContent-Security-Policy: default-src 'none'/i);
    assert.match(res.split('\r\n\r\n')[1] ?? '', /^<!doctype html>/i);
  }
  // Not a page: the native JSON, as before.
  const api = await raw(port, `GET /oauth/jwks HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
  assert.match(api, /\r\nContent-Type: application\/json/i);
  // HEAD: status and headers, no body.
  const head = await raw(port, `HEAD /device HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
  assert.match(head, /^HTTP\/1\.1 431 /);
  assert.equal(head.split('\r\n\r\n')[1], '');
});

test('a malformed URL on a page path is an HTML page; on the flow API the PingOne envelope', async (t) => {
  const h = await build(t);
  const env = h.services.defaultEnv.id;
  // The router refuses these before any route (h.app.inject: no documented operation answers them).
  for (const url of ['/device/%E0%A4%A', `/%ZZ/signon`, `/${env}/signon/%ZZ`]) {
    const res = await h.app.inject({ method: 'GET', url });
    assert.equal(res.statusCode, 400, url);
    assert.match(String(res.headers['content-type']), /^text\/html/, url);
    assert.match(String(res.headers['content-security-policy']), /frame-ancestors 'none'/);
  }
  const flow = await h.app.inject({ method: 'GET', url: `/${env}/flows/%ZZ` });
  assert.equal(flow.statusCode, 400);
  assert.equal(flow.json<{ code: string }>().code, 'INVALID_DATA');
  const api = await h.app.inject({ method: 'GET', url: '/api/v1/%ZZ' });
  assert.equal(api.headers['content-type'], 'application/problem+json; charset=utf-8');
});

test('HEAD answers carry no body, errors included', async (t) => {
  const h = await build(t);
  const url = await h.listen();
  for (const path of ['/healthz', '/device', '/nothing-here', '/oauth/jwks', '/api/v1/accounts/created/getDeviceCode', '/AdminInterface/restapi/v1/nothing']) {
    const res = await fetch(`${url}${path}`, { method: 'HEAD', redirect: 'manual' });
    assert.equal(await res.text(), '', `${path} (${res.status})`);
  }
});

test('a 100 KB URL, a malformed request line and an absolute-form URL on a page path are HTML pages', async (t) => {
  const h = await build(t);
  const port = Number(new URL(await h.listen()).port);
  const env = h.services.defaultEnv.id;
  const page = (res: string, status: number, what: string): void => {
    assert.match(res, new RegExp(`^HTTP/1\\.1 ${status} `), what);
    assert.match(res, /\r\nContent-Type: text\/html; charset=utf-8\r\n/i, what);
    assert.match(res.split('\r\n\r\n')[1] ?? '', /^<!doctype html>/i, what);
  };
  // The request line alone is larger than every header limit: the parser has only its first part.
  page(await raw(port, `GET /${env}/signon?flowId=${'a'.repeat(100 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`), 431, '100 KB URL');
  page(await raw(port, `GET /device?user_code=${'B'.repeat(100 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`), 431, '100 KB query on /device');
  page(await raw(port, 'GET /device HTTP/1.1 junk\r\nHost: x\r\n\r\n'), 400, 'junk after the version');
  page(await raw(port, `GET /${env}/signon/\x01 HTTP/1.1\r\nHost: x\r\n\r\n`), 400, 'a control character in the path');
  page(await raw(port, `GET http://x/${env}/device HTTP/1.1 junk\r\nHost: x\r\n\r\n`), 400, 'absolute form');
  // Not a page, malformed the same way: the server's native JSON.
  const api = await raw(port, 'GET /oauth/jwks HTTP/1.1 junk\r\nHost: x\r\n\r\n');
  assert.match(api, /^HTTP\/1\.1 400 /);
  assert.equal((JSON.parse(api.split('\r\n\r\n')[1] ?? '') as { error: string }).error, 'invalid_request');
});

test('the parser\'s refusals on the flow API, Veeam and RSA paths come in each one\'s error body', async (t) => {
  const h = await build(t);
  const port = Number(new URL(await h.listen()).port);
  const env = h.services.defaultEnv.id;
  const answer = async (request: string): Promise<{ status: number; type: string; body: Record<string, unknown> }> => {
    const res = await raw(port, request);
    const [head = '', body = ''] = res.split('\r\n\r\n');
    return {
      status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1]),
      type: /\r\nContent-Type: ([^\r;]+)/i.exec(head)?.[1] ?? '',
      body: JSON.parse(body) as Record<string, unknown>,
    };
  };
  const big = 'a'.repeat(100 * 1024);

  const flow = await answer(`GET /${env}/flows/${big} HTTP/1.1\r\nHost: x\r\n\r\n`);
  assert.equal(flow.status, 431);
  assert.equal(flow.type, 'application/json');
  assert.equal(flow.body.code, 'INVALID_REQUEST');
  assert.equal(typeof flow.body.id, 'string');
  assert.equal(typeof flow.body.message, 'string');

  const veeam = await answer('POST /api/v1/accounts/created/getDeviceCode HTTP/1.1 junk\r\nHost: x\r\n\r\n');
  assert.equal(veeam.status, 400);
  assert.equal(veeam.type, 'application/problem+json');
  assert.equal(veeam.body.status, 400);
  assert.equal(veeam.body.error, 'invalid_request');
  assert.equal(typeof veeam.body.title, 'string');
  assert.equal(typeof veeam.body.detail, 'string');

  const rsa = await answer(`GET /AdminInterface/restapi/v1/users/deviceRegistrationCode HTTP/1.1\r\nHost: x\r\nX-Big: ${big}\r\n\r\n`);
  assert.equal(rsa.status, 431);
  assert.equal(rsa.type, 'application/json');
  assert.equal(rsa.body.status, 431);
  assert.equal(rsa.body.path, '/AdminInterface/restapi/v1/users/deviceRegistrationCode');
  assert.equal(rsa.body.timestamp, h.clock.now());
  assert.equal(typeof rsa.body.message, 'string');
});
