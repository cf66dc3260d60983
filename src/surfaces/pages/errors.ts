// How the page answers: every response carries the same security headers, and every error is an
// HTML page in the page's own style, never OAuth JSON and never a stack trace.
import type { FastifyReply } from 'fastify';
import type { CoreError, CoreErrorCode } from '../../core/errors.ts';
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

type Shown = [title: string, message: string, status?: number];

const GENERIC: Shown = ['Something is not right', 'That request could not be understood. Go back and try again.'];

const table: Partial<Record<CoreErrorCode, Shown>> = {
  route_not_found: ['Page not found', 'There is no page at this address.'],
  not_found: ['Page not found', 'That application or page does not exist.'],
  flow_not_found: ['This link has expired', 'This sign-in page has expired or was opened in a different browser.'],
  payload_too_large: ['Too much data', 'The form sent too much data. Go back and try again.'],
  unsupported_media_type: ['Something is not right', 'The form was sent in a format this page does not accept. Go back and try again.'],
  rate_limited: ['Too many requests', 'There have been too many requests from your network. Wait a little, then try again.'],
  access_denied: ['Not allowed', 'This account cannot approve devices.'],
  flow_wrong_state: ['Already answered', 'This request has already been answered. Start again on your device if you need to.', 409],
  too_many_attempts: ['Too many wrong codes', 'The code was entered wrongly too many times. Start again on your device.'],
  sign_in_throttled: ['Too many sign-in attempts', 'There have been too many failed sign-ins for this account. Wait a while, then try again.'],
  guess_budget_exhausted: ['Too many wrong codes', 'Too many wrong codes have been tried from your network. Wait a while, then try again.'],
  storage_full: ['Please try again later', 'This could not be saved just now, so nothing was changed. Wait a little, then try again.'],
  limits_unavailable: ['Please try again later', 'Codes cannot be checked just now, so nothing was changed. Wait a few seconds, then try again.'],
  server_error: ['Something went wrong', 'Something went wrong on our side. Please try again in a moment.'],
};

/** Errors that reach the error handler (routing, body parsing, rate limits, bugs) as an HTML page. */
export const sendPageError: ErrorSender = (_request, reply, err: CoreError) => {
  const [title, message, status] = table[err.code] ?? GENERIC;
  if (err.code === 'flow_not_found') return sendPage(reply, err.status, expiredLinkPage());
  return sendPage(reply, status ?? err.status, messagePage({ title, message }));
};

/** The page's answer to a request the HTTP parser refused (no Fastify reply exists yet). */
export function rawPageError(status: number): RawError {
  const [title, message] = status === 431
    ? ['Something is not right', 'Your browser sent more than this page accepts. Close other tabs of this site or clear its cookies, then try again.']
    : status === 408
      ? ['Something is not right', 'The request took too long to arrive. Check your connection and try again.']
      : GENERIC;
  return {
    contentType: 'text/html; charset=utf-8',
    body: messagePage({ title, message }),
    headers: { 'Content-Security-Policy': PAGE_CSP, 'X-Frame-Options': 'DENY', 'X-Content-Type-Options': 'nosniff' },
  };
}
