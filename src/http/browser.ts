// The browser binding of verification flows: a random secret in an HttpOnly cookie. A flow stores
// only its HMAC, so whoever lacks the cookie cannot drive the flow.
//
// Served over https (PUBLIC_URL says so), the cookie is `__Host-dcs_browser`: browsers accept that
// name only with Secure, Path=/ and no Domain, so a sibling subdomain or a plain-http page cannot
// plant or overwrite it (cookie tossing would otherwise fix a victim's browser to an attacker's
// flow). Only the current mode's name is read: in https mode a plain `dcs_browser` is ignored.
//
// The front ends a browser talks to (the page and the flow API) are registered by buildApp inside
// `browserFacing`, which parses cookies with @fastify/cookie and names the cookie once; the other
// front ends (device polls above all) never parse a cookie.
import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { randomBytesPooled } from '../crypto/random.ts';

export const BROWSER_COOKIE = 'dcs_browser';
export const SECURE_BROWSER_COOKIE = '__Host-dcs_browser';

declare module 'fastify' {
  interface FastifyInstance {
    /** The browser-binding cookie's name (decorated once, by `browserFacing`). */
    browserCookie: string;
  }
}

/** The cookie's name for a server reached at `publicUrl`. */
export function browserCookieName(publicUrl: string): string {
  return publicUrl.startsWith('https:') ? SECURE_BROWSER_COOKIE : BROWSER_COOKIE;
}

/** A well-formed secret: 32 random bytes in base64url. */
const SECRET = /^[A-Za-z0-9_-]{43}$/;

/**
 * Registers `plugins` (the page and the flow API) in one scope that parses cookies and knows the
 * cookie's name for `publicUrl`: they share the binding, and nothing else pays for parsing.
 */
export function browserFacing(publicUrl: string, plugins: (scope: FastifyInstance) => Promise<void>): FastifyPluginAsync {
  return async (scope) => {
    await scope.register(cookie);
    scope.decorate('browserCookie', browserCookieName(publicUrl));
    await plugins(scope);
  };
}

/** The browser's secret from the cookie of this app's mode, if it carries a well-formed one. */
export function browserSecret(request: FastifyRequest): string | undefined {
  const value = request.cookies[request.server.browserCookie];
  return value !== undefined && SECRET.test(value) ? value : undefined;
}

/** The browser's secret, set as a session cookie when the browser has none yet. */
export function ensureBrowserSecret(request: FastifyRequest, reply: FastifyReply): string {
  const existing = browserSecret(request);
  if (existing !== undefined) return existing;
  const secret = randomBytesPooled(32).toString('base64url');
  const name = request.server.browserCookie;
  // Lax: the cookie rides along when a QR code or link opens the page (a top-level GET). Never a
  // Domain attribute: the cookie belongs to this host only (and __Host- requires it).
  reply.setCookie(name, secret, { path: '/', httpOnly: true, sameSite: 'lax', secure: name === SECURE_BROWSER_COOKIE });
  return secret;
}
