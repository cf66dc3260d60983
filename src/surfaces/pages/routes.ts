// The verification page (SPEC S3): server-rendered HTML over the flow engine. (Being built.)
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CoreError } from '../../core/errors.ts';
import type { Services } from '../../services.ts';

export function pageRoutes(_app: FastifyInstance, _services: Services): void {
  // GET/POST /signon and /{envId}/signon are added here.
}

/** Errors on the page re-render it with a message; never OAuth JSON or a stack trace. */
export function sendPageError(_request: FastifyRequest, reply: FastifyReply, err: CoreError): FastifyReply {
  return reply.code(err.code === 'route_not_found' || err.code === 'flow_not_found' ? 404 : 400)
    .type('text/html; charset=utf-8').send('<!doctype html><title>Error</title><p>Something went wrong.</p>');
}
