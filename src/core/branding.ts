// An environment's branding on the verification page (README "Branding and languages"): its name,
// logo, colour and support link, each checked here once before it is stored. URLs follow the rule
// of the product's other URLs: https, plain http on loopback only, no credentials. A logo's host
// must also be one the page's Content-Security-Policy can name (letters, digits, dots, dashes):
// URL parsers keep characters such as `;` or `'` in a hostname, which would change the header.
import type { Branding } from '../model/records.ts';
import { CoreError } from './errors.ts';
import { checkDisplayName, isLoopback, printable } from './identity-providers.ts';

/** What `env update` changes: each given value replaces the stored one; an empty string clears it. */
export interface BrandingUpdate {
  displayName?: string;
  logoUrl?: string;
  primaryColor?: string;
  supportUrl?: string;
}

const URL_MAX = 2048;
const CONTROL = /\p{Cc}/u;
/** A host a CSP source expression can hold (RFC 3986 reg-name without the characters CSP gives meaning). */
const CSP_HOST = /^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/;
const COLOR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/;

/** The branding after `update`: what is not given stays, an empty string clears. */
export function applyBranding(current: Branding, update: BrandingUpdate): Branding {
  const next = (given: string | undefined, now: string | null, check: (v: string) => string): string | null =>
    given === undefined ? now : given.trim() === '' ? null : check(given);
  return {
    displayName: next(update.displayName, current.displayName, checkDisplayName),
    logoUrl: next(update.logoUrl, current.logoUrl, (v) => checkPageUrl('logo URL', 'logo_url', v)),
    primaryColor: next(update.primaryColor, current.primaryColor, checkColor),
    supportUrl: next(update.supportUrl, current.supportUrl, (v) => checkPageUrl('support URL', 'support_url', v)),
  };
}

/** `#rgb` or `#rrggbb` (any case), stored in lowercase. */
export function checkColor(input: string): string {
  const color = input.trim().toLowerCase();
  if (!COLOR.test(color)) {
    throw new CoreError('invalid_request', `primary colour: #rgb or #rrggbb (hex digits), got "${printable(input)}"`, { target: 'primary_color' });
  }
  return color;
}

/** An absolute https URL (http to loopback only), without credentials, as the URL parser writes it. */
export function checkPageUrl(what: string, target: string, input: string): string {
  const value = input.trim();
  const refuse = (why: string) => new CoreError('invalid_request', `${what}: ${why}`, { target });
  if (value.length > URL_MAX) throw refuse(`at most ${URL_MAX} characters`);
  if (CONTROL.test(value) || !URL.canParse(value)) throw refuse(`"${printable(value)}" is not an absolute URL`);
  const url = new URL(value);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw refuse(`must be an https URL, got ${printable(url.protocol)}`);
  if (url.protocol === 'http:' && !isLoopback(url)) {
    throw refuse(`${printable(url.origin)} is plain http to another machine; use https (http only on loopback: localhost, 127.0.0.0/8)`);
  }
  if (url.username !== '' || url.password !== '') throw refuse('must not contain credentials');
  if (!CSP_HOST.test(url.hostname)) throw refuse(`the host "${printable(url.hostname)}" must be a name or IPv4 address (letters, digits, dots, dashes)`);
  return url.href;
}
