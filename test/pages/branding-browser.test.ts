// A branded environment's page in German and Japanese in a real browser (Debian's Chromium driven by
// playwright-core, as in browser.test.ts), on a desktop (1280x800) and a phone (390x844): the logo
// loads from a loopback logo server the test starts, under a CSP that blocks an image from any other
// origin (the test adds one to the page; it is refused, and its server is never asked); buttons wear
// the environment's colour; German comes from the browser's language, Japanese from the footer's
// language link with JavaScript switched off; Japanese is drawn with a CJK font (fonts-noto-cjk,
// scripts/ensure-debian-packages.sh). Screenshots of every step go to test-artifacts/.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { freePort } from '../../scripts/net.ts';
import { build, DEVICE_CODE_GRANT } from '../helpers/build.ts';
import { PASSWORD } from './_support.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts');
const LOGO_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="40" viewBox="0 0 160 40"><rect width="40" height="40" rx="8" fill="#1e3a8a"/>'
  + '<circle cx="20" cy="20" r="10" fill="#fff"/><rect x="52" y="12" width="100" height="16" rx="4" fill="#1e3a8a"/></svg>';

/** An image server on 127.0.0.1 that counts what it is asked for. */
async function imageServer(t: TestContext): Promise<{ origin: string; asked: string[]; server: Server }> {
  const asked: string[] = [];
  const server = createServer((req, res) => {
    asked.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'image/svg+xml', 'cache-control': 'no-store' }).end(LOGO_SVG);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => { server.close(() => { resolve(); }); }));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, asked, server };
}

const DESKTOP: BrowserContextOptions = { viewport: { width: 1280, height: 800 } };
const PHONE: BrowserContextOptions = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

/** What each language's walk reads and presses (written out, not read from the catalogues). */
const WORDS = {
  de: {
    signIn: 'Anmelden', username: 'Benutzername', password: 'Passwort', confirm: 'Code bestätigen', next: 'Weiter',
    consent: 'Darf Living-room TV auf Ihr Konto zugreifen?', approve: 'Zulassen', done: 'Gerät verbunden', help: 'Brauchen Sie Hilfe?',
  },
  ja: {
    signIn: 'サインイン', username: 'ユーザー名', password: 'パスワード', confirm: 'コードの確認', next: '続行',
    consent: 'Living-room TV にアカウントへのアクセスを許可しますか？', approve: '承認', done: 'デバイスが接続されました', help: 'お困りですか？',
  },
} as const;

