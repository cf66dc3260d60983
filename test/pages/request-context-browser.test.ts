// The consent screen's context in a real browser (Debian's Chromium driven by playwright-core, as in
// browser.test.ts): a device asks from one address, the person opens the link from another (both
// through a proxy, TRUST_PROXY=on), sees where and when the request was made and the warning that
// it came from another country, and presses "I didn't start this"; the device gets access_denied.
// Screenshots go to test-artifacts/.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { freePort } from '../../scripts/net.ts';
import { build, DEVICE_CODE_GRANT } from '../helpers/build.ts';
import type { DeviceAuthorizationBody } from '../oauth/_support.ts';
import { PASSWORD } from './_support.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts');

test('a real browser shows where the request came from, warns of another country, and reports it', { timeout: 120_000 }, async (t) => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/ensure-debian-packages.sh (apt-get install chromium)`);
  mkdirSync(ARTIFACTS, { recursive: true });

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // The test's clock, not the wall's: "2 minutes ago" is exact however slow the machine is.
  const h = await build(t, { env: { PUBLIC_URL: base, TRUST_PROXY: 'on' } });
  await h.app.listen({ host: '127.0.0.1', port });
  const { client } = await h.services.admin.createClient({ envId: h.services.defaultEnv.id, name: 'Living-room TV', scope: 'openid profile' });
  await h.user('alice');

  const res = await fetch(`${base}/oauth/device_authorization`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '8.8.8.8', 'user-agent': 'LivingRoomTV/3.2' },
    body: new URLSearchParams({ client_id: client.clientId, scope: 'openid profile' }),
  });
  assert.equal(res.status, 200);
  const device = (await res.json()) as DeviceAuthorizationBody;
  h.clock.advance(120);

  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.after(() => browser.close());
  // The person is in Germany: their proxy says so in every request, the form posts included.
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, extraHTTPHeaders: { 'X-Forwarded-For': '193.99.144.80' } });
  const page = await context.newPage();
  let n = 0;
  const shot = (step: string) => page.screenshot({ path: path.join(ARTIFACTS, `context-${String(++n).padStart(2, '0')}-${step}.png`), fullPage: true });

  await page.goto(device.verification_uri_complete);
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/user_code=/);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('button', { name: 'Approve' }).waitFor();

  const main = await page.locator('main').innerText();
  assert.ok(main.includes('Requested 2 minutes ago from United States, Google LLC (8.8.8.8) · LivingRoomTV/3.2'), main);
  assert.ok(main.includes('This code expires in 8 minutes.'), main);
  const warning = page.getByRole('alert');
  assert.equal(await warning.innerText(),
    'This request was made from another country (United States) than you are in now (Germany). If someone sent you this code or asked you to enter it, deny it.');
  // Above the buttons, where it is read before a decision.
  const warningBox = await warning.boundingBox();
  const approveBox = await page.getByRole('button', { name: 'Approve' }).boundingBox();
  assert.ok(warningBox && approveBox && warningBox.y + warningBox.height <= approveBox.y, 'the warning stands above the buttons');
  assert.equal(await page.getByRole('link', { name: 'IP Geolocation by DB-IP' }).getAttribute('href'), 'https://db-ip.com');
  await shot('consent-warning');

  await page.getByRole('button', { name: "I didn't start this" }).click();
  await page.getByRole('heading', { name: 'Request reported' }).waitFor();
  const reported = await page.locator('main').innerText();
  assert.ok(reported.includes('The request was denied and reported'), reported);
  assert.ok(reported.includes("Don't enter codes that other people send you"), reported);
  await shot('reported');

  const poll = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: DEVICE_CODE_GRANT, device_code: device.device_code, client_id: client.clientId }),
  });
  assert.equal(poll.status, 400);
  assert.equal(((await poll.json()) as { error: string }).error, 'access_denied');
  assert.equal(await h.inject({ method: 'GET', url: '/metrics' }).then((m) => /^dcs_device_reports_total 1$/m.test(m.body)), true);
});
