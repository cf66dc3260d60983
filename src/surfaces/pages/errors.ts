// How the page answers: every response carries the same security headers (a CSP that admits the
// environment's logo and nothing else, theme.ts), and every error is an HTML page in the page's own
// style and the person's language, never OAuth JSON and never a stack trace.
import type { FastifyReply } from 'fastify';
import type { CoreError, CoreErrorCode, FederationFailure } from '../../core/errors.ts';
import type { ErrorSender, RawError } from '../../http/wire-format.ts';
import { NO_BRANDING } from '../../model/records.ts';
import { pageContext, PLAIN_CONTEXT, type PageContext } from './context.ts';
import { html } from './html.ts';
import type { PlainKey } from './i18n/index.ts';
import { messagePage } from './render.ts';
import { PAGE_CSP, pageCsp } from './theme.ts';

export { PAGE_CSP } from './theme.ts';

export function pageHeaders(reply: FastifyReply, c?: PageContext): FastifyReply {
  return reply
    .header('content-security-policy', pageCsp(c?.brand ?? NO_BRANDING))
    .header('cache-control', 'no-store')
    .header('x-frame-options', 'DENY');
}

/** A rendered page, with the headers of its context (its CSP admits the logo it shows). */
export function sendPage(c: PageContext, reply: FastifyReply, status: number, page: string): FastifyReply {
  return pageHeaders(reply, c).code(status).type('text/html; charset=utf-8').send(page);
}

/** Post/Redirect/Get: 303 so that reloading the result never re-posts the form. */
export function redirectPage(reply: FastifyReply, location: string): FastifyReply {
  return pageHeaders(reply).redirect(location, 303);
}

export function expiredLinkPage(c: PageContext): string {
  const { t } = c;
  return messagePage(c, {
    title: t.text('expired.title'),
    message: t.text('expired.message'),
    next: html`<p>${t.html('error.startAgain', { link: html`<a href="device">${t.text('error.openSignIn')}</a>` })}</p>`,
  });
}

export function forbiddenPage(c: PageContext): string {
  const { t } = c;
  return messagePage(c, { title: t.text('forbidden.title'), message: t.text('forbidden.message'), next: html`<p>${t.text('forbidden.next')}</p>` });
}

/**
 * How the page shows an error: a title and a sentence. `form: true` marks the errors of a person's
 * own input (a wrong password or code, a throttle): the step they were on is shown again with the
 * sentence above the form; any other error gets a page of its own. `status` overrides the code's own.
 */
interface Shown {
  title: PlainKey;
  message: (c: PageContext, err: CoreError) => string;
  form?: true;
  status?: number;
}

const say = (key: PlainKey) => (c: PageContext): string => c.t.text(key);
/** The sentence, then when to try again (a throttle's Retry-After, in words). */
const wait = (key: PlainKey) => (c: PageContext, err: CoreError): string =>
  c.t.text('error.tryAgainIn', { message: c.t.text(key), wait: c.t.wait(err.details.retryAfter ?? 60) });
const notUnderstood: Shown = { title: 'notUnderstood.title', message: say('notUnderstood.message') };

/** What the person is told when a sign-in through their organisation's provider did not complete. */
export function federationMessage(c: PageContext, reason: FederationFailure | undefined): string {
  const key = ((): PlainKey => {
    switch (reason) {
      // access_denied: the person pressed Cancel, or the provider would not let them in; it does not say which.
      case 'cancelled': return 'federation.cancelled';
      case 'denied': return 'federation.denied';
      case 'unknown_provider': return 'federation.unknownProvider';
      case 'stale': return 'federation.stale';
      case 'unreachable': return 'federation.unreachable';
      case 'disabled': return 'accountDisabled.message';
      case 'invalid_response':
      case undefined:
        return 'federation.untrusted';
    }
  })();
  return c.t.text(key);
}

