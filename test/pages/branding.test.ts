// The page is the operator's (README "Branding and languages"): an environment's display name, logo,
// colour and support link on every step of a device login over HTTP (sign-in, code, consent, done,
// denied, errors, "Your devices"), a CSP that admits the logo's origin and nothing more, and an
// environment without branding that keeps the product's page and CSP exactly. A running server
// shows a change at once, the root's default environment included.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import type { Environment } from '../../src/model/records.ts';
import { contrast, textOn } from '../../src/surfaces/pages/theme.ts';
import { build, type TestApp } from '../helpers/build.ts';
import { runCli } from '../cli/run.ts';
import { alertText, assertHtmlPage, CSP, PageBrowser, PASSWORD } from './_support.ts';

const LOGO = 'https://cdn.acme.example/brand/logo.svg?v=3';
const BRANDED_CSP = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https://cdn.acme.example; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async function acme(h: TestApp): Promise<Environment> {
  const env = await h.services.admin.createEnvironment('acme');
  return h.services.admin.setBranding(env, {
    displayName: 'Acme & Söhne <Corp>', logoUrl: LOGO, primaryColor: '#1E3A8A', supportUrl: 'https://help.acme.example/device?from=page',
  });
}

/** The branding every step of acme's page shows: name in the title and header, logo, colour, support link. */
function assertBranded(res: LightMyRequestResponse, status: number, step: string): string {
  const body = assertHtmlPage(res, status, { csp: BRANDED_CSP });
  assert.ok(body.includes(`<title>${step} · Acme &amp; Söhne &lt;Corp&gt;</title>`), body.slice(0, 600));
  assert.ok(body.includes('<p class="brand named"><img src="https://cdn.acme.example/brand/logo.svg?v=3" alt="Acme &amp; Söhne &lt;Corp&gt;">'
    + '<span aria-hidden="true">Acme &amp; Söhne &lt;Corp&gt;</span></p>'), 'the header: the logo named by its alt text, then the name');
  assert.ok(!body.includes('Connect a device</'), 'the generic heading gives way to the name');
  // A dark blue: white text on its buttons; it reads on the light card, not on the dark one.
  assert.ok(body.includes('<style>:root{--accent:#1e3a8a;--accent-hover:color-mix(in srgb,#1e3a8a 85%,#000);--on-accent:#ffffff;--link:#1e3a8a}'
    + '@media (prefers-color-scheme:dark){:root{--accent:#1e3a8a;--accent-hover:color-mix(in srgb,#1e3a8a 85%,#000);--on-accent:#ffffff}}</style>'));
  assert.ok(body.includes('<footer>\n<p><a href="https://help.acme.example/device?from=page" rel="noopener">Need help?</a></p>'));
  return body;
}

