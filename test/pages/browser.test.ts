// The verification page in a real browser: Debian's Chromium (driven by playwright-core, never a downloaded
// browser) against a listening server, while a device polls the token endpoint in the background
// the way RFC 8628 §3.4-3.5 says (respecting `interval`, slowing down on slow_down).
//   (a) /device, sign in (a wrong password first), type the code by hand, approve → token
//   (b) verification_uri_complete on a phone-sized screen, the prefilled code, approve → token
//   (c) deny, with JavaScript switched off → access_denied
// Screenshots of every screen go to test-artifacts/.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import type { Client } from '../../src/model/records.ts';
import { build, DEVICE_CODE_GRANT, TestClock } from '../helpers/build.ts';
import type { DeviceAuthorizationBody } from '../oauth/_support.ts';
import { CSP, PASSWORD } from './_support.ts';
import { freePort } from '../../scripts/net.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts');


interface PollOutcome {
  status: number;
  body: { access_token?: string; error?: string };
  polls: number;
}

/** A device polling the token endpoint until it gets an answer other than pending (RFC 8628 §3.5). */
async function devicePolls(base: string, device: DeviceAuthorizationBody, client: Client, signal: AbortSignal): Promise<PollOutcome> {
  let interval = device.interval;
  for (let polls = 1; ; polls++) {
    await sleep(interval * 1000, undefined, { signal });
    const res = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: DEVICE_CODE_GRANT, device_code: device.device_code, client_id: client.clientId }),
      signal,
    });
    const body = (await res.json()) as PollOutcome['body'];
    if (body.error === 'authorization_pending') continue;
    if (body.error === 'slow_down') {
      interval += 5;
      continue;
    }
    return { status: res.status, body, polls };
  }
}

