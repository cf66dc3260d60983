// How a front end owns its wire format: inside its encapsulated plugin it names one error sender,
// and every error raised by its routes (validation, body parsing, rate limits, bugs) and every
// unknown path under its prefixes is answered by that sender. No URL is matched anywhere else.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CoreError } from '../core/errors.ts';
import { toCoreError } from './errors.ts';

export type ErrorSender = (request: FastifyRequest, reply: FastifyReply, err: CoreError) => FastifyReply;

/** Logs the failure (a 500 with its cause; a refusal briefly), sets Retry-After and Allow, then sends. */
export function answerError(request: FastifyRequest, reply: FastifyReply, error: unknown, send: ErrorSender): FastifyReply {
  const err = toCoreError(error);
  if (err.code === 'server_error') request.log.error({ err: error }, 'request failed');
  else request.log.info({ code: err.code, reason: err.details.logReason }, 'request refused');
  if (err.details.retryAfter !== undefined) reply.header('retry-after', String(err.details.retryAfter));
  if (err.details.allow !== undefined) reply.header('allow', err.details.allow);
  return send(request, reply, err);
}

export function notFoundError(request: FastifyRequest): CoreError {
  return new CoreError('route_not_found', `no such endpoint: ${request.method} ${request.url.split('?')[0] ?? ''}`);
}

/**
 * Makes `scope` answer in `send`'s format: its errors, and unknown paths under each prefix (a
 * prefix may hold parameters, e.g. `/:envId/flows`). Call it once, at the top of a front end's plugin.
 */
export async function ownWireFormat(scope: FastifyInstance, send: ErrorSender, notFoundPrefixes: readonly string[]): Promise<void> {
  scope.setErrorHandler((error, request, reply) => answerError(request, reply, error, send));
  for (const prefix of notFoundPrefixes) {
    await scope.register((child, _opts, done) => {
      child.setNotFoundHandler((request, reply) => answerError(request, reply, notFoundError(request), send));
      done();
    }, { prefix });
  }
}
