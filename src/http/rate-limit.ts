// Per-route rate limits (@fastify/rate-limit). Keys are computed after the body is parsed, so OAuth
// routes can limit per client; a hit becomes the closed-set `rate_limited` error, which each
// surface formats in its own shape, with Retry-After and RateLimit-* headers.
import rateLimit, { type RateLimitOptions } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import { CoreError } from '../core/errors.ts';

export async function registerRateLimit(app: FastifyInstance): Promise<void> {
  await app.register(rateLimit, {
    global: false,
    enableDraftSpec: true,
    errorResponseBuilder: (_request, context) => {
      const retryAfter = Math.max(1, Math.ceil(context.ttl / 1000));
      return new CoreError('rate_limited', `too many requests; retry after ${retryAfter} seconds`, { retryAfter });
    },
  });
}

export function rateLimitBy(max: number, windowSeconds: number, key: (request: FastifyRequest) => string): RateLimitOptions {
  return { max, timeWindow: windowSeconds * 1000, keyGenerator: key, hook: 'preValidation' };
}

/** The source address a limit counts against. */
export function sourceKey(request: FastifyRequest): string {
  return request.ip;
}

/** The verification page and the flow API: per source address (SPEC S7). */
export function verificationLimit(config: Config): RateLimitOptions {
  return rateLimitBy(config.rateLimit.verification, config.rateLimit.windowSeconds, sourceKey);
}
