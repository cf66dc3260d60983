// The browser binding of verification flows (docs/protocol.md): a random secret in an HttpOnly cookie. A
// flow stores only its HMAC, so whoever lacks the cookie cannot drive the flow.
//
// Served over https (PUBLIC_URL says so), the cookie is `__Host-dcs_browser`: browsers accept that
// name only with Secure, Path=/ and no Domain, so a sibling subdomain or a plain-http page cannot
// plant or overwrite it (cookie tossing would otherwise fix a victim's browser to an attacker's
// flow). Only the current mode's name is read: in https mode a plain `dcs_browser` is ignored.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export const BROWSER_COOKIE = 'dcs_browser';
export const SECURE_BROWSER_COOKIE = '__Host-dcs_browser';

/** The cookie's name for a server reached at `publicUrl`. */
export function browserCookieName(publicUrl: string): string {
  return publicUrl.startsWith('https:') ? SECURE_BROWSER_COOKIE : BROWSER_COOKIE;
}

// The name per HTTP server: every front end that reads the cookie shares the app's one server
// object (`request.server.server`), whichever encapsulated plugin its route lives in.
const names = new WeakMap<object, string>();

/** Binds the cookie name of this app (call once while building it); unbound apps use `dcs_browser`. */
export function bindBrowserCookie(app: FastifyInstance, publicUrl: string): void {
  names.set(app.server, browserCookieName(publicUrl));
}

function cookieValue(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      return /^[A-Za-z0-9_-]{43}$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}

/** The browser's secret from the cookie of this app's mode, if it carries a well-formed one. */
export function browserSecret(request: FastifyRequest): string | undefined {
  return cookieValue(request, names.get(request.server.server) ?? BROWSER_COOKIE);
}

/** The browser's secret, set as a session cookie when the browser has none yet. */
export function ensureBrowserSecret(request: FastifyRequest, reply: FastifyReply, publicUrl: string): string {
  const name = browserCookieName(publicUrl);
  const existing = cookieValue(request, name);
  if (existing !== undefined) return existing;
  const secret = randomBytes(32).toString('base64url');
  const secure = name === SECURE_BROWSER_COOKIE ? '; Secure' : '';
  // Lax: the cookie rides along when a QR code or link opens the page (a top-level GET). Never a
  // Domain attribute: the cookie belongs to this host only (and __Host- requires it).
  reply.header('set-cookie', `${name}=${secret}; Path=/; HttpOnly; SameSite=Lax${secure}`);
  return secret;
}
