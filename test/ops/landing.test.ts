// GET /: a page for browsers, the same links as JSON for everyone else (README "Landing page").
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { prefersHtml } from '../../src/surfaces/ops/landing.ts';
import { build } from '../helpers/build.ts';
import { CSP } from '../pages/_support.ts';

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

test('Accept decides: text/html ranked above application/json is a browser', () => {
  assert.equal(prefersHtml(BROWSER_ACCEPT), true);
  assert.equal(prefersHtml('text/html'), true);
  assert.equal(prefersHtml('application/json;q=0.5, text/html'), true);
  assert.equal(prefersHtml(undefined), false);
  assert.equal(prefersHtml('*/*'), false, 'curl and fetch');
  assert.equal(prefersHtml('application/json'), false);
  assert.equal(prefersHtml('application/json, text/html'), false, 'a tie goes to JSON');
  assert.equal(prefersHtml('text/html;q=0.4, application/json'), false);
  assert.equal(prefersHtml('text/html;q=0'), false);
  assert.equal(prefersHtml('TEXT/HTML ; Q=1'), true);
  assert.equal(prefersHtml('text/html;q=bad'), false);
});

test('a browser gets the landing page: links to /device, discovery and /docs, with the page\'s CSP', async (t) => {
  const h = await build(t);
  const res = await h.inject({ method: 'GET', url: '/', headers: { accept: BROWSER_ACCEPT } });
  assert.equal(res.statusCode, 200);
  assert.match(res.headers['content-type'] ?? '', /^text\/html; charset=utf-8/);
  assert.equal(res.headers['content-security-policy'], CSP);
  assert.equal(res.headers.vary, 'Accept');
  assert.match(res.body, /<h1 id="page-title">Welcome<\/h1>/);
  for (const href of ['http://issuer.test/device', 'http://issuer.test/.well-known/openid-configuration', 'http://issuer.test/docs',
    'http://issuer.test/openapi.yaml']) {
    assert.ok(res.body.includes(`href="${href}"`), href);
  }
  assert.doesNotMatch(res.body, /<script/i, 'no script');
});

test('anyone else gets the links as JSON', async (t) => {
  const h = await build(t);
  for (const headers of [{}, { accept: '*/*' }, { accept: 'application/json' }]) {
    const res = await h.inject({ method: 'GET', url: '/', headers });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] ?? '', /^application\/json/);
    assert.equal(res.headers.vary, 'Accept');
    assert.deepEqual(res.json(), {
      issuer: 'http://issuer.test',
      links: {
        device: 'http://issuer.test/device',
        openidConfiguration: 'http://issuer.test/.well-known/openid-configuration',
        authorizationServerMetadata: 'http://issuer.test/.well-known/oauth-authorization-server',
        docs: 'http://issuer.test/docs',
        openapiYaml: 'http://issuer.test/openapi.yaml',
        openapiJson: 'http://issuer.test/openapi.json',
      },
    });
  }
  // Every link answers.
  const { links } = (await h.inject({ method: 'GET', url: '/' })).json<{ links: Record<string, string> }>();
  for (const url of Object.values(links)) {
    const res = await h.inject({ method: 'GET', url: new URL(url).pathname });
    assert.ok([200, 302].includes(res.statusCode), `${url}: ${res.statusCode}`);
  }
});

test('the landing page is limited per source like discovery', async (t) => {
  const h = await build(t, { env: { RATE_LIMIT_DISCOVERY: '1' } });
  assert.equal((await h.inject({ method: 'GET', url: '/' })).statusCode, 200);
  const res = await h.inject({ method: 'GET', url: '/', headers: { accept: BROWSER_ACCEPT } });
  assert.equal(res.statusCode, 429);
  assert.equal(res.json<{ error: string }>().error, 'temporarily_unavailable');
});

test('the landing page speaks the person\'s language and wears the default environment\'s branding, changed while running', async (t) => {
  const h = await build(t);
  const de = await h.inject({ method: 'GET', url: '/', headers: { accept: BROWSER_ACCEPT, 'accept-language': 'de-CH,de;q=0.9,en;q=0.5' } });
  assert.match(de.body, /<html lang="de">/);
  assert.match(de.body, /<h1 id="page-title">Willkommen<\/h1>/);
  assert.match(de.body, />Code eingeben</);
  const ja = await h.inject({ method: 'GET', url: '/?lang=ja', headers: { accept: BROWSER_ACCEPT } });
  assert.match(ja.body, /<h1 id="page-title">ようこそ<\/h1>/);

  await h.services.admin.setBranding(h.services.defaultEnv, { displayName: 'Contoso Devices', logoUrl: 'https://cdn.contoso.test/logo.png' });
  const branded = await h.inject({ method: 'GET', url: '/', headers: { accept: BROWSER_ACCEPT } });
  assert.match(branded.body, /<title>Welcome · Contoso Devices<\/title>/);
  assert.match(branded.body, /<img [^>]*src="https:\/\/cdn\.contoso\.test\/logo\.png"/);
  assert.match(String(branded.headers['content-security-policy']), /img-src [^;]*https:\/\/cdn\.contoso\.test/);
});
