// How the page answers: every response carries the same security headers, and every error is an
// HTML page in the page's own style, never OAuth JSON and never a stack trace.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CoreError, CoreErrorCode } from '../../core/errors.ts';
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

type Shown = [status: number, title: string, message: string];

const GENERIC: Shown = [400, 'Something is not right', 'That request could not be understood. Go back and try again.'];

function shown(err: CoreError): Shown {
  const table: Partial<Record<CoreErrorCode, Shown>> = {
    route_not_found: [404, 'Page not found', 'There is no page at this address.'],
    not_found: [404, 'Page not found', 'That application or page does not exist.'],
    flow_not_found: [404, 'This link has expired', 'This sign-in page has expired or was opened in a different browser.'],
    payload_too_large: [413, 'Too much data', 'The form sent too much data. Go back and try again.'],
    unsupported_media_type: [415, 'Something is not right', 'The form was sent in a format this page does not accept. Go back and try again.'],
    rate_limited: [429, 'Too many requests', 'There have been too many requests from your network. Wait a little, then try again.'],
    access_denied: [403, 'Not allowed', 'This account cannot approve devices.'],
    flow_wrong_state: [409, 'Already answered', 'This request has already been answered. Start again on your device if you need to.'],
    server_error: [500, 'Something went wrong', 'Something went wrong on our side. Please try again in a moment.'],
  };
  if (err.code === 'too_many_attempts') {
    return err.details.retryAfter === undefined
      ? [400, 'Too many wrong codes', 'The code was entered wrongly too many times. Start again on your device.']
      : [429, 'Too many wrong codes', 'Too many wrong codes have been tried from your network. Wait a while, then try again.'];
  }
  return table[err.code] ?? GENERIC;
}

/** Errors that reach the error handler (routing, body parsing, rate limits, bugs) as an HTML page. */
export function sendPageError(_request: FastifyRequest, reply: FastifyReply, err: CoreError): FastifyReply {
  const [status, title, message] = shown(err);
  if (err.code === 'flow_not_found') return sendPage(reply, status, expiredLinkPage());
  return sendPage(reply, status, messagePage({ title, message }));
}