test('a real browser completes the verification page: type the code, confirm a prefilled code, deny', { timeout: 120_000 }, async (t) => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/ensure-debian-packages.sh (apt-get install chromium)`);
  mkdirSync(ARTIFACTS, { recursive: true });

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const h = await build(t, { env: { PUBLIC_URL: base }, clock: new TestClock('real') });
  await h.app.listen({ host: '127.0.0.1', port });
  const { client } = await h.services.admin.createClient({
    envId: h.services.defaultEnv.id, name: 'Living-room TV', scope: 'openid profile email offline_access', pollInterval: 1, refreshTokens: true,
  });
  await h.user('alice');

  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const stop = new AbortController();
  t.after(async () => {
    stop.abort();
    await browser.close();
  });

  /** A device starts an authorization and polls in the background from now on. */
  async function deviceStarts(): Promise<{ device: DeviceAuthorizationBody; outcome: Promise<PollOutcome> }> {
    const res = await fetch(`${base}/oauth/device_authorization`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: client.clientId, scope: 'openid profile email offline_access' }),
    });
    const device = (await res.json()) as DeviceAuthorizationBody;
    assert.equal(res.status, 200, JSON.stringify(device));
    assert.equal(device.interval, 1);
    assert.equal(device.verification_uri, `${base}/device`);
    const outcome = devicePolls(base, device, client, stop.signal);
    outcome.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
    return { device, outcome };
  }

  async function newPage(name: string, options: BrowserContextOptions = {}): Promise<{ page: Page; shot: (step: string) => Promise<void> }> {
    const context = await browser.newContext({ viewport: { width: 1024, height: 768 }, ...options });
    t.after(() => context.close());
    const page = await context.newPage();
    let n = 0;
    const shot = async (step: string) => {
      await page.screenshot({ path: path.join(ARTIFACTS, `page-${name}-${String(++n).padStart(2, '0')}-${step}.png`), fullPage: true });
    };
    return { page, shot };
  }

  const heading = (page: Page) => page.locator('h1').innerText();
  // A string expression: the project has no DOM typings, and it only reads the page (no page script runs).
  const focusedId = async (page: Page) => String(await page.evaluate('document.activeElement ? document.activeElement.id : ""'));

  await t.test('(a) /device: sign in, type the code by hand, approve; the polling device gets its token', async () => {
    const { device, outcome } = await deviceStarts();
    const { page, shot } = await newPage('a-desktop');

    const response = await page.goto(`${base}/device`);
    assert.equal(response?.status(), 200);
    assert.match(page.url(), new RegExp(`^${base}/[0-9a-f-]{36}/signon\\?flowId=[0-9a-f-]{36}$`));
    const headers = await response.allHeaders();
    assert.equal(headers['content-security-policy'], CSP);
    assert.equal(headers['cache-control'], 'no-store');
    assert.equal(await heading(page), 'Sign in');
    assert.equal(await focusedId(page), 'username');
    await shot('sign-in');

    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    assert.equal(await page.getByRole('alert').innerText(), 'That username or password is not correct.');
    assert.equal(await page.getByLabel('Username').inputValue(), 'alice');
    await shot('wrong-password');

    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/signon\?flowId=/);
    assert.equal(await heading(page), 'Enter the code');
    const codeInput = page.getByLabel('Code from your device');
    assert.equal(await codeInput.inputValue(), '');
    assert.equal(await focusedId(page), 'user_code', 'the code field has the focus');
    await shot('enter-code');

    // A typo first: the same form, with the attempts left.
    await page.keyboard.type('BBBB-BBBB');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('alert').waitFor();
    assert.match(await page.getByRole('alert').innerText(), /not right.*4 attempts left/);
    await shot('wrong-code');

    // Typed by hand, the way people do: lower case, a space instead of the dash.
    await codeInput.fill('');
    await codeInput.pressSequentially(device.user_code.toLowerCase().replace('-', ' '), { delay: 20 });
    await shot('code-typed');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(/signon\?flowId=/);
    assert.equal(await heading(page), 'Allow Living-room TV to access your account?');
    const text = await page.locator('main').innerText();
    assert.ok(text.includes(device.user_code), 'the code in display form');
    assert.ok(text.includes('Signed in as alice'));
    assert.ok(text.includes('See your email address'));
    assert.ok(text.includes('Only continue if you started this on a device you own.'));
    await shot('consent');

    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByText("You're all set — return to your device.").waitFor();
    await shot('done');

    const result = await outcome;
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.equal(typeof result.body.access_token, 'string');
  });

  await t.test('(b) verification_uri_complete on a phone: the prefilled code is only submitted by the person', async () => {
    const { device, outcome } = await deviceStarts();
    const { page, shot } = await newPage('b-phone', { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });

    await page.goto(device.verification_uri_complete);
    assert.equal(await heading(page), 'Sign in');
    await shot('sign-in');
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/user_code=/);
    assert.equal(await heading(page), 'Confirm the code');
    assert.equal(await page.getByLabel('Code from your device').inputValue(), device.user_code);
    await shot('confirm-code');

    // Nothing happens by itself: after a few polls the device is still waiting, the page unchanged.
    await sleep(2500);
    assert.equal(await heading(page), 'Confirm the code');
    const raced = await Promise.race([outcome.then(() => 'answered'), sleep(10, 'pending')]);
    assert.equal(raced, 'pending', 'a prefilled code is never auto-approved');

    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('button', { name: 'Approve' }).waitFor();
    await shot('consent');
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByText("You're all set — return to your device.").waitFor();
    await shot('done');

    const result = await outcome;
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.equal(typeof result.body.access_token, 'string');
  });

  await t.test('(c) deny, with JavaScript switched off: the device gets access_denied', async () => {
    const { device, outcome } = await deviceStarts();
    const { page, shot } = await newPage('c-deny-nojs', { javaScriptEnabled: false });

    await page.goto(device.verification_uri_complete);
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/user_code=/);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('button', { name: 'Deny' }).waitFor();
    await shot('consent');
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.getByRole('heading', { name: 'Request denied' }).waitFor();
    await shot('denied');

    const result = await outcome;
    assert.equal(result.status, 400);
    assert.equal(result.body.error, 'access_denied');

    // Back to the consent screen: the page is no-store, so the browser shows where the flow is now;
    // should it show the old form, pressing Approve changes nothing either.
    await page.goBack();
    const approve = page.getByRole('button', { name: 'Approve' });
    if (await approve.count() > 0) await approve.click();
    await page.getByRole('heading', { name: 'Request denied' }).waitFor();
    await shot('after-back-button');
    const again = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: DEVICE_CODE_GRANT, device_code: device.device_code, client_id: client.clientId }),
    });
    assert.equal(((await again.json()) as { error: string }).error, 'access_denied');
  });
});