test('every step of a device login wears the environment\'s branding, and its CSP admits the logo\'s origin only', async (t) => {
  const h = await build(t);
  const env = await acme(h);
  const { client } = await h.services.admin.createClient({ envId: env.id, name: 'Living-room TV', scope: 'openid profile' });
  await h.user('erin', PASSWORD, env.id);
  const started = await h.form(`/${env.id}/as/device_authorization`, { client_id: client.clientId, scope: 'openid profile' });
  const device = started.json<{ user_code: string; device_code: string; verification_uri_complete: string }>();

  const b = new PageBrowser(h);
  assertBranded(await b.open(device.verification_uri_complete), 200, 'Sign in');
  // A wrong password: the same step again with its message, branded.
  assertBranded(await b.submit({ username: 'erin', password: 'not the password' }), 400, 'Sign in');
  assert.equal(alertText(b.body), 'That username or password is not correct.');
  assertBranded(await b.submit({ username: 'erin', password: PASSWORD }), 200, 'Enter the code');
  assertBranded(await b.submit({ user_code: 'BBBB-BBBB' }), 400, 'Enter the code');
  const consent = assertBranded(await b.submit({ user_code: device.user_code }), 200, 'Approve this device?');
  assert.match(consent, /<button type="submit" name="action" value="approve">Approve<\/button>/);
  const flowId = b.field('flowId') ?? '';
  assertBranded(await b.open(`/${env.id}/signon?flowId=${flowId}&view=devices`), 200, 'Your devices');
  assertBranded(await b.open(`/${env.id}/signon?flowId=${flowId}`), 200, 'Approve this device?');
  assertBranded(await b.submit({ action: 'approve' }), 200, 'Device connected');
  assert.ok(b.body.includes("You're all set — return to your device."));

  // Denied, and the errors of a known environment: an expired link, a forged form, a step already answered.
  const again = await h.form(`/${env.id}/as/device_authorization`, { client_id: client.clientId });
  const second = new PageBrowser(h);
  await second.open(again.json<{ verification_uri_complete: string }>().verification_uri_complete);
  await second.submit({ username: 'erin', password: PASSWORD });
  await second.submit({});
  assertBranded(await second.submit({ action: 'deny' }), 200, 'Request denied');
  assertBranded(await second.open(`/${env.id}/signon?flowId=00000000-0000-4000-8000-000000000000`), 404, 'This link has expired');
  const secondFlow = second.path.split('flowId=')[1] ?? '';
  await second.open(`/${env.id}/signon?flowId=${secondFlow}`);
  assertBranded(await second.post({ flowId: secondFlow, action: 'approve' }, { csrf: 'forged' }), 403, 'Please try again');
  assertBranded(await second.open(`/${env.id}/device/no-such-client`), 404, 'Page not found');

  // The default environment has no branding: the product's page and today's CSP, exactly.
  const plain = new PageBrowser(h);
  const body = assertHtmlPage(await plain.open('/device'), 200, { csp: CSP });
  assert.match(body, /<title>Sign in · Connect a device<\/title>/);
  assert.match(body, /<p class="brand">Connect a device<\/p>/);
  assert.doesNotMatch(body, /<img|--accent:#1e3a8a|Need help\?/);
});

test('the colour keeps button text readable (black or white by contrast), and links take it only where it reads', async (t) => {
  assert.equal(textOn('#1e3a8a'), '#ffffff');
  assert.equal(textOn('#fa0'), '#000000');
  assert.equal(textOn('#0a7cff'), '#000000', 'a mid blue reads better with black (5.4:1) than with white (3.9:1)');
  assert.equal(textOn('#ffffff'), '#000000');
  for (const color of ['#1e3a8a', '#fa0', '#0a7cff', '#777', '#00ff00', '#800000']) {
    assert.ok(contrast(color, textOn(color)) >= 4.5, `${color}: button text contrast ${contrast(color, textOn(color)).toFixed(2)}`);
  }
  const h = await build(t);
  await h.services.admin.setBranding(h.services.defaultEnv, { primaryColor: '#FA0' });
  const b = new PageBrowser(h);
  const body = assertHtmlPage(await b.open('/device'), 200, { csp: CSP });
  // Orange on white does not read as a link (1.97:1): links keep the page's colour in light mode; on the dark card it reads.
  assert.ok(body.includes('<style>:root{--accent:#fa0;--accent-hover:color-mix(in srgb,#fa0 85%,#fff);--on-accent:#000000}'
    + '@media (prefers-color-scheme:dark){:root{--accent:#fa0;--accent-hover:color-mix(in srgb,#fa0 85%,#fff);--on-accent:#000000;--link:#fa0}}</style>'), body);
  assert.match(body, /<p class="brand">Connect a device<\/p>/, 'a colour alone keeps the generic heading');
});

test('a name without a logo, and a logo without a name; a running server shows a change made by the CLI at once, at the root too', async (t) => {
  const h = await build(t);
  const b = new PageBrowser(h);
  await b.open('/device');
  const flowId = b.field('flowId') ?? '';
  // The root's /signon serves the default environment: read as stored now, not as it was at start.
  const root = `/signon?flowId=${flowId}`;
  assertHtmlPage(await b.open(root), 200, { csp: CSP });
  const cli = await runCli(h.dir, ['env', 'update', 'default', '--display-name', 'Contoso Devices', '--support-url', 'http://127.0.0.1:9/help']);
  assert.equal(cli.code, 0, cli.stderr);
  let body = assertHtmlPage(await b.open(root), 200, { csp: CSP });
  assert.match(body, /<title>Sign in · Contoso Devices<\/title>/);
  assert.ok(body.includes('<p class="brand named"><span>Contoso Devices</span></p>'), 'no logo: the name alone, read as text');
  assert.ok(body.includes('<a href="http://127.0.0.1:9/help" rel="noopener">Need help?</a>'));

  await h.services.admin.setBranding(h.services.defaultEnv, { displayName: '', logoUrl: 'http://127.0.0.1:8081/logo.png' });
  body = assertHtmlPage(await b.open(root), 200, {
    csp: "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data: http://127.0.0.1:8081; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  });
  assert.match(body, /<title>Sign in · Connect a device<\/title>/);
  assert.ok(body.includes('<p class="brand named"><img src="http://127.0.0.1:8081/logo.png" alt=""><span>Connect a device</span></p>'),
    'a logo without a name is decoration beside the generic heading');

  // Cleared: today's page again.
  await h.services.admin.setBranding(h.services.defaultEnv, { logoUrl: '', supportUrl: '' });
  body = assertHtmlPage(await b.open(root), 200, { csp: CSP });
  assert.match(body, /<p class="brand">Connect a device<\/p>/);
  assert.doesNotMatch(body, /Need help/);
});
