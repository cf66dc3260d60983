// Rate limits per canonical caller, on the counters of core/limiter.ts (this process's memory) or
// src/redis/ (shared by every instance, when REDIS_URL is set).
//
// Request-rate limits go through @fastify/rate-limit, registered once by buildApp: a route names its
// limit in `config.rateLimit` (`limitBy`), with a `keyGenerator` that returns what the caller is
// (the source address, the bearer subject, the authenticated client), at `onRequest`, or at
// `preHandler` where the caller is only known after the body is parsed. The plugin's store is a
// thin adapter over our counters (`LimiterStore`): bounded, unflushable, shared through Redis.
// Each limit is one counter table shared by every route it covers (the root and /{envID}/… paths
// of an environment, the page and the flow API), keyed by what the caller is, not by how it
// spelled the request. A refusal is the closed-set `rate_limited` error, which each front end's
// error handler renders in its own shape; every answer of a limited route carries RateLimit-*
// headers, 429s Retry-After.
//
// The budgets that are taken before costly work and given back when it went well (failed client
// authentications, wrong passwords per account, wrong codes) are engine code, not request rates:
// `reserve` and `mustHaveBudget` below refuse in the same shape.
import rateLimitPlugin, { type FastifyRateLimitStore, type RateLimitOptions } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import { CoreError } from '../core/errors.ts';
import type { LimitRule, LimitState, RateLimiter } from '../core/limiter.ts';
import { networkKey } from '../core/networks.ts';

/** Every limit of the HTTP front ends, one counter table each. */
export interface Limits {
  deviceAuthorization: RateLimiter;
  token: RateLimiter;
  /** Requests naming an unknown client or failing client authentication, per source, checked before any secret is hashed. */
  clientAuthFailures: RateLimiter;
  discovery: RateLimiter;
  /** The page and the flow API together, per source. */
  verification: RateLimiter;
  session: RateLimiter;
  adminApi: RateLimiter;
  deviceRegistration: RateLimiter;
  userInfo: RateLimiter;
}

/** Makes the limiter called `name` (a metric label and a key namespace) for `rule`. */
export type LimiterFactory = (name: string, rule: LimitRule) => RateLimiter;

export function createLimits(config: Config, limiter: LimiterFactory): Limits {
  const r = config.rateLimit;
  const per = (name: string, max: number) => limiter(name, { max, windowSeconds: r.windowSeconds, name });
  return {
    deviceAuthorization: per('device_authorization', r.deviceAuthorization),
    token: per('token', r.token),
    clientAuthFailures: per('client_auth_failures', r.clientAuthFailures),
    discovery: per('discovery', r.discovery),
    verification: per('verification', r.verification),
    session: per('session', r.session),
    adminApi: per('admin_api', r.adminApi),
    deviceRegistration: per('device_registration', r.deviceRegistration),
    userInfo: per('userinfo', r.userInfo),
  };
}

/**
 * The source a limit counts against: the client address (from the socket unless TRUST_PROXY says
 * otherwise), IPv6 addresses grouped by their /64, since one host usually holds a whole /64.
 */
export function sourceKey(request: FastifyRequest): string {
  return sourceGroup(request.ip);
}

/** The network key of an address (src/core/networks.ts): IPv6 by its /64. */
export function sourceGroup(ip: string): string {
  return networkKey(ip);
}

function setHeaders(reply: FastifyReply, state: LimitState): void {
  reply.header('ratelimit-limit', String(state.limit));
  reply.header('ratelimit-remaining', String(state.remaining));
  reply.header('ratelimit-reset', String(state.resetSeconds));
}

function tooMany(resetSeconds: number): CoreError {
  return new CoreError('rate_limited', `too many requests; retry after ${resetSeconds} seconds`, { retryAfter: resetSeconds });
}

/** Refuses with rate_limited, with the headers of the spent budget. */
function refuse(reply: FastifyReply, state: LimitState): never {
  setHeaders(reply, state);
  throw tooMany(state.resetSeconds);
}

/**
 * Takes one hit of a budget for `key` before costly work, refusing with rate_limited (and the
 * headers) when it was already spent; the work gives it back (`limiter.refund`) when it went well.
 * The answer's headers stay the request limit's: a budget of failures is not the caller's rate.
 */
export async function reserve(reply: FastifyReply, limiter: RateLimiter, key: string): Promise<void> {
  const state = await limiter.take(key);
  if (!state.allowed) refuse(reply, state);
}

/** Refuses with rate_limited when one more hit for `key` would be over the limit, without counting. */
export async function mustHaveBudget(reply: FastifyReply, limiter: RateLimiter, key: string): Promise<void> {
  const state = await limiter.peek(key);
  if (!state.allowed) refuse(reply, state);
}

/** A route's request limit as @fastify/rate-limit route config; the store reads `limiter`. */
export type RouteLimit = RateLimitOptions & { limiter: RateLimiter };

/**
 * `config.rateLimit` for a route limited by `limiter`, per `key(request)`: at `onRequest` by
 * default; at `preHandler` when the key is only known after the body is parsed (its hooks run
 * after the route's own preHandlers, so an authenticated caller is known by then).
 */
export function limitBy(limiter: RateLimiter, key: (request: FastifyRequest) => string, hook: 'onRequest' | 'preHandler' = 'onRequest'): RouteLimit {
  return {
    limiter, keyGenerator: key, hook, max: limiter.rule.max, timeWindow: limiter.rule.windowSeconds * 1000,
    onExceeded: (request, caller) => { request.server.rateLimited(request, limiter, caller); },
  };
}

/** Hears of every refusal of a request limit (the audit trail's limit.exhausted, sampled there). */
export type RateLimitedListener = (request: FastifyRequest, limiter: RateLimiter, caller: string) => void;

declare module 'fastify' {
  interface FastifyInstance {
    rateLimited: RateLimitedListener;
  }
}

/** @fastify/rate-limit's store over one of our limiters (each route's child gets its limit's). */
class LimiterStore implements FastifyRateLimitStore {
  readonly #limiter: RateLimiter | undefined;

  constructor(options: object) {
    this.#limiter = 'limiter' in options ? options.limiter as RateLimiter : undefined;
  }

  child(routeOptions: object): FastifyRateLimitStore {
    return new LimiterStore(routeOptions);
  }

  incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void): void {
    const limiter = this.#limiter;
    if (limiter === undefined) {
      callback(new Error('a rate-limited route must name its limiter (limitBy)'));
      return;
    }
    limiter.hit(key).then((state) => {
      // The plugin derives remaining (max - current) and refusal (current > max) from the count.
      callback(null, { current: state.allowed ? state.limit - state.remaining : state.limit + 1, ttl: state.resetSeconds * 1000 });
    }, (err: unknown) => { callback(err instanceof Error ? err : new Error(String(err))); });
  }
}

/**
 * Registers @fastify/rate-limit on the app (once, in buildApp): only routes that name a limit are
 * limited; headers as the RateLimit header fields draft names them; a refusal is the closed-set
 * rate_limited error, which the error handler of the route's front end renders in its shape.
 */
export async function registerRateLimits(app: FastifyInstance, onLimited: RateLimitedListener = () => undefined): Promise<void> {
  app.decorate('rateLimited', onLimited);
  await app.register(rateLimitPlugin, {
    global: false,
    enableDraftSpec: true,
    store: LimiterStore,
    errorResponseBuilder: (_request, context) => tooMany(Math.max(1, Math.ceil(context.ttl / 1000))),
  });
}
