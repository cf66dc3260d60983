// Rate limits per canonical caller (docs/architecture.md), on the counters of core/limiter.ts (this process's
// memory) or src/redis/ (shared by every instance, when REDIS_URL is set). Each
// limit is one counter table shared by every route it covers (the root and /{envID}/… paths of
// an environment, the page and the flow API), keyed by what the caller is, not by how it spelled
// the request. A refusal is the closed-set `rate_limited` error, which each front end formats in
// its own shape; every answer of a limited route carries RateLimit-* headers, 429s Retry-After.
import { isIPv6 } from 'node:net';
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { Config } from '../config.ts';
import { CoreError } from '../core/errors.ts';
import type { LimitRule, LimitState, RateLimiter } from '../core/limiter.ts';

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
}

/** Makes the limiter called `name` (a metric label and a key namespace) for `rule`. */
export type LimiterFactory = (name: string, rule: LimitRule) => RateLimiter;

export function createLimits(config: Config, limiter: LimiterFactory): Limits {
  const r = config.rateLimit;
  const per = (name: string, max: number) => limiter(name, { max, windowSeconds: r.windowSeconds });
  return {
    deviceAuthorization: per('device_authorization', r.deviceAuthorization),
    token: per('token', r.token),
    clientAuthFailures: per('client_auth_failures', r.clientAuthFailures),
    discovery: per('discovery', r.discovery),
    verification: per('verification', r.verification),
    session: per('session', r.session),
    adminApi: per('admin_api', r.adminApi),
    deviceRegistration: per('device_registration', r.deviceRegistration),
  };
}

/**
 * The source a limit counts against: the client address (from the socket unless TRUST_PROXY says
 * otherwise), IPv6 addresses grouped by their /64, since one host usually holds a whole /64.
 */
export function sourceKey(request: FastifyRequest): string {
  return sourceGroup(request.ip);
}

export function sourceGroup(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (!isIPv6(ip)) return ip;
  return `${expandIPv6(ip).slice(0, 4).join(':')}::/64`;
}

/** The eight hextets of an IPv6 address, without zone, in lower case without leading zeros. */
function expandIPv6(ip: string): string[] {
  const bare = ip.split('%')[0] ?? ip;
  const [head = '', tail] = bare.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  // An embedded IPv4 tail (::1.2.3.4) is two hextets; it never reaches the /64 prefix we keep.
  const width = (parts: string[]) => parts.reduce((n, p) => n + (p.includes('.') ? 2 : 1), 0);
  const zeros = tail === undefined ? [] : new Array<string>(8 - width(left) - width(right)).fill('0');
  return [...left, ...zeros, ...right].map((h) => (h.includes('.') ? h : h.toLowerCase().replace(/^0+(?=.)/, '')));
}

function setHeaders(reply: FastifyReply, state: LimitState): void {
  reply.header('ratelimit-limit', String(state.limit));
  reply.header('ratelimit-remaining', String(state.remaining));
  reply.header('ratelimit-reset', String(state.resetSeconds));
}

/** Sets the headers of a counted request; refuses with rate_limited past the limit. */
function charge(reply: FastifyReply, state: LimitState): void {
  setHeaders(reply, state);
  if (!state.allowed) throw tooMany(state);
}

/** Counts one request for `key`; sets the headers; refuses with rate_limited past the limit. */
export async function spend(reply: FastifyReply, limiter: RateLimiter, key: string): Promise<void> {
  charge(reply, await limiter.hit(key));
}

/** Refuses with rate_limited when one more hit for `key` would be over the limit, without counting. */
export async function mustHaveBudget(reply: FastifyReply, limiter: RateLimiter, key: string): Promise<void> {
  const state = await limiter.peek(key);
  if (!state.allowed) charge(reply, state);
}

function tooMany(state: LimitState): CoreError {
  return new CoreError('rate_limited', `too many requests; retry after ${state.resetSeconds} seconds`, { retryAfter: state.resetSeconds });
}

/** An onRequest hook limiting every request of a route (or a whole plugin) by `key`: one await per request. */
export function limitBy(limiter: RateLimiter, key: (request: FastifyRequest) => string): onRequestAsyncHookHandler {
  return async (request, reply) => {
    charge(reply, await limiter.hit(key(request)));
  };
}
