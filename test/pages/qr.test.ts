// RFC 8628 §3.3.1: the QR code of verification_uri_complete for device screens, as an SVG that can hold
// nothing but drawing, for any well-formed code (codes are not looked up).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import QRCode from 'qrcode';
import { build } from '../helpers/build.ts';
import { assertHtmlPage, deviceStarts } from './_support.ts';

/** Dark modules of the SVG's stroked path, as qrcode draws them: runs of `h` per row, `M` starts a row, `m` skips light modules. */
function modulesOf(svg: string): { size: number; dark: Set<string> } {
  const viewBox = /viewBox="0 0 (\d+) (\d+)"/.exec(svg);
  assert.ok(viewBox, 'a viewBox');
  assert.equal(viewBox[1], viewBox[2], 'square');
  const d = /<path [^>]*stroke="[^"]*"[^>]*\bd="([^"]*)"/.exec(svg)?.[1];
  assert.ok(d !== undefined, 'the stroked path of dark modules');
  const dark = new Set<string>();
  let x = 0;
  let y = 0;
  for (const [, cmd, a = '0', b] of d.matchAll(/([Mmh])(\d+(?:\.\d+)?)(?: (\d+(?:\.\d+)?))?/g)) {
    if (cmd === 'M') [x, y] = [Number(a), Number(b) - 0.5];
    else if (cmd === 'm') x += Number(a);
    else for (const end = x + Number(a); x < end; x++) dark.add(`${x},${y}`);
  }
  return { size: Number(viewBox[1]), dark };
}

/** The same, from qrcode's own encoder: what the QR code of `text` must contain (4-module margin). */
function expectedModules(text: string): { size: number; dark: Set<string> } {
  const { modules } = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const dark = new Set<string>();
  for (let row = 0; row < modules.size; row++) {
    for (let col = 0; col < modules.size; col++) if (modules.get(row, col)) dark.add(`${col + 4},${row + 4}`);
  }
  return { size: modules.size + 8, dark };
}

/** A QR answer: SVG made only of path/rect, with its headers; returns the SVG. */
function assertQrSvg(res: LightMyRequestResponse): string {
  assert.equal(res.statusCode, 200, res.body.slice(0, 300));
  assert.match(String(res.headers['content-type']), /^image\/svg\+xml\b/);
  assert.equal(res.headers['cache-control'], 'public, max-age=300');
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
  const csp = String(res.headers['content-security-policy']);
  assert.match(csp, /(^|; )default-src 'none'(;|$)/, 'no script-src, so scripts fall back to none');
  assert.doesNotMatch(csp, /script-src|unsafe/);
  const svg = res.body.trim();
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" [^>]*viewBox="0 0 \d+ \d+"[^>]*>.*<\/svg>$/s);
  const elements = [...svg.matchAll(/<\s*([A-Za-z][\w:.-]*)/g)].map((m) => (m[1] ?? '').toLowerCase());
  assert.deepEqual([...new Set(elements)].filter((e) => !['svg', 'path', 'rect'].includes(e)), [], 'only path and rect inside the svg');
  assert.doesNotMatch(svg, /script|foreignObject|\bon\w+=|href|<!|<\?/i);
  return svg;
}

test('GET /device/qr.svg: the QR code of the default environment\'s verification_uri_complete', async (t) => {
  const h = await build(t);
  const device = await deviceStarts(h, await h.publicClient());
  const res = await h.inject({ method: 'GET', url: `/device/qr.svg?user_code=${device.user_code}` });
  const svg = assertQrSvg(res);
  assert.equal(device.verification_uri_complete, `http://issuer.test/device?user_code=${device.user_code}`);
  const picture = modulesOf(svg);
  assert.ok(picture.dark.size > 100, 'a picture, not an empty path');
  assert.deepEqual(picture, expectedModules(device.verification_uri_complete));
  assert.notDeepEqual(picture, expectedModules(`http://issuer.test/device?user_code=${device.user_code === 'WDJB-MJHT' ? 'BBBB-BBBB' : 'WDJB-MJHT'}`));
  // The same text rendered by qrcode itself gives the same picture.
  assert.equal(svg, (await QRCode.toString(device.verification_uri_complete, { type: 'svg', errorCorrectionLevel: 'M', margin: 4 })).trim());
});

test('GET /{envID}/device/qr.svg: that environment\'s verification_uri_complete; qr.svg is not taken for a clientId', async (t) => {
  const h = await build(t);
  const tenant = await h.services.admin.createEnvironment('tenant2');
  const started = await h.form(`/${tenant.id}/as/device_authorization`, { client_id: (await h.publicClient({ envId: tenant.id })).clientId });
  assert.equal(started.statusCode, 200, started.body);
  const complete = started.json<{ verification_uri_complete: string; user_code: string }>();
  assert.equal(complete.verification_uri_complete, `http://issuer.test/${tenant.id}/device?user_code=${complete.user_code}`);
  const svg = assertQrSvg(await h.inject({ method: 'GET', url: `/${tenant.id}/device/qr.svg?user_code=${complete.user_code}` }));
  assert.deepEqual(modulesOf(svg), expectedModules(complete.verification_uri_complete));

  // The default environment by its id is addressed like any other: its /{envID}/device address.
  const env = h.services.defaultEnv.id;
  const own = assertQrSvg(await h.inject({ method: 'GET', url: `/${env}/device/qr.svg?user_code=WDJB-MJHT` }));
  assert.deepEqual(modulesOf(own), expectedModules(`http://issuer.test/${env}/device?user_code=WDJB-MJHT`));
  // The static segment wins over /{envID}/device/{clientId}: never a flow for an application named qr.svg.
  const flows = await h.inject({ method: 'GET', url: `/${env}/device/qr.svg?user_code=WDJB-MJHT` });
  assert.equal(flows.headers['set-cookie'], undefined, 'no verification flow was started');
  assert.equal(flows.headers.location, undefined);
  // A real clientId next to it still starts a flow.
  const client = await h.publicClient();
  const start = await h.inject({ method: 'GET', url: `/${env}/device/${client.clientId}` });
  assert.equal(start.statusCode, 302);
});

test('any well-formed code gets its QR code in display form, looked up or not; anything else is a 400 page', async (t) => {
  const h = await build(t);
  const expect = (code: string) => expectedModules(`http://issuer.test/device?user_code=${code}`);
  // Nobody was issued this code: the answer is the same as for a live one (nothing leaks).
  for (const typed of ['WDJB-MJHT', 'wdjbmjht', ' wdjb – mjht ', 'ＷＤＪＢＭＪＨＴ']) {
    const svg = assertQrSvg(await h.inject({ method: 'GET', url: `/device/qr.svg?user_code=${encodeURIComponent(typed)}` }));
    assert.deepEqual(modulesOf(svg), expect('WDJB-MJHT'), typed);
  }
  for (const [query, why] of [
    ['', 'missing'],
    ['?user_code=', 'empty'],
    ['?user_code=WDJB-MJH', 'too short'],
    ['?user_code=AEIO-UAEI', 'vowels are not in the charset'],
    [`?user_code=${'B'.repeat(65)}`, 'over 64 characters'],
    ['?user_code=WDJB%00MJHT', 'NUL byte'],
    [`?user_code=${encodeURIComponent('<script>alert(1)</script>')}`, 'markup'],
  ] as const) {
    const res = await h.inject({ method: 'GET', url: `/device/qr.svg${query}` });
    assertHtmlPage(res, 400);
    assert.notEqual(res.headers['cache-control'], 'public, max-age=300', `${why}: errors are not cached`);
  }
  // An unknown environment is the page's 404.
  assertHtmlPage(await h.inject({ method: 'GET', url: '/00000000-0000-4000-8000-000000000000/device/qr.svg?user_code=WDJB-MJHT' }), 404);
  // HEAD answers like GET, without the body.
  const head = await h.inject({ method: 'HEAD', url: '/device/qr.svg?user_code=WDJB-MJHT' });
  assert.equal(head.statusCode, 200);
  assert.match(String(head.headers['content-type']), /^image\/svg\+xml\b/);
  assert.equal(head.body, '');
});

test('a configured user-code format decides what a code is', async (t) => {
  const h = await build(t, { env: { USER_CODE_CHARSET: 'BCDFGHJKLMNPQRSTVWXZ', USER_CODE_LENGTH: '10' } });
  assertHtmlPage(await h.inject({ method: 'GET', url: '/device/qr.svg?user_code=WDJB-MJHT' }), 400);
  const svg = assertQrSvg(await h.inject({ method: 'GET', url: '/device/qr.svg?user_code=wdjbmjhtbc' }));
  assert.deepEqual(modulesOf(svg), expectedModules('http://issuer.test/device?user_code=WDJB-MJHT-BC'));
});

test('the QR code counts against the page\'s budget per source; a 429 is the page\'s HTML', async (t) => {
  const h = await build(t, { env: { RATE_LIMIT_VERIFICATION: '2' } });
  for (let i = 0; i < 2; i++) assertQrSvg(await h.inject({ method: 'GET', url: '/device/qr.svg?user_code=WDJB-MJHT' }));
  const res = await h.inject({ method: 'GET', url: '/device/qr.svg?user_code=WDJB-MJHT' });
  assertHtmlPage(res, 429);
  assert.match(String(res.headers['retry-after']), /^\d+$/);
});
