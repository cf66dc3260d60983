// The verification page's HTML: one layout and one template per step of the flow. Plain HTML forms,
// no JavaScript; every interpolated value goes through `html` (escaped).
import { countryName, type ConsentWarning } from '../../core/request-context.ts';
import type { DeviceRequestView } from '../../core/verification.ts';
import type { Attribution } from '../../geoip/geoip.ts';
import type { RequestContext } from '../../model/records.ts';
import { html, type SafeHtml } from './html.ts';
import { PAGE_CSS } from './style.ts';

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

export function layout(title: string, content: SafeHtml): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<title>${title} · Connect a device</title>
<style>${PAGE_CSS}</style>
</head>
<body>
<main aria-labelledby="page-title">
<p class="brand">Connect a device</p>
${content}
</main>
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

function forApp(appName: string | undefined): SafeHtml {
  return appName === undefined ? html`your device` : html`<strong>${appName}</strong>`;
}

export function signInPage(o: {
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
  const focusPassword = o.username !== undefined && o.username !== '';
  const providers = o.providers ?? [];
  const withPassword = o.passwordSignIn !== false;
  return layout('Sign in', html`<h1 id="page-title">Sign in</h1>
<p>${o.toDevices === true ? 'Sign in to see the devices connected to your account.' : html`Sign in to connect ${forApp(o.appName)} to your account.`}</p>
${alert(o.error)}
${providers.length > 0 && html`<ul class="providers">${providers.map((p) => html`
<li><a class="button${withPassword ? ' secondary' : ''}" href="${p.href}">Continue with ${p.displayName}</a></li>`)}
</ul>
${withPassword && html`<p class="muted or">or sign in with your username and password</p>`}`}
${!withPassword && providers.length === 0 && html`<p>Sign-in is not available here. Ask your administrator.</p>`}
${withPassword && html`<form method="post" action="signon">
${hidden(o.form)}
<input type="hidden" name="action" value="signin">
${o.userCode !== undefined && html`<input type="hidden" name="user_code" value="${o.userCode}">`}
${o.toDevices === true && html`<input type="hidden" name="view" value="devices">`}
<div class="field">
<label for="username">Username</label>
<input type="text" id="username" name="username" value="${o.username ?? ''}" autocomplete="username" autocapitalize="none" spellcheck="false" required${described(o.error)}${!focusPassword && html` autofocus`}>
</div>
<div class="field">
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required${described(o.error)}${focusPassword && html` autofocus`}>
</div>
<div class="actions"><button type="submit">Sign in</button></div>
</form>`}`);
}

export function codePage(o: { form: FormContext; appName?: string; userCode?: string; error?: FormError; more?: SafeHtml }): string {
  const prefilled = o.userCode !== undefined && o.userCode !== '' && o.error === undefined;
  return layout('Enter the code', html`<h1 id="page-title">${prefilled ? 'Confirm the code' : 'Enter the code'}</h1>
<p>${prefilled
    ? html`Check that this code matches the one shown on ${forApp(o.appName)}, then continue.`
    : html`Type the code shown on ${forApp(o.appName)}.`}</p>
${alert(o.error)}
<form method="post" action="signon">
${hidden(o.form)}
<input type="hidden" name="action" value="code">
<div class="field">
<label for="user_code">Code from your device</label>
<input type="text" id="user_code" name="user_code" class="code" value="${o.userCode ?? ''}" autocomplete="one-time-code" autocapitalize="characters" autocorrect="off" spellcheck="false" maxlength="64" required autofocus${described(o.error, 'code-hint')}>
<p class="hint" id="code-hint">Upper or lower case, with or without the dash.</p>
</div>
<div class="actions"><button type="submit">Continue</button></div>
</form>
${o.more}`);
}

const SCOPE_TEXT: Record<string, string> = {
  // What the ID token and UserInfo release for each scope (core/identity.ts), and no more.
  openid: 'Confirm who you are, using your account ID',
  profile: 'See your name and username',
  email: 'See your email address and whether it is verified',
  offline_access: 'Stay signed in and keep access when you are not using it',
};

export function scopeSentences(scopes: readonly string[]): SafeHtml {
  if (scopes.length === 0) return html`<li>Connect to your account (no specific permissions were requested)</li>`;
  return html`${scopes.map((s) => {
    const text = Object.hasOwn(SCOPE_TEXT, s) ? SCOPE_TEXT[s] : undefined;
    return text === undefined ? html`<li>Use the permission <code>${s}</code></li>` : html`<li>${text}</li>`;
  })}`;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** A span of time in words, rounded down: "less than a minute", "1 minute", "8 minutes", "2 hours". */
export function duration(ms: number): string {
  if (ms < MINUTE) return 'less than a minute';
  const [n, unit] = ms < HOUR ? [Math.floor(ms / MINUTE), 'minute'] : [Math.floor(ms / HOUR), 'hour'];
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

/** Where a request came from, in words: "Germany, Example AS (192.0.2.1)", "this network (127.0.0.1)". */
export function sourceText(source: RequestContext): string {
  const place = [countryName(source.country), source.network].filter((p): p is string => p !== null).join(', ');
  if (source.address === null) return place === '' ? 'an unknown address' : place;
  return `${place === '' ? 'an unknown network' : place} (${source.address})`;
}

/**
 * "Requested 2 minutes ago from …" and "This code expires in 8 minutes", counted from `now`, the
 * engine's clock when the view was made (RFC 8628 §5.4: the person can tell their own request).
 */
function requestDetails(request: DeviceRequestView, now: number): SafeHtml {
  const { source } = request;
  const left = request.expiresAt - now;
  return html`<p class="request" id="request-source">Requested <time datetime="${new Date(request.requestedAt).toISOString()}">${
    now - request.requestedAt < MINUTE ? 'less than a minute ago' : `${duration(now - request.requestedAt)} ago`}</time> from ${sourceText(source)}${
    source.userAgent !== null && html` · <span class="agent">${source.userAgent}</span>`}</p>
<p class="muted" id="request-expiry">${left > 0
    ? html`This code expires in <time datetime="${new Date(request.expiresAt).toISOString()}">${duration(left)}</time>.`
    : 'This code has expired.'}</p>`;
}

export function consentPage(o: {
  form: FormContext;
  appName?: string;
  username?: string;
  userCode?: string;
  scopes: readonly string[];
  error?: FormError;
  /** False when the code can no longer be approved (expired or used): no buttons, only the message. */
  canDecide?: boolean;
  /** The device's request and the engine's clock when the view was made. */
  request?: DeviceRequestView;
  now: number;
  /** What differs between the request and where the person is (the engine's words), above the buttons. */
  warnings?: readonly ConsentWarning[];
  /** Links the IP databases' licences ask for, under the request's details. */
  attributions?: readonly Attribution[];
  /** Below the step, e.g. the "Your devices" link. */
  more?: SafeHtml;
}): string {
  const app = o.appName ?? 'This device';
  return layout('Approve this device?', html`<h1 id="page-title">Allow ${app} to access your account?</h1>
${o.username !== undefined && html`<p class="muted">Signed in as <strong>${o.username}</strong></p>`}
${alert(o.error)}
${o.userCode !== undefined && html`<p class="label">Code on your device</p>
<p class="usercode">${o.userCode}</p>`}
${o.request !== undefined && requestDetails(o.request, o.now)}
<p class="label">${app} will be able to:</p>
<ul class="scopes">${scopeSentences(o.scopes)}</ul>
<p class="warning"><strong>Only continue if you started this on a device you own.</strong> Check that the code above matches the one on your device.</p>
${(o.warnings ?? []).map((w) => html`<p class="mismatch" role="alert"><strong>${w.message}</strong></p>`)}
${o.canDecide === false
    ? html`<p>Start again on your device to get a new code.</p>`
    : html`<form method="post" action="signon">
${hidden(o.form)}
<div class="actions">
<button type="submit" name="action" value="approve">Approve</button>
<button type="submit" name="action" value="deny" class="secondary">Deny</button>
<button type="submit" name="action" value="report" class="danger">I didn't start this</button>
</div>
</form>`}
${o.request !== undefined && (o.attributions ?? []).length > 0
    && html`<p class="more attribution">Network names: ${(o.attributions ?? []).map((a, i) => html`${i > 0 && ', '}<a href="${a.href}">${a.text}</a>`)}</p>`}
${o.more}`);
}

export function donePage(o: { appName?: string; more?: SafeHtml }): string {
  return layout('Device connected', html`<h1 id="page-title">Device connected</h1>
<p class="success" role="status">You're all set — return to your device.</p>
<p class="muted">${o.appName === undefined ? 'Your device' : html`<strong>${o.appName}</strong>`} can now finish signing in. You can close this page.</p>
${o.more}`);
}

/**
 * A FAILED flow: too many wrong codes, a refusal, a report ("I didn't start this"), or a decision
 * that came too late (the code expired or was answered elsewhere meanwhile; `error` then says which).
 */
export function failedPage(o: { tooManyCodes: boolean; reported?: boolean; appName?: string; error?: FormError; more?: SafeHtml }): string {
  const who = o.appName === undefined ? 'the device' : html`<strong>${o.appName}</strong>`;
  if (o.reported === true) {
    return layout('Request reported', html`<h1 id="page-title">Request reported</h1>
<p class="success" role="status">Thank you. The request was denied and reported, so ${who} was not connected to your account.</p>
<p>Someone else may have started it and sent you the code. Don't enter codes that other people send you or ask you to enter: only ever enter a code that a device of your own shows you.</p>
${o.more}`);
  }
  if (o.tooManyCodes) {
    return layout('Too many wrong codes', html`<h1 id="page-title">Too many wrong codes</h1>
<p class="alert" role="alert">This request failed because the code was entered wrongly too many times.</p>
<p>Start again on your device to get a new code.</p>
${o.more}`);
  }
  if (o.error !== undefined) {
    return layout('Not connected', html`<h1 id="page-title">Not connected</h1>
<p class="alert" role="alert">${o.error.message}</p>
<p>${who} was not connected to your account.</p>
${o.more}`);
  }
  return layout('Request denied', html`<h1 id="page-title">Request denied</h1>
<p role="status">This request was denied or could not be completed, so ${who} was not connected to your account.</p>
<p>If that was a mistake, start again on your device.</p>
${o.more}`);
}

/** A page with a heading and a message, for errors and dead ends. */
export function messagePage(o: { title: string; message: string; next?: SafeHtml }): string {
  return layout(o.title, html`<h1 id="page-title">${o.title}</h1>
<p class="alert" role="alert">${o.message}</p>
${o.next}`);
}
