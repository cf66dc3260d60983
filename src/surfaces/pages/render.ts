// The verification page's HTML: one layout and one template per step of the flow. Plain HTML forms,
// no JavaScript; every interpolated value goes through `html` (escaped), every word through the
// person's language (i18n/), and the layout carries the environment's branding (theme.ts).
import type { ConsentWarning } from '../../core/request-context.ts';
import type { DeviceRequestView } from '../../core/verification.ts';
import type { Attribution } from '../../geoip/geoip.ts';
import type { RequestContext } from '../../model/records.ts';
import type { PageContext } from './context.ts';
import { html, type SafeHtml } from './html.ts';
import { languageNames, type KeyWith, type PlainKey } from './i18n/index.ts';
import { PAGE_CSS } from './style.ts';
import { requestDetails, warningText } from './request-words.ts';
import { brandStyle, logoOf } from './theme.ts';

/** What every form on the page carries: the flow and its CSRF token. */
export interface FormContext {
  flowId: string;
  csrf: string;
}

/** A message shown above a form (role="alert"), linked to the inputs it is about. */
export interface FormError {
  message: string;
}

const ERROR_ID = 'form-error';

/** The environment's name and logo above the step, or the product's own heading. */
function header(c: PageContext): SafeHtml {
  const name = c.brand.displayName;
  const logo = logoOf(c.brand);
  if (name === null && logo === undefined) return html`<p class="brand">${c.t.html('page.brand')}</p>`;
  // The logo is named by its alt text, so the name beside it is not read twice.
  return html`<p class="brand named">${logo && html`<img src="${logo.url}" alt="${name ?? ''}">`}${
    name !== null && html`<span${logo && html` aria-hidden="true"`}>${name}</span>`}${name === null && html`<span>${c.t.html('page.brand')}</span>`}</p>`;
}

/** Below the card: the environment's support link, and the language links (each keeps the current step). */
function footer(c: PageContext): SafeHtml {
  const link = (lang: string) => {
    const q = new URLSearchParams(c.here);
    q.set('lang', lang);
    return `?${q.toString()}`;
  };
  return html`<footer>
${c.brand.supportUrl !== null && html`<p><a href="${c.brand.supportUrl}" rel="noopener">${c.t.html('footer.help')}</a></p>`}
<nav aria-label="${c.t.html('footer.language')}"><ul>${languageNames().map(({ lang, name }) => (lang === c.t.lang
    ? html`<li><span aria-current="true" lang="${lang}">${name}</span></li>`
    : html`<li><a href="${link(lang)}" hreflang="${lang}" lang="${lang}">${name}</a></li>`))}</ul></nav>
</footer>`;
}

export function layout(c: PageContext, title: string, content: SafeHtml): string {
  const brand = c.brand.displayName ?? c.t.text('page.brand');
  return html`<!doctype html>
<html lang="${c.t.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<title>${c.t.html('page.title', { step: title, brand })}</title>
<style>${PAGE_CSS}</style>
${brandStyle(c.brand)}
</head>
<body>
<main aria-labelledby="page-title">
${header(c)}
${content}
</main>
${footer(c)}
</body>
</html>
`.value;
}

export function hidden(form: FormContext): SafeHtml {
  return html`<input type="hidden" name="flowId" value="${form.flowId}">
<input type="hidden" name="csrf" value="${form.csrf}">`;
}

function alert(error: FormError | undefined): SafeHtml {
  return html`${error && html`<p class="alert" id="${ERROR_ID}" role="alert">${error.message}</p>`}`;
}

/** aria-describedby / aria-invalid for an input, given its hint and the form's error. */
function described(error: FormError | undefined, hintId?: string): SafeHtml {
  const ids = [error ? ERROR_ID : undefined, hintId].filter((x): x is string => x !== undefined);
  return html`${ids.length > 0 && html` aria-describedby="${ids.join(' ')}"`}${error && html` aria-invalid="true"`}`;
}

/** A sentence about the application: its name in bold, or the message that says "your device" instead. */
function aboutApp(c: PageContext, appName: string | undefined, withApp: KeyWith<'app'>, withoutApp: PlainKey): SafeHtml {
  return appName === undefined ? c.t.html(withoutApp) : c.t.html(withApp, { app: html`<strong>${appName}</strong>` });
}

