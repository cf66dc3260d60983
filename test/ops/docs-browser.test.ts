// /docs and / in a real browser: Debian's Chromium (driven by playwright-core, never a downloaded
// browser) against a listening server. Swagger UI renders the operations of the document from this
// server's own assets, under a CSP that allows nothing else, and nothing in the console complains;
// the landing page shows its links in the verification page's style. Screenshots go to test-artifacts/.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { freePort } from '../../scripts/net.ts';
import { build } from '../helpers/build.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts');

/**
 * Everything the page says in the console or fails to load: a CSP violation is a console error. A
 * failed load is named by its response (the console says only "Failed to load resource"); the
 * browser's own guess at /favicon.ico, which this server does not serve, is not the page's.
 */
function watch(page: Page, base: string): { problems: string[]; offsite: string[] } {
  const problems: string[] = [];
  const offsite: string[] = [];
  page.on('console', (m) => {
    if ((m.type() === 'error' || m.type() === 'warning') && !m.text().startsWith('Failed to load resource')) problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (err) => { problems.push(`pageerror: ${err.message}`); });
  page.on('requestfailed', (r) => { problems.push(`failed: ${r.url()} ${r.failure()?.errorText ?? ''}`); });
  page.on('response', (r) => { if (r.status() >= 400 && new URL(r.url()).pathname !== '/favicon.ico') problems.push(`${r.status()}: ${r.url()}`); });
  page.on('request', (r) => { if (!r.url().startsWith(base) && !r.url().startsWith('data:')) offsite.push(r.url()); });
  return { problems, offsite };
}

test('/docs renders the API in Chromium from local assets, with no CSP violation; / links to it', { timeout: 120_000 }, async (t) => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/ensure-debian-packages.sh (apt-get install chromium)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const h = await build(t, { env: { PUBLIC_URL: base } });
  await h.app.listen({ host: '127.0.0.1', port });

  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.after(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();

  await t.test('/docs: every front end and the operationIds are shown', async () => {
    const { problems, offsite } = watch(page, base);
    const response = await page.goto(`${base}/docs`);
    assert.equal(response?.status(), 200);
    const csp = (await response.allHeaders())['content-security-policy'] ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/, 'scripts from this server only, none inline');
    assert.doesNotMatch(csp, /unsafe-(inline|eval)|https:|\*/);

    // The document's title, the front ends as tags, and an operation with its operationId.
    await page.getByRole('heading', { name: /device-code-server API|device-code-server/ }).first().waitFor();
    for (const tag of ['oauth', 'page', 'flows', 'veeam', 'rsa', 'ops']) {
      await page.locator(`#operations-tag-${tag}`).waitFor();
    }
    const token = page.locator('#operations-oauth-requestToken');
    await token.waitFor();
    assert.match(await token.innerText(), /\/oauth\/token/);
    assert.match(await token.innerText(), /requestToken/, 'the operationId is displayed');
    assert.match(await token.innerText(), /Token request: device_code polling/);
    // Opening an operation shows its responses with their descriptions.
    await token.locator('.opblock-summary').first().click();
    await token.getByText('While polling (RFC 8628 §3.5)').first().waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'docs-01-swagger-ui.png') });

    assert.deepEqual(problems, [], 'nothing in the console: no CSP violation, no failed load');
    assert.deepEqual(offsite, [], 'nothing loads from elsewhere');
  });

  await t.test('/: the landing page links to /device, discovery and /docs', async () => {
    const { problems } = watch(page, base);
    const response = await page.goto(`${base}/`);
    assert.equal(response?.status(), 200);
    assert.match((await response.allHeaders())['content-type'] ?? '', /^text\/html/);
    assert.equal(await page.locator('h1').innerText(), 'Welcome');
    const href = (name: string | RegExp) => page.getByRole('link', { name }).getAttribute('href');
    assert.equal(await href('Enter a code'), `${base}/device`);
    assert.equal(await href('OpenID Provider configuration'), `${base}/.well-known/openid-configuration`);
    assert.equal(await href('API documentation'), `${base}/docs`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'docs-02-landing.png') });
    await page.getByRole('link', { name: 'Enter a code' }).click();
    await page.waitForURL(/\/signon\?flowId=/);
    assert.equal(await page.locator('h1').innerText(), 'Sign in');
    assert.deepEqual(problems, []);
  });
});
