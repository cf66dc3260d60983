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
