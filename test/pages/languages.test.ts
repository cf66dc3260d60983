// The page's languages (README "Branding and languages"): German, French, Spanish and Japanese
// chosen by Accept-Language (q-values, de-CH → German) through a whole device login, no English left
// on any step; the language links in the footer switch the current step and are remembered for the
// next ones (a cookie that beats Accept-Language); errors, relative times, countries and dates in
// the person's language. English stays the default.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { en } from '../../src/surfaces/pages/i18n/en.ts';
import { CATALOGUES, type Lang } from '../../src/surfaces/pages/i18n/index.ts';
import { build, type TestApp } from '../helpers/build.ts';
import { alertText, assertHtmlPage, deviceSees, deviceStarts, PageBrowser, PASSWORD, pollToken, unescapeHtml } from './_support.ts';

/** What a person reads: the page's text without tags, scripts or styles, entities decoded. */
function words(body: string): string {
  return unescapeHtml(body.replace(/<style>[\s\S]*?<\/style>/g, '').replace(/<title>[\s\S]*?<\/title>/g, '')
    .replace(/<\/?(?:p|li|h1|label|button|div|ul|nav|footer|main|form)\b[^>]*>|<br>/g, ' ').replace(/<[^>]+>/g, '')).replace(/[ \t\r\n]+/g, ' ');
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** No English sentence of the catalogue is left on a page in `lang` (those it translates differently). */
function assertNoEnglish(body: string, lang: Lang, step: string): void {
  const text = words(body);
  for (const [key, message] of Object.entries(en)) {
    if (key === 'language.name' || /\{/.test(message) || message.length < 6) continue;
    if ((CATALOGUES[lang] as Record<string, string>)[key] === message) continue;
    // Whole words only: French "Continuer" is not English "Continue".
    assert.doesNotMatch(text, new RegExp(`(?<!\\p{L})${escapeRegExp(message)}(?!\\p{L})`, 'u'), `${lang} ${step}: English left: "${message}"`);
  }
}

/** The sentences a person reads at each step, in their language (written out here, not read from the catalogues). */
const EXPECTED: Record<Exclude<Lang, 'en'>, {
  header: string; signIn: string; wrongPassword: string; confirm: string; requested: string; expires: string; heading: string; approve: string; done: string;
}> = {
  de: {
    header: 'Accept-Language: de-CH, en;q=0.5', signIn: 'Anmelden', wrongPassword: 'Benutzername oder Passwort ist nicht korrekt.', confirm: 'Code bestätigen',
    requested: 'Angefordert vor 2 Minuten – Herkunft: dieses Netzwerk (127.0.0.1)', expires: 'Dieser Code läuft in 8 Minuten ab.',
    heading: 'Darf Test TV auf Ihr Konto zugreifen?', approve: 'Zulassen', done: 'Gerät verbunden',
  },
  fr: {
    header: 'Accept-Language: en;q=0.4, fr-CA;q=0.8, *;q=0.1', signIn: 'Connexion', wrongPassword: 'Le nom d’utilisateur ou le mot de passe est incorrect.',
    confirm: 'Confirmer le code', requested: 'Demandé il y a 2 minutes · provenance\u00a0: ce réseau (127.0.0.1)', expires: 'Ce code expire dans 8 minutes.',
    heading: 'Autoriser Test TV à accéder à votre compte\u00a0?', approve: 'Autoriser', done: 'Appareil connecté',
  },
  es: {
    header: 'Accept-Language: es-419', signIn: 'Iniciar sesión', wrongPassword: 'El nombre de usuario o la contraseña no son correctos.',
    confirm: 'Confirma el código', requested: 'Solicitado hace 2 minutos desde esta red (127.0.0.1)', expires: 'Este código caduca dentro de 8 minutos.',
    heading: '¿Permitir que Test TV acceda a tu cuenta?', approve: 'Aprobar', done: 'Dispositivo conectado',
  },
  ja: {
    header: 'Accept-Language: ja-JP,ja;q=0.9,en-US;q=0.8', signIn: 'サインイン', wrongPassword: 'ユーザー名またはパスワードが正しくありません。',
    confirm: 'コードの確認', requested: 'リクエスト：2 分前 · 送信元：このネットワーク（127.0.0.1）', expires: 'このコードの有効期限は8 分後です。',
    heading: 'Test TV にアカウントへのアクセスを許可しますか？', approve: '承認', done: 'デバイスが接続されました',
  },
};

const heading = (body: string) => unescapeHtml(/<h1 id="page-title">([^<]*)<\/h1>/.exec(body)?.[1] ?? '');

for (const lang of ['de', 'fr', 'es', 'ja'] as const) {
  test(`${lang} by Accept-Language through a whole device login: every step, its error and its times in ${lang}, no English left`, async (t) => {
    const x = EXPECTED[lang];
    const h = await build(t);
    const client = await h.publicClient({ scope: 'openid profile' });
    await h.user('alice');
    const device = await deviceStarts(h, client, 'openid profile');
    h.clock.advance(120);
    const b = new PageBrowser(h, { 'accept-language': x.header.slice('Accept-Language: '.length) });
    const page = (res: LightMyRequestResponse, status: number, step: string) => {
      const body = assertHtmlPage(res, status, { lang });
      assertNoEnglish(body, lang, step);
      assert.ok(body.includes(`<span aria-current="true" lang="${lang}">${CATALOGUES[lang]['language.name']}</span>`), 'the footer marks the language');
      return body;
    };

    let body = page(await b.open(device.verification_uri_complete), 200, 'sign-in');
    assert.equal(heading(body), x.signIn);
    body = page(await b.submit({ username: 'alice', password: 'wrong horse' }), 400, 'wrong password');
    assert.equal(unescapeHtml(alertText(body) ?? ''), x.wrongPassword);
    body = page(await b.submit({ username: 'alice', password: PASSWORD }), 200, 'code');
    assert.equal(heading(body), x.confirm);
    body = page(await b.submit({}), 200, 'consent');
    assert.equal(heading(body), x.heading);
    assert.ok(words(body).includes(x.requested), words(body));
    assert.ok(words(body).includes(x.expires), words(body));
    assert.ok(body.includes(`name="action" value="approve">${x.approve}</button>`));
    body = page(await b.submit({ action: 'approve' }), 200, 'done');
    assert.equal(heading(body), x.done);
    assert.equal(await deviceSees(h, device.device_code, client), 'token');
  });
}

test('English stays the default: no header, a language the page does not speak, or nothing acceptable', async (t) => {
  const h = await build(t);
  for (const headers of [{} as Record<string, string>, { 'accept-language': 'pt-BR, it;q=0.8' }, { 'accept-language': 'de;q=0, ja;q=0' }, { 'accept-language': '!!garbage;;' }]) {
    const b = new PageBrowser(h, headers);
    const body = assertHtmlPage(await b.open('/device'), 200);
    assert.equal(heading(body), 'Sign in');
  }
});

/** The href of the footer's link to `lang`, as a path on this server (it is relative to the page). */
function languageLink(b: PageBrowser, lang: Lang): string {
  const href = new RegExp(`<a href="([^"]*)" hreflang="${lang}" lang="${lang}">`).exec(b.body)?.[1];
  assert.ok(href !== undefined, `no link to ${lang}`);
  const url = new URL(unescapeHtml(href), `http://page.test${b.path}`);
  return url.pathname + url.search;
}

test('the language links switch the current step, keep its address, and are remembered over Accept-Language for the next steps', async (t) => {
  const h = await build(t);
  const client = await h.publicClient();
  await h.user('alice');
  const device = await deviceStarts(h, client);
  // The browser prefers French; the person picks German, then Japanese.
  const b = new PageBrowser(h, { 'accept-language': 'fr' });
  assertHtmlPage(await b.open(device.verification_uri_complete), 200, { lang: 'fr' });
  const signInPath = b.path;
  const toGerman = languageLink(b, 'de');
  assert.equal(toGerman, `${signInPath}&lang=de`, 'the same step, its flowId and user_code kept');
  const switched = await b.open(toGerman);
  assert.match(String(switched.headers['set-cookie']), /dcs_lang=de; Max-Age=31536000; Path=\/; HttpOnly; SameSite=Lax/);
  assertHtmlPage(switched, 200, { lang: 'de' });
  assert.equal(heading(b.body), 'Anmelden');
  assert.equal(b.field('user_code'), device.user_code);
  assert.ok(b.body.includes('<li><span aria-current="true" lang="de">Deutsch</span></li>'));
  for (const other of ['en', 'fr', 'es', 'ja'] as const) assert.ok(languageLink(b, other).endsWith(`&lang=${other}`));

  // The next steps (a form post, its redirect) keep German by the cookie, although the browser still says French.
  assertHtmlPage(await b.submit({ username: 'alice', password: PASSWORD }), 200, { lang: 'de' });
  assert.equal(heading(b.body), 'Code bestätigen');
  // A form answered with an error links back to its step: switching there shows the step again.
  assertHtmlPage(await b.submit({ user_code: 'BBBB-BBBB' }), 400, { lang: 'de' });
  assert.equal(alertText(b.body),
    'Dieser Code ist nicht richtig. Prüfen Sie den Code auf Ihrem Gerät und versuchen Sie es erneut. Sie haben noch 4 Versuche.');
  const flowId = b.field('flowId') ?? '';
  assert.equal(languageLink(b, 'ja'), `/${h.services.defaultEnv.id}/signon?flowId=${flowId}&lang=ja`);
  assertHtmlPage(await b.open(languageLink(b, 'ja')), 200, { lang: 'ja' });
  assert.equal(heading(b.body), 'コードの入力');
  assertHtmlPage(await b.submit({ user_code: 'BBBB-BBBB' }), 400, { lang: 'ja' });
  assert.equal(alertText(b.body), 'コードが正しくありません。デバイスのコードを確認して、もう一度お試しください。残り 3 回です。');

  // "Your devices" keeps its view when switched; English again by its link.
  await b.open(`/${h.services.defaultEnv.id}/signon?flowId=${flowId}&view=devices`);
  assert.equal(heading(b.body), 'お使いのデバイス');
  assert.equal(languageLink(b, 'en'), `/${h.services.defaultEnv.id}/signon?flowId=${flowId}&view=devices&lang=en`);
  assertHtmlPage(await b.open(languageLink(b, 'en')), 200);
  assert.equal(heading(b.body), 'Your devices');
  // A value the page does not speak changes nothing (English stays chosen by the cookie).
  const ignored = await b.open(`/${h.services.defaultEnv.id}/signon?flowId=${flowId}&lang=klingon`);
  assertHtmlPage(ignored, 200);
  assert.equal(ignored.headers['set-cookie'], undefined);
});

/** Logs alice in through the page in `headers`' language and polls a token: a grant for "Your devices". */
async function grantFor(h: TestApp, headers: Record<string, string>): Promise<PageBrowser> {
  const client = await h.publicClient();
  // The device asks from an address in the United States (TRUST_PROXY=on).
  const started = await h.form('/oauth/device_authorization', { client_id: client.clientId }, { 'x-forwarded-for': '8.8.8.8' });
  const device = started.json<{ device_code: string; verification_uri_complete: string }>();
  const b = new PageBrowser(h, headers);
  await b.open(device.verification_uri_complete);
  await b.submit({ username: 'alice', password: PASSWORD });
  await b.submit({});
  await b.submit({ action: 'approve' });
  assert.equal((await pollToken(h, device.device_code, client)).statusCode, 200);
  return b;
}

test('errors, countries, relative times and dates in the person\'s language; exact times (UTC) in the locale\'s format', async (t) => {
  const h = await build(t, { env: { TRUST_PROXY: 'on' } });
  await h.user('alice');
  await grantFor(h, { 'accept-language': 'ja' });
  h.clock.advance(26 * 3600);
  // A day later, "Your devices" from a new visit.
  const ja = new PageBrowser(h, { 'accept-language': 'ja' });
  await ja.open('/device?view=devices');
  const body = assertHtmlPage(await ja.submit({ username: 'alice', password: PASSWORD }), 200, { lang: 'ja' });
  assert.match(body, /承認：<time datetime="2026-01-01T12:00:00\.000Z" title="2026年1月1日 12:00 UTC">1 日前<\/time> · 送信元：アメリカ合衆国、Google LLC（8\.8\.8\.8）/);
  assert.ok(body.includes('<strong>Test TV</strong>'));

  // An expired link, in Spanish by a regional tag.
  const es = new PageBrowser(h, { 'accept-language': 'es-MX,es;q=0.9,en;q=0.5' });
  const expired = assertHtmlPage(await es.open(`/signon?flowId=00000000-0000-4000-8000-000000000000`), 404, { lang: 'es' });
  assert.equal(heading(expired), 'Este enlace ha caducado');
  assert.ok(expired.includes('<a href="device">abrir la página de inicio de sesión</a>'));
  // An unknown application, in French.
  const fr = new PageBrowser(h, { 'accept-language': 'fr' });
  const notFound = assertHtmlPage(await fr.open(`/${h.services.defaultEnv.id}/device/no-such-app`), 404, { lang: 'fr' });
  assert.equal(heading(notFound), 'Page introuvable');
});
