// How the page answers: every response carries the same security headers, and every error is an
// HTML page in the page's own style, never OAuth JSON and never a stack trace.
import type { FastifyReply } from 'fastify';
import type { CoreError, CoreErrorCode, FederationFailure } from '../../core/errors.ts';
import type { ErrorSender, RawError } from '../../http/wire-format.ts';
import { html } from './html.ts';
import { messagePage } from './render.ts';

export const PAGE_CSP = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export function pageHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', PAGE_CSP)
    .header('cache-control', 'no-store')
    .header('x-frame-options', 'DENY');
}

export function sendPage(reply: FastifyReply, status: number, page: string): FastifyReply {
  return pageHeaders(reply).code(status).type('text/html; charset=utf-8').send(page);
}

/** Post/Redirect/Get: 303 so that reloading the result never re-posts the form. */
export function redirectPage(reply: FastifyReply, location: string): FastifyReply {
  return pageHeaders(reply).redirect(location, 303);
}

const startAgain = html`<p>Start again from the address shown on your device: <a href="device">open the sign-in page</a>.</p>`;

export function expiredLinkPage(): string {
  return messagePage({
    title: 'This link has expired',
    message: 'This sign-in page has expired or was opened in a different browser.',
    next: startAgain,
  });
}

export function forbiddenPage(): string {
  return messagePage({
    title: 'Please try again',
    message: 'This form could not be checked, so nothing was changed. It may be out of date, or it was sent from another site.',
    next: html`<p>Go back, reload the page and try again. If that does not help, start again on your device.</p>`,
  });
}

const inWords = (wait: number): string =>
  wait < 60 ? `${wait} ${wait === 1 ? 'second' : 'seconds'}` : `about ${Math.ceil(wait / 60)} minutes`;

/**
 * How the page shows an error: a title and a sentence. `form: true` marks the errors of a person's
 * own input (a wrong password or code, a throttle): the step they were on is shown again with the
 * sentence above the form; any other error gets a page of its own. `status` overrides the code's own.
 */
interface Shown {
  title: string;
  message: (err: CoreError) => string;
  form?: true;
  status?: number;
}

const say = (text: string) => (): string => text;
const wait = (then: string) => (err: CoreError): string => `${then} Try again in ${inWords(err.details.retryAfter ?? 60)}.`;
const NOT_UNDERSTOOD = 'That request could not be understood. Go back and try again.';
const notUnderstood: Shown = { title: 'Something is not right', message: say(NOT_UNDERSTOOD) };

/** What the person is told when a sign-in through their organisation's provider did not complete. */
export function federationMessage(reason: FederationFailure | undefined): string {
  switch (reason) {
    // access_denied: the person pressed Cancel, or the provider would not let them in; it does not say which.
    case 'cancelled': return 'The sign-in was cancelled, or your organisation\'s sign-in did not allow it. Nothing was changed.';
    case 'denied': return 'Your organisation\'s sign-in refused the request; it may not be set up for this service yet. Nothing was changed. Try again, or ask your administrator.';
    case 'unknown_provider': return 'That sign-in option is not available here.';
    case 'stale': return 'This sign-in link was already used, has expired, or was opened in another browser. Start the sign-in again.';
    case 'unreachable': return 'Your organisation\'s sign-in could not be reached just now. Try again in a moment.';
    case 'disabled': return 'This account can no longer approve devices.';
    case 'invalid_response':
    case undefined:
      return 'Your organisation\'s sign-in answered in a way that could not be trusted, so you were not signed in. Try again, or ask your administrator.';
  }
}

