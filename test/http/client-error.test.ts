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
