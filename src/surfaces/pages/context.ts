// What every page step is rendered with: the person's language (i18n/), the environment's branding
// (theme.ts), the address the language links keep, and the clock relative times count from.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { knownEnvironment } from '../../http/environment.ts';
import { text } from '../../http/params.ts';
import { NO_BRANDING, type Branding } from '../../model/records.ts';
import { ENGLISH, LANGUAGE_COOKIE, languageOf, negotiate, type Translator } from './i18n/index.ts';

export interface PageContext {
  t: Translator;
  brand: Branding;
  /**
   * The query of the current step's address (GET), without `lang`: each language link is this
   * query plus its `lang`, relative to the page, so switching keeps the step (a form's answer
   * links to its step's GET).
   */
  here: URLSearchParams;
  /** When the page is made, by the engine's clock: "2 minutes ago" counts from it. */
  now: number;
}

/** The language links' parameter: a language the page speaks is used and remembered (a cookie); any other is ignored. */
export const langQuery = text(35).optional().describe('the page\'s language: en, de, fr, es or ja (remembered in a cookie; others are ignored)');

/** The query parameters of the page's own addresses that a language link keeps. */
const KEPT = ['flowId', 'user_code', 'view', 'signedOut', 'confirm', 'idp'] as const;
/** What a form posts that names its step's address. */
const POSTED = ['flowId', 'view'] as const;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function hereOf(request: FastifyRequest): URLSearchParams {
  const here = new URLSearchParams();
  const source = (request.method === 'GET' ? request.query : request.body) as Record<string, unknown> | null | undefined;
  if (typeof source !== 'object' || source === null) return here;
  for (const name of request.method === 'GET' ? KEPT : POSTED) {
    const value = str(source[name]);
    if (value !== undefined && value !== '') here.set(name, value);
  }
  return here;
}

/** The language a request asked for with the page's `lang` parameter, if the page speaks it. */
export function requestedLanguage(request: FastifyRequest): string | undefined {
  const lang = str((request.query as Record<string, unknown> | undefined)?.lang);
  return lang === undefined ? undefined : languageOf(lang);
}

export function pageContext(request: FastifyRequest, now: number): PageContext {
  const cookies = (request as { cookies?: Record<string, string | undefined> }).cookies;
  const t = negotiate({
    query: requestedLanguage(request), cookie: cookies?.[LANGUAGE_COOKIE], acceptLanguage: str(request.headers['accept-language']),
  });
  return { t, brand: knownEnvironment(request)?.branding ?? NO_BRANDING, here: hereOf(request), now };
}

/** For answers made before any request could be read (the HTTP parser refused it): English, unbranded. */
export const PLAIN_CONTEXT: PageContext = { t: ENGLISH, brand: NO_BRANDING, here: new URLSearchParams(), now: 0 };

/** Remembers a language chosen with a language link for the next steps (a year; it names no one). */
export function rememberLanguage(request: FastifyRequest, reply: FastifyReply, secure: boolean): void {
  const lang = requestedLanguage(request);
  if (lang === undefined) return;
  reply.setCookie(LANGUAGE_COOKIE, lang, { path: '/', httpOnly: true, sameSite: 'lax', secure, maxAge: 365 * 24 * 3600 });
}