/** "That code is not right", with the attempts left when the engine says how many. */
function wrongCode(c: PageContext, err: CoreError): string {
  const left = err.details.failuresRemaining;
  return left === undefined ? c.t.text('wrongCode.message') : c.t.plural('wrongCode.left', left);
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
  forbidden: { title: 'notAllowed.title', message: say('notAllowed.message') },
  access_denied: { title: 'notAllowed.title', message: say('accountDisabled.message'), form: true },
  not_found: { title: 'notFound.title', message: say('notFound.message') },
  conflict: notUnderstood,
  invalid_credentials: { title: 'signInFailed.title', message: say('signInFailed.message'), form: true },
  sign_in_throttled: { title: 'throttled.title', message: wait('throttled.message'), form: true },
  invalid_user_code: { title: 'wrongCode.title', message: wrongCode, form: true },
  user_code_expired: { title: 'codeExpired.title', message: say('codeExpired.message'), form: true },
  user_code_used: { title: 'codeUsed.title', message: say('codeUsed.message'), form: true },
  too_many_attempts: { title: 'tooMany.title', message: say('tooMany.message'), form: true },
  network_mismatch: { title: 'networkMismatch.title', message: say('networkMismatch.message'), form: true },
  guess_budget_exhausted: { title: 'tooMany.title', message: wait('guessBudget.message'), form: true },
  flow_not_found: { title: 'expired.title', message: say('expired.message') },
  federation_failed: { title: 'federation.title', message: (c, err) => federationMessage(c, err.details.federation) },
  flow_wrong_state: { title: 'answered.title', message: say('answered.message'), status: 409 },
  registration_refused: notUnderstood,
  invalid_registration_code: notUnderstood,
  route_not_found: { title: 'notFound.title', message: say('noPage.message') },
  method_not_allowed: notUnderstood,
  unsupported_media_type: { title: 'notUnderstood.title', message: say('badFormat.message') },
  payload_too_large: { title: 'tooMuch.title', message: say('tooMuch.message') },
  rate_limited: { title: 'rateLimited.title', message: say('rateLimited.message') },
  storage_full: { title: 'later.title', message: say('storageFull.message') },
  limits_unavailable: { title: 'later.title', message: say('limitsUnavailable.message'), form: true },
  database_unavailable: { title: 'later.title', message: say('databaseUnavailable.message') },
  server_error: { title: 'serverError.title', message: say('serverError.message') },
};

/** Whether an error is about the person's own input (the step is shown again with a sentence above its form). */
export function isFormError(err: CoreError): boolean {
  return shown[err.code].form === true;
}

/** The sentence above the form for an error of the person's own input; undefined for any other error. */
export function formMessage(c: PageContext, err: CoreError): string | undefined {
  const s = shown[err.code];
  return s.form === true ? s.message(c, err) : undefined;
}

/** Any error as the page words it: its title and its sentence. */
export function errorWords(c: PageContext, err: CoreError): { title: string; message: string } {
  const s = shown[err.code];
  return { title: c.t.text(s.title), message: s.message(c, err) };
}

/** Errors that reach the error handler (routing, body parsing, rate limits, bugs) as an HTML page. */
export const sendPageError: ErrorSender = (request, reply, err: CoreError) => {
  // Branded when the environment is known by now (resolved before the handler ran), in the person's language.
  const c = pageContext(request, 0);
  if (err.code === 'flow_not_found') return sendPage(c, reply, err.status, expiredLinkPage(c));
  return sendPage(c, reply, shown[err.code].status ?? err.status, messagePage(c, errorWords(c, err)));
};

/** The page's answer to a request the HTTP parser refused (no Fastify reply, nor a language, exists yet). */
export function rawPageError(status: number): RawError {
  const c = PLAIN_CONTEXT;
  const key: PlainKey = status === 431 ? 'raw.tooLarge' : status === 408 ? 'raw.timeout' : 'notUnderstood.message';
  return {
    contentType: 'text/html; charset=utf-8',
    body: messagePage(c, { title: c.t.text('notUnderstood.title'), message: c.t.text(key) }),
    headers: { 'Content-Security-Policy': PAGE_CSP, 'X-Frame-Options': 'DENY', 'X-Content-Type-Options': 'nosniff' },
  };
}
