// Other methods on a path a front end serves: 405 with Allow (RFC 9110 §15.5.6), refused in
// onRequest, before any body is read, and formatted by the front end's own error sender.
import type { FastifyInstance } from 'fastify';
import { CoreError } from '../core/errors.ts';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

export function methodNotAllowed(app: FastifyInstance, url: string, allow: readonly string[]): void {
  app.route({
    method: METHODS.filter((m) => !allow.includes(m)),
    url,
    schema: { hide: true },
    onRequest: (_request, _reply, done) => {
      done(new CoreError('method_not_allowed', `use ${allow.join(' or ')}`, { allow: allow.join(', ') }));
    },
    handler: () => undefined,
  });
}
