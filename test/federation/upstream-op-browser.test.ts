// The upstream OpenID Provider (test/helpers/upstream-op.ts) in a real browser: Debian's Chromium,
// driven by playwright-core (never a downloaded browser), opens an authorization URL, signs in on the
// upstream's own form and lands on the redirect URI, a tiny server on 127.0.0.1; the code it brings
// back is redeemed by openid-client. A second visit cancels: access_denied (RFC 6749 §4.1.2.1).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import {
  allowInsecureRequests, authorizationCodeGrant, buildAuthorizationUrl, calculatePKCECodeChallenge, ClientSecretBasic, discovery,
  enableNonRepudiationChecks, randomNonce, randomPKCECodeVerifier, randomState, type Configuration,
} from 'openid-client';
import { chromium, type Browser } from 'playwright-core';
import { startUpstream } from '../helpers/upstream-op.ts';

const CHROMIUM = '/usr/bin/chromium';

// Deprecated only to stand out: plain HTTP to a local test server is exactly its use.
// eslint-disable-next-line @typescript-eslint/no-deprecated
const insecure = allowInsecureRequests;

test('Chromium signs in on the upstream login form and lands on the redirect URI; Cancel comes back access_denied', { timeout: 120_000 }, async (t) => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/ensure-debian-packages.sh (apt-get install chromium)`);

  // The redirect target: whatever arrives, a page that says so (the test reads the URL, not the page).
  const target = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>Back</title><h1>Back</h1>'); });
  await new Promise<void>((resolve) => { target.listen(0, '127.0.0.1', resolve); });
  t.after(() => new Promise<void>((resolve) => {
    target.close(() => { resolve(); });
    target.closeAllConnections();
  }));
  const redirectUri = `http://127.0.0.1:${(target.address() as AddressInfo).port}/callback`;

  const client = { clientId: 'device-code-server', clientSecret: 'upstream-secret', redirectUris: [redirectUri] };
  const up = await startUpstream(t, {
    users: [{ sub: 'alice-0001', username: 'alice', password: 'wonderland', email: 'alice@example.test', amr: ['pwd'] }],
    client,
  });
  const rp = await discovery(new URL(up.issuer), client.clientId, undefined, ClientSecretBasic(client.clientSecret), {
    execute: [insecure, enableNonRepudiationChecks],
  });

  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.after(() => browser.close());

  async function authorizationRequest(config: Configuration): Promise<{ url: string; state: string; nonce: string; verifier: string }> {
    const verifier = randomPKCECodeVerifier();
    const state = randomState();
    const nonce = randomNonce();
    const url = buildAuthorizationUrl(config, {
      redirect_uri: redirectUri, scope: 'openid email profile', state, nonce,
      code_challenge: await calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    return { url: url.href, state, nonce, verifier };
  }

  await t.test('sign in', async (st) => {
    const s = await authorizationRequest(rp);
    const context = await browser.newContext();
    st.after(() => context.close());
    const page = await context.newPage();
    await page.goto(s.url);
    assert.equal(await page.locator('h1').innerText(), 'Sign in');
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('wonderland');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.href.startsWith(`${redirectUri}?`));

    const back = new URL(page.url());
    assert.deepEqual([back.searchParams.get('state'), back.searchParams.get('iss')], [s.state, up.issuer]);
    const tokens = await authorizationCodeGrant(rp, back, { pkceCodeVerifier: s.verifier, expectedState: s.state, expectedNonce: s.nonce });
    assert.deepEqual([tokens.claims()?.sub, tokens.claims()?.email, tokens.claims()?.amr], ['alice-0001', 'alice@example.test', ['pwd']]);
  });

  await t.test('cancel', async (st) => {
    const s = await authorizationRequest(rp);
    const context = await browser.newContext();
    st.after(() => context.close());
    const page = await context.newPage();
    await page.goto(s.url);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.waitForURL((url) => url.href.startsWith(`${redirectUri}?`));
    const back = new URL(page.url());
    assert.deepEqual([back.searchParams.get('error'), back.searchParams.get('state')], ['access_denied', s.state]);
  });
});
