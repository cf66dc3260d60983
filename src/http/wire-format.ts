// How a front end owns its wire format: inside its encapsulated plugin it names one error sender,
// and every error raised by its routes (validation, body parsing, rate limits, bugs) and every
// unknown path under its prefixes is answered by that sender. The prefixes are also recorded as
// the front end's claim on the URL space, so answers that come before routing (a malformed URL, a
// request the HTTP parser refused) can still be given in the shape of the front end they were for.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CoreError } from '../core/errors.ts';
import { toCoreError } from './errors.ts';
import { noteRefusal } from './logging.ts';

export type ErrorSender = (request: FastifyRequest, reply: FastifyReply, err: CoreError) => FastifyReply;

/** An answer written straight to a socket, for requests the HTTP parser refused. */
export interface RawError {
  contentType: string;
  body: string;
  headers?: Readonly<Record<string, string>>;
}
/** `path`: the request's path as far as the parser saw it (no query). */
export type RawErrorRenderer = (status: number, description: string, path: string) => RawError;

export interface WireFormat {
  send: ErrorSender;
  raw?: RawErrorRenderer;
}

/** The front ends' claims on the URL space: prefixes (with `:param` segments) and their formats. */
export class WireFormats {
  readonly #claims: { segments: string[]; format: WireFormat }[] = [];
  /** The server's native format, for paths no front end claims. */
  readonly #native: ErrorSender;

  constructor(native: ErrorSender) {
    this.#native = native;
  }

  claim(prefix: string, format: WireFormat): void {
    this.#claims.push({ segments: prefix.split('/').filter(Boolean), format });
  }

  /** The format of the longest prefix that `url` falls under, if a front end claims it. */
  find(url: string): WireFormat | undefined {
    const path = (url.split('?')[0] ?? '').split('/').filter(Boolean);
    let best: { segments: string[]; format: WireFormat } | undefined;
    for (const c of this.#claims) {
      const fits = c.segments.length <= path.length && c.segments.every((s, i) => s.startsWith(':') || s === path[i]);
      if (fits && (best === undefined || c.segments.length > best.segments.length)) best = c;
    }
    return best?.format;
  }

  /** How errors on `url` are answered when no route took it: its longest claim, else natively. */
  sender(url: string): ErrorSender {
    return this.find(url)?.send ?? this.#native;
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Decorated once on the root instance by buildApp. */
    wireFormats: WireFormats;
  }
}

/** Logs the failure (a 500 with its cause; a refusal on the request's line), sets Retry-After and Allow, then sends. */
export function answerError(request: FastifyRequest, reply: FastifyReply, error: unknown, send: ErrorSender): FastifyReply {
  const err = toCoreError(error);
  // A full disk or an unreachable Redis or database is the operator's to fix, so it is logged as loudly as a bug.
  if (err.code === 'server_error' || err.code === 'storage_full' || err.code === 'limits_unavailable' || err.code === 'database_unavailable') {
    request.log.error({ err: error }, 'request failed');
  }
  else noteRefusal(request, { code: err.code, reason: err.details.logReason });
  if (err.details.retryAfter !== undefined) reply.header('retry-after', String(err.details.retryAfter));
  if (err.details.allow !== undefined) reply.header('allow', err.details.allow);
  return send(request, reply, err);
}

export function notFoundError(request: FastifyRequest): CoreError {
  return new CoreError('route_not_found', `no such endpoint: ${request.method} ${request.url.split('?')[0] ?? ''}`);
}

/**
 * Makes `scope` answer in `send`'s format: its errors, and unknown paths under each prefix (a
 * prefix may hold parameters, e.g. `/:envId/flows`). `raw` renders refusals of the HTTP parser
 * on those prefixes (the server's native format otherwise). Call it once, at the top of a front
 * end's plugin.
 */
export async function ownWireFormat(scope: FastifyInstance, send: ErrorSender, prefixes: readonly string[], raw?: RawErrorRenderer): Promise<void> {
  // A request no route took is answered by the longest claim on its path, as before routing: Fastify
  // would pick a static prefix over a longer one with a parameter (`/api` over `/:envId/as` for
  // `/api/as/nothing`), and a malformed URL under the same prefix would get another shape.
  const unrouted = (request: FastifyRequest) => scope.wireFormats.sender(request.url);
  scope.setErrorHandler((error, request, reply) => answerError(request, reply, error, request.is404 ? unrouted(request) : send));
  for (const prefix of prefixes) {
    scope.wireFormats.claim(prefix, raw === undefined ? { send } : { send, raw });
    await scope.register((child, _opts, done) => {
      child.setNotFoundHandler((request, reply) => answerError(request, reply, notFoundError(request), unrouted(request)));
      done();
    }, { prefix });
  }
}
