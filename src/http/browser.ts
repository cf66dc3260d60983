// The browser binding of verification flows (SPEC S4): a random secret in an HttpOnly cookie. A
// flow stores only its HMAC, so whoever lacks the cookie cannot drive the flow.
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

export const BROWSER_COOKIE = 'dcs_browser';

export function browserSecret(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === BROWSER_COOKIE) {
      const value = part.slice(eq + 1).trim();
      return /^[A-Za-z0-9_-]{43}$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}

/** The browser's secret, set as a session cookie when the browser has none yet. */
export function ensureBrowserSecret(request: FastifyRequest, reply: FastifyReply, publicUrl: string): string {
  const existing = browserSecret(request);
  if (existing !== undefined) return existing;
  const secret = randomBytes(32).toString('base64url');
  const secure = publicUrl.startsWith('https:') ? '; Secure' : '';
  // Lax: the cookie rides along when a QR code or link opens the page (a top-level GET).
  reply.header('set-cookie', `${BROWSER_COOKIE}=${secret}; Path=/; HttpOnly; SameSite=Lax${secure}`);
  return secret;
}