/** Every error the engine can raise, as the page shows it (the compiler holds the table complete). */
const shown: Record<CoreErrorCode, Shown> = {
  invalid_request: notUnderstood,
  // OAuth client and token errors never arise from the page's own steps.
  invalid_client: notUnderstood,
  invalid_grant: notUnderstood,
  unauthorized_client: notUnderstood,
  unsupported_grant_type: notUnderstood,
  invalid_scope: notUnderstood,
  authorization_pending: notUnderstood,
  slow_down: notUnderstood,
  expired_token: notUnderstood,
  invalid_token: notUnderstood,
  insufficient_scope: notUnderstood,
  forbidden: { title: 'Not allowed', message: say('You cannot do that here.') },
  access_denied: { title: 'Not allowed', message: say('This account can no longer approve devices.'), form: true },
  not_found: { title: 'Page not found', message: say('That application or page does not exist.') },
  conflict: notUnderstood,
  invalid_credentials: { title: 'Sign-in failed', message: say('That username or password is not correct.'), form: true },
  sign_in_throttled: { title: 'Too many sign-in attempts', message: wait('There have been too many failed sign-ins for this account.'), form: true },
  invalid_user_code: {
    title: 'That code is not right',
    message: (err) => {
      const left = err.details.failuresRemaining;
      const attempts = left === undefined ? '' : ` You have ${left} ${left === 1 ? 'attempt' : 'attempts'} left.`;
      return `That code is not right. Check the code on your device and try again.${attempts}`;
    },
    form: true,
  },
  user_code_expired: { title: 'That code has expired', message: say('That code has expired. Start again on your device to get a new code.'), form: true },
  user_code_used: { title: 'That code was used', message: say('That code has already been used. Start again on your device to get a new code.'), form: true },
  too_many_attempts: { title: 'Too many wrong codes', message: say('The code was entered wrongly too many times.'), form: true },
  network_mismatch: {
    title: 'Use a device on the same network',
    message: say('This code can only be approved from the same network as the device that shows it, for example the same home Wi-Fi. '
      + 'You seem to be on another network, so nothing was approved. If you did not start this sign-in yourself, do not approve it: '
      + 'someone may be trying to get you to sign them in.'),
    form: true,
  },
  guess_budget_exhausted: { title: 'Too many wrong codes', message: wait('Too many wrong codes have been tried from your network.'), form: true },
  flow_not_found: { title: 'This link has expired', message: say('This sign-in page has expired or was opened in a different browser.') },
  federation_failed: { title: 'Sign-in did not complete', message: (err) => federationMessage(err.details.federation) },
  flow_wrong_state: { title: 'Already answered', message: say('This request has already been answered. Start again on your device if you need to.'), status: 409 },
  registration_refused: notUnderstood,
  invalid_registration_code: notUnderstood,
  route_not_found: { title: 'Page not found', message: say('There is no page at this address.') },
  method_not_allowed: notUnderstood,
  unsupported_media_type: { title: 'Something is not right', message: say('The form was sent in a format this page does not accept. Go back and try again.') },
  payload_too_large: { title: 'Too much data', message: say('The form sent too much data. Go back and try again.') },
  rate_limited: { title: 'Too many requests', message: say('There have been too many requests from your network. Wait a little, then try again.') },
  storage_full: { title: 'Please try again later', message: say('This could not be saved just now, so nothing was changed. Wait a little, then try again.') },
  limits_unavailable: {
    title: 'Please try again later', message: say('Codes cannot be checked just now, so nothing was changed. Wait a few seconds, then try again.'), form: true,
  },
  server_error: { title: 'Something went wrong', message: say('Something went wrong on our side. Please try again in a moment.') },
};

/** The sentence above the form for an error of the person's own input; undefined for any other error. */
export function formMessage(err: CoreError): string | undefined {
  const s = shown[err.code];
  return s.form === true ? s.message(err) : undefined;
}

/** Errors that reach the error handler (routing, body parsing, rate limits, bugs) as an HTML page. */
export const sendPageError: ErrorSender = (_request, reply, err: CoreError) => {
  if (err.code === 'flow_not_found') return sendPage(reply, err.status, expiredLinkPage());
  const s = shown[err.code];
  return sendPage(reply, s.status ?? err.status, messagePage({ title: s.title, message: s.message(err) }));
};

/** The page's answer to a request the HTTP parser refused (no Fastify reply exists yet). */
export function rawPageError(status: number): RawError {
  const [title, message] = status === 431
    ? ['Something is not right', 'Your browser sent more than this page accepts. Close other tabs of this site or clear its cookies, then try again.']
    : status === 408
      ? ['Something is not right', 'The request took too long to arrive. Check your connection and try again.']
      : ['Something is not right', NOT_UNDERSTOOD];
  return {
    contentType: 'text/html; charset=utf-8',
    body: messagePage({ title, message }),
    headers: { 'Content-Security-Policy': PAGE_CSP, 'X-Frame-Options': 'DENY', 'X-Content-Type-Options': 'nosniff' },
  };
}