export function signInPage(c: PageContext, o: {
  form: FormContext;
  appName?: string;
  username?: string;
  userCode?: string;
  /** Signing in to see "Your devices" rather than to connect one (it rides along like the code). */
  toDevices?: boolean;
  error?: FormError;
  /** "Continue with …" for each of the environment's identity providers (federation). */
  providers?: readonly { displayName: string; href: string }[];
  /** False: the environment signs people in through its providers only (no password form). */
  passwordSignIn?: boolean;
}): string {
  const { t } = c;
  const focusPassword = o.username !== undefined && o.username !== '';
  const providers = o.providers ?? [];
  const withPassword = o.passwordSignIn !== false;
  return layout(c, t.text('signIn.title'), html`<h1 id="page-title">${t.html('signIn.title')}</h1>
<p>${o.toDevices === true ? t.text('signIn.toDevices') : aboutApp(c, o.appName, 'signIn.toConnect', 'signIn.toConnectDevice')}</p>
${alert(o.error)}
${providers.length > 0 && html`<ul class="providers">${providers.map((p) => html`
<li><a class="button${withPassword ? ' secondary' : ''}" href="${p.href}">${t.html('signIn.continueWith', { provider: p.displayName })}</a></li>`)}
</ul>
${withPassword && html`<p class="muted or">${t.html('signIn.or')}</p>`}`}
${!withPassword && providers.length === 0 && html`<p>${t.html('signIn.unavailable')}</p>`}
${withPassword && html`<form method="post" action="signon">
${hidden(o.form)}
<input type="hidden" name="action" value="signin">
${o.userCode !== undefined && html`<input type="hidden" name="user_code" value="${o.userCode}">`}
${o.toDevices === true && html`<input type="hidden" name="view" value="devices">`}
<div class="field">
<label for="username">${t.html('signIn.username')}</label>
<input type="text" id="username" name="username" value="${o.username ?? ''}" autocomplete="username" autocapitalize="none" spellcheck="false" required${described(o.error)}${!focusPassword && html` autofocus`}>
</div>
<div class="field">
<label for="password">${t.html('signIn.password')}</label>
<input type="password" id="password" name="password" autocomplete="current-password" required${described(o.error)}${focusPassword && html` autofocus`}>
</div>
<div class="actions"><button type="submit">${t.html('signIn.submit')}</button></div>
</form>`}`);
}

export function codePage(c: PageContext, o: { form: FormContext; appName?: string; userCode?: string; error?: FormError; more?: SafeHtml }): string {
  const { t } = c;
  const prefilled = o.userCode !== undefined && o.userCode !== '' && o.error === undefined;
  return layout(c, t.text('code.title'), html`<h1 id="page-title">${prefilled ? t.text('code.confirmTitle') : t.text('code.title')}</h1>
<p>${prefilled ? aboutApp(c, o.appName, 'code.check', 'code.checkDevice') : aboutApp(c, o.appName, 'code.type', 'code.typeDevice')}</p>
${alert(o.error)}
<form method="post" action="signon">
${hidden(o.form)}
<input type="hidden" name="action" value="code">
<div class="field">
<label for="user_code">${t.html('code.label')}</label>
<input type="text" id="user_code" name="user_code" class="code" value="${o.userCode ?? ''}" autocomplete="one-time-code" autocapitalize="characters" autocorrect="off" spellcheck="false" maxlength="64" required autofocus${described(o.error, 'code-hint')}>
<p class="hint" id="code-hint">${t.html('code.hint')}</p>
</div>
<div class="actions"><button type="submit">${t.html('code.submit')}</button></div>
</form>
${o.more}`);
}

/** What the ID token and UserInfo release for each scope (core/identity.ts), in words. */
const SCOPE_TEXT: Readonly<Record<string, PlainKey>> = {
  openid: 'scope.openid',
  profile: 'scope.profile',
  email: 'scope.email',
  offline_access: 'scope.offline_access',
};

export function scopeSentences(c: PageContext, scopes: readonly string[]): SafeHtml {
  if (scopes.length === 0) return html`<li>${c.t.html('scope.none')}</li>`;
  return html`${scopes.map((s) => {
    const key = Object.hasOwn(SCOPE_TEXT, s) ? SCOPE_TEXT[s] : undefined;
    return key === undefined ? html`<li>${c.t.html('scope.other', { scope: html`<code>${s}</code>` })}</li>` : html`<li>${c.t.html(key)}</li>`;
  })}`;
}