test('a branded page in German and Japanese, on a desktop and a phone: logo from its own origin only, the colour, CJK text drawn', { timeout: 240_000 }, async (t) => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/ensure-debian-packages.sh (apt-get install chromium)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  const logo = await imageServer(t);
  const stranger = await imageServer(t);

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const h = await build(t, { env: { PUBLIC_URL: base } });
  await h.app.listen({ host: '127.0.0.1', port });
  const env = await h.services.admin.setBranding(await h.services.admin.createEnvironment('acme'), {
    displayName: 'Acme Corp', logoUrl: `${logo.origin}/brand/logo.svg`, primaryColor: '#1e3a8a', supportUrl: `${base}/help-is-elsewhere`,
  });
  const { client } = await h.services.admin.createClient({ envId: env.id, name: 'Living-room TV', scope: 'openid profile' });
  await h.user('alice', PASSWORD, env.id);

  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.after(() => browser.close());

  const heading = (page: Page) => page.locator('h1').innerText();

  /** One person's walk: sign in, confirm the code, consent, approve; screenshots of each step. */
  async function walk(lang: 'de' | 'ja', form: 'desktop' | 'phone', options: BrowserContextOptions, open: (page: Page, url: string) => Promise<void>) {
    const started = await fetch(`${base}/${env.id}/as/device_authorization`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: client.clientId }),
    });
    const device = (await started.json()) as { device_code: string; verification_uri_complete: string };
    const context = await browser.newContext({ ...(form === 'desktop' ? DESKTOP : PHONE), ...options });
    t.after(() => context.close());
    const page = await context.newPage();
    const console: string[] = [];
    page.on('console', (m) => { console.push(m.text()); });
    let n = 0;
    const shot = (step: string) => page.screenshot({ path: path.join(ARTIFACTS, `branding-${lang}-${form}-${String(++n).padStart(2, '0')}-${step}.png`), fullPage: true });
    const w = WORDS[lang];

    await open(page, device.verification_uri_complete);
    assert.equal(await page.locator('html').getAttribute('lang'), lang);
    assert.equal(await heading(page), w.signIn);
    assert.equal(await page.title(), `${w.signIn} · Acme Corp`);
    assert.equal(await page.getByRole('img', { name: 'Acme Corp' }).getAttribute('src'), `${logo.origin}/brand/logo.svg`);
    assert.equal(await page.getByRole('link', { name: w.help }).getAttribute('href'), `${base}/help-is-elsewhere`);
    await shot('sign-in');
    await page.getByLabel(w.username).fill('alice');
    await page.getByLabel(w.password).fill(PASSWORD);
    await page.getByRole('button', { name: w.signIn }).click();
    await page.getByRole('heading', { name: w.confirm }).waitFor();
    await shot('confirm-code');
    await page.getByRole('button', { name: w.next }).click();
    await page.getByRole('heading', { name: w.consent }).waitFor();
    const approve = page.getByRole('button', { name: w.approve });
    if (options.javaScriptEnabled !== false) {
      // The environment's colour on the buttons, with the text colour that reads on it (white on dark blue).
      const style = await approve.evaluate((b) => {
        const css = (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string; color: string } }).getComputedStyle(b);
        return `${css.backgroundColor} / ${css.color}`;
      });
      assert.equal(style, 'rgb(30, 58, 138) / rgb(255, 255, 255)');
    }
    await shot('consent');
    await approve.click();
    await page.getByRole('heading', { name: w.done }).waitFor();
    await shot('done');
    const token = await fetch(`${base}/${env.id}/as/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: DEVICE_CODE_GRANT, device_code: device.device_code, client_id: client.clientId }),
    });
    assert.equal(token.status, 200);
    assert.deepEqual(console.filter((m) => m.includes(logo.origin)), [], 'nothing refused the logo');
    return { page, console };
  }

  await t.test('German from the browser\'s language: the logo loads from its origin; an image from another origin is refused', async () => {
    for (const form of ['desktop', 'phone'] as const) {
      const asked = logo.asked.length;
      const { page, console } = await walk('de', form, { locale: 'de-DE' }, async (p, url) => { await p.goto(url); });
      assert.ok(logo.asked.length > asked, 'the logo server was asked for the logo');
      // The logo drew (an image that failed has no natural size); the page's own script-free CSP holds.
      const drawn = await page.getByRole('img', { name: 'Acme Corp' }).evaluate((img) => {
        const i = img as unknown as { complete: boolean; naturalWidth: number };
        return i.complete ? i.naturalWidth : 0;
      });
      assert.equal(drawn, 160);
      // An image from any other origin is refused before it is asked for.
      const outcome = await page.evaluate(`new Promise((resolve) => {
        const img = new Image(); img.onload = () => resolve('loaded'); img.onerror = () => resolve('refused');
        img.src = '${stranger.origin}/tracker.png'; document.body.append(img);
      })`);
      assert.equal(outcome, 'refused');
      assert.deepEqual(stranger.asked, [], 'the other origin was never asked');
      assert.ok(console.some((m) => m.includes(`${stranger.origin}/tracker.png`) && m.includes('Content Security Policy') && m.includes(`img-src 'self' data: ${logo.origin}`)),
        console.join('\n'));
    }
  });

  await t.test('Japanese from the footer\'s language link, with JavaScript off: the step is kept, the text drawn with a CJK font', async () => {
    for (const form of ['desktop', 'phone'] as const) {
      const asked = logo.asked.length;
      const { page } = await walk('ja', form, { locale: 'en-US', javaScriptEnabled: false }, async (p, url) => {
        await p.goto(url);
        assert.equal(await heading(p), 'Sign in');
        await p.getByRole('link', { name: '日本語' }).click();
        await p.waitForURL(/lang=ja/);
        assert.match(p.url(), /\/signon\?flowId=[0-9a-f-]{36}&user_code=[A-Z]{4}-[A-Z]{4}&lang=ja$/);
      });
      assert.ok(logo.asked.length > asked, 'the logo server was asked for the logo');
      // Which fonts Chromium drew the heading with: a CJK face, every glyph found (fonts-noto-cjk).
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('DOM.enable');
      await cdp.send('CSS.enable');
      const { root } = await cdp.send('DOM.getDocument');
      const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector: 'h1' });
      const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
      assert.ok(fonts.some((f) => /CJK|Japanese|Gothic|Mincho/i.test(f.familyName) && f.glyphCount > 0),
        `Japanese drawn with ${JSON.stringify(fonts)}: install a CJK font (scripts/ensure-debian-packages.sh installs fonts-noto-cjk)`);
      await cdp.detach();
    }
  });
});
