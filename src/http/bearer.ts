// Bearer credentials (RFC 6750 §2.1) for the facades: the token comes from the Authorization header
// only (a token in the query string is refused, RFC 6750 §2.3). Authentication runs as a route hook before the
// route's rate limit, so the limit can key on the authenticated subject; a failed authentication
// is limited per source address instead and reported when the handler asks for the principal.
import type { FastifyRequest } from 'fastify';
import { CoreError } from '../core/errors.ts';
import { MAX_TOKEN_LENGTH } from '../crypto/jwt.ts';
import { sourceKey } from './rate-limit.ts';

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** The token of `Authorization: Bearer <token>`, or invalid_token saying what was wrong. */
export function bearerToken(request: FastifyRequest): string {
  const query = request.query as Record<string, unknown> | undefined;
  if (query && Object.hasOwn(query, 'access_token')) {
    throw new CoreError('invalid_token', 'send the token in the Authorization header, never in the URL', { logReason: 'token in the query string' });
  }
  const header = request.headers.authorization;
  if (header === undefined) throw new CoreError('invalid_token', 'an access token is required', { logReason: 'no Authorization header' });
  const token = header.length <= MAX_TOKEN_LENGTH + 16 ? BEARER.exec(header)?.[1] : undefined;
  if (token === undefined) throw new CoreError('invalid_token', 'the Authorization header must be "Bearer <token>"', { logReason: 'not a Bearer header' });
  return token;
}

export interface BearerGuard<P> {
  /** Route hook (onRequest or preHandler): authenticates and remembers the outcome. */
  authenticate: (request: FastifyRequest) => Promise<void>;
  /** Rate-limit key: the authenticated subject, or the source address when authentication failed. */
  rateLimitKey: (request: FastifyRequest) => string;
  /** The authenticated principal, or the authentication error. */
  principal: (request: FastifyRequest) => P;
}

/** `tokenOf` finds the token (the Authorization header by default) or throws why there is none. */
export function bearerGuard<P>(
  authenticate: (token: string, request: FastifyRequest) => Promise<P>,
  subjectOf: (principal: P) => string,
  tokenOf: (request: FastifyRequest) => string = bearerToken,
): BearerGuard<P> {
  const outcomes = new WeakMap<FastifyRequest, { principal: P } | { error: Error }>();
  return {
    authenticate: async (request) => {
      try {
        outcomes.set(request, { principal: await authenticate(tokenOf(request), request) });
      } catch (error) {
        outcomes.set(request, { error: error instanceof Error ? error : new Error(String(error)) });
      }
    },
    rateLimitKey: (request) => {
      const o = outcomes.get(request);
      return o && 'principal' in o ? `sub:${subjectOf(o.principal)}` : `ip:${sourceKey(request)}`;
    },
    principal: (request) => {
      const o = outcomes.get(request);
      if (o && 'principal' in o) return o.principal;
      throw o?.error ?? new CoreError('invalid_token', 'an access token is required');
    },
  };
}