export function consentPage(c: PageContext, o: {
  form: FormContext;
  appName?: string;
  username?: string;
  userCode?: string;
  scopes: readonly string[];
  error?: FormError;
  /** False when the code can no longer be approved (expired or used): no buttons, only the message. */
  canDecide?: boolean;
  /** The device's request (times count from the context's clock, the engine's when the view was made). */
  request?: DeviceRequestView;
  /** What differs between the request and where the person is (the engine's finding), above the buttons. */
  warnings?: readonly ConsentWarning[];
  /** Where the person is now: the network a warning names. */
  viewer?: RequestContext;
  /** Links the IP databases' licences ask for, under the request's details. */
  attributions?: readonly Attribution[];
  /** Below the step, e.g. the "Your devices" link. */
  more?: SafeHtml;
}): string {
  const { t } = c;
  const attributions = o.attributions ?? [];
  return layout(c, t.text('consent.title'), html`<h1 id="page-title">${o.appName === undefined
    ? t.text('consent.headingDevice') : t.text('consent.heading', { app: o.appName })}</h1>
${o.username !== undefined && html`<p class="muted">${t.html('common.signedInAs', { user: html`<strong>${o.username}</strong>` })}</p>`}
${alert(o.error)}
${o.userCode !== undefined && html`<p class="label">${t.html('consent.codeLabel')}</p>
<p class="usercode">${o.userCode}</p>`}
${o.request !== undefined && requestDetails(c, o.request)}
<p class="label">${o.appName === undefined ? t.text('consent.willBeAbleDevice') : t.text('consent.willBeAble', { app: o.appName })}</p>
<ul class="scopes">${scopeSentences(c, o.scopes)}</ul>
<p class="warning">${t.html('consent.warningPair', { first: html`<strong>${t.html('consent.onlyYours')}</strong>`, second: t.html('consent.checkCode') })}</p>
${(o.warnings ?? []).map((w) => html`<p class="mismatch" role="alert"><strong>${warningText(c, w, o.request, o.viewer)}</strong></p>`)}
${o.canDecide === false
    ? html`<p>${t.html('common.startAgain')}</p>`
    : html`<form method="post" action="signon">
${hidden(o.form)}
<div class="actions">
<button type="submit" name="action" value="approve">${t.html('consent.approve')}</button>
<button type="submit" name="action" value="deny" class="secondary">${t.html('consent.deny')}</button>
<button type="submit" name="action" value="report" class="danger">${t.html('consent.report')}</button>
</div>
</form>`}
${o.request !== undefined && attributions.length > 0
    && html`<p class="more attribution">${t.html('consent.attribution', {
      links: attributions.map((a, i) => html`${i > 0 && ', '}<a href="${a.href}">${a.text}</a>`),
    })}</p>`}
${o.more}`);
}

export function donePage(c: PageContext, o: { appName?: string; more?: SafeHtml }): string {
  const { t } = c;
  return layout(c, t.text('done.title'), html`<h1 id="page-title">${t.html('done.title')}</h1>
<p class="success" role="status">${t.html('done.status')}</p>
<p class="muted">${aboutApp(c, o.appName, 'done.finish', 'done.finishDevice')}</p>
${o.more}`);
}

/**
 * A FAILED flow: too many wrong codes, a refusal, a report ("I didn't start this"), or a decision
 * that came too late (the code expired or was answered elsewhere meanwhile; `error` then says which).
 */
export function failedPage(c: PageContext, o: { tooManyCodes: boolean; reported?: boolean; appName?: string; error?: FormError; more?: SafeHtml }): string {
  const { t } = c;
  if (o.reported === true) {
    return layout(c, t.text('reported.title'), html`<h1 id="page-title">${t.html('reported.title')}</h1>
<p class="success" role="status">${aboutApp(c, o.appName, 'reported.status', 'reported.statusDevice')}</p>
<p>${t.html('reported.advice')}</p>
${o.more}`);
  }
  if (o.tooManyCodes) {
    return layout(c, t.text('tooMany.title'), html`<h1 id="page-title">${t.html('tooMany.title')}</h1>
<p class="alert" role="alert">${t.html('tooMany.status')}</p>
<p>${t.html('common.startAgain')}</p>
${o.more}`);
  }
  if (o.error !== undefined) {
    return layout(c, t.text('notConnected.title'), html`<h1 id="page-title">${t.html('notConnected.title')}</h1>
<p class="alert" role="alert">${o.error.message}</p>
<p>${aboutApp(c, o.appName, 'notConnected.app', 'notConnected.device')}</p>
${o.more}`);
  }
  return layout(c, t.text('denied.title'), html`<h1 id="page-title">${t.html('denied.title')}</h1>
<p role="status">${aboutApp(c, o.appName, 'denied.status', 'denied.statusDevice')}</p>
<p>${t.html('denied.again')}</p>
${o.more}`);
}

/** A page with a heading and a message, for errors and dead ends. */
export function messagePage(c: PageContext, o: { title: string; message: string; next?: SafeHtml }): string {
  return layout(c, o.title, html`<h1 id="page-title">${o.title}</h1>
<p class="alert" role="alert">${o.message}</p>
${o.next}`);
}
