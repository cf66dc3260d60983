// Sign in with the organisation's identity provider in a real browser: Debian's Chromium (through
// playwright-core) against a listening server and a listening upstream OpenID Provider
// (node-oidc-provider), both on 127.0.0.1. The person opens the device's link, presses "Continue
// with …", signs in on the upstream's own form, comes back to the code step with the device's code
// prefilled, and approves; the polling device's ID token names the local user and carries the
// upstream's amr and acr. A second person cancels at the upstream and finds the way back.
// Screenshots go to test-artifacts/.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { decodeJwt } from 'jose';
import { chromium, type Browser, type Page } from 'playwright-core';
import { freePort } from '../../scripts/net.ts';
import { build, DEVICE_CODE_GRANT, TestClock } from '../helpers/build.ts';
import { startUpstream } from '../helpers/upstream-op.ts';
import type { DeviceAuthorizationBody } from '../oauth/_support.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts');

test('a real browser signs in through the organisation\'s provider and approves; a cancel comes back to a way back', { timeout: 120_000 }, async (t) => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/ensure-debian-packages.sh (apt-get install chromium)`);
  mkdirSync(ARTIFACTS, { recursive: true });

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const h = await build(t, { env: { PUBLIC_URL: base }, clock: new TestClock('real') });
  await h.app.listen({ host: '127.0.0.1', port });
  const env = h.services.defaultEnv;
  const upstream = await startUpstream(t, {
    users: [{ sub: '00u-alice', username: 'alice', password: 'wonderland', email: 'alice@corp.example.test', emailVerified: true, name: 'Alice Liddell', amr: ['pwd', 'otp'], acr: 'urn:corp:mfa' }],
    client: { clientId: 'dcs', clientSecret: 'a-long-upstream-client-secret-for-the-browser-test', redirectUris: [h.services.urls.idpCallback(env.id, 'corp')] },
  });
  await h.services.admin.identityProviders.add(env, {
    name: 'corp', displayName: 'Corp SSO', issuer: upstream.issuer, clientId: 'dcs', clientSecret: 'a-long-upstream-client-secret-for-the-browser-test',
  });
  const { client } = await h.services.admin.createClient({ envId: env.id, name: 'Living-room TV', scope: 'openid profile email' });

  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.after(() => browser.close());

  async function newPage(name: string): Promise<{ page: Page; shot: (step: string) => Promise<void> }> {
    const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
    t.after(() => context.close());
    const page = await context.newPage();
    let n = 0;
    const shot = async (step: string) => {
      await page.screenshot({ path: path.join(ARTIFACTS, `federation-${name}-${String(++n).padStart(2, '0')}-${step}.png`), fullPage: true });
    };
    return { page, shot };
  }
  const heading = (page: Page) => page.locator('h1').innerText();

  async function deviceStarts(): Promise<DeviceAuthorizationBody> {
    const res = await fetch(`${base}/oauth/device_authorization`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: client.clientId, scope: 'openid profile email' }),
    });
    assert.equal(res.status, 200);
    return (await res.json()) as DeviceAuthorizationBody;
  }

  await t.test('Continue with Corp SSO, sign in upstream, confirm the code, approve: the device\'s ID token', async () => {
    const device = await deviceStarts();
    const { page, shot } = await newPage('approve');
    await page.goto(device.verification_uri_complete);
    assert.equal(await heading(page), 'Sign in');
    await shot('sign-in');

    await page.getByRole('link', { name: 'Continue with Corp SSO' }).click();
    await page.waitForURL((url) => url.origin === upstream.issuer);
    await shot('upstream-login');
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('wonderland');
    await page.getByRole('button', { name: 'Sign in' }).click();

    // Back on our page (the redirect URI, then the code step), the code still prefilled.
    await page.waitForURL((url) => url.origin === base && url.pathname.endsWith('/signon'));
    assert.equal(await heading(page), 'Confirm the code');
    assert.equal(await page.getByLabel('Code from your device').inputValue(), device.user_code);
    await shot('confirm-code');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('button', { name: 'Approve' }).waitFor();
    assert.ok((await page.locator('main').innerText()).includes('Signed in as Alice Liddell'));
    await shot('consent');
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByText("You're all set — return to your device.").waitFor();
    await shot('done');

    const res = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: DEVICE_CODE_GRANT, device_code: device.device_code, client_id: client.clientId }),
    });
    const tokens = (await res.json()) as { id_token?: string };
    assert.equal(res.status, 200, JSON.stringify(tokens));
    // test/federation/federation.test.ts verifies the signature; here, what the browser's sign-in put in it.
    const claims = decodeJwt(tokens.id_token ?? '');
    const alice = await h.services.store.users.getByIdentity(env.id, upstream.issuer, '00u-alice');
    assert.equal(claims.sub, alice?.id);
    assert.deepEqual(claims.amr, ['pwd', 'otp']);
    assert.equal(claims.acr, 'urn:corp:mfa');
  });

  await t.test('Cancel at the upstream: our page says so and leads back to the sign-in step', async () => {
    const device = await deviceStarts();
    const { page, shot } = await newPage('cancel');
    await page.goto(device.verification_uri_complete);
    await page.getByRole('link', { name: 'Continue with Corp SSO' }).click();
    await page.waitForURL((url) => url.origin === upstream.issuer);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.waitForURL((url) => url.origin === base);
    assert.equal(await heading(page), 'Sign-in did not complete');
    assert.match(await page.getByRole('alert').innerText(), /cancelled/);
    await shot('cancelled');
    await page.getByRole('link', { name: 'Back to signing in' }).click();
    assert.equal(await heading(page), 'Sign in');
    await page.getByRole('link', { name: 'Continue with Corp SSO' }).waitFor();
  });
});
