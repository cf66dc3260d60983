// RFC 7009 revocation and RFC 7662 introspection, at /oauth/revoke and /oauth/introspect (and per
// environment under /{envID}/as/). Clients authenticate as at the token endpoint, on its budget.
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CoreError } from '../../core/errors.ts';
import { FORM, requireFormBody } from '../../http/form.ts';
import type { Services } from '../../services.ts';
import { callerLimit, callerOf } from './caller.ts';
import { envParams, formParam, oauthErrorResponses } from './schemas.ts';

const tokenStatusBody = z.object({
  token: formParam.optional().describe('The refresh token (rt_…) or access token'),
  token_type_hint: formParam.optional().describe('refresh_token or access_token; a hint only'),
  client_id: formParam.optional(),
  client_secret: formParam.optional(),
});

const introspection = z
  .object({
    active: z.boolean(),
    token_type: z.string().optional(),
    client_id: z.string().optional(),
    scope: z.string().optional(),
    sub: z.string().optional(),
    username: z.string().optional(),
    iat: z.number().int().optional(),
    exp: z.number().int().optional(),
    iss: z.string().optional(),
    aud: z.array(z.string()).optional(),
    jti: z.string().optional(),
  })
  .meta({ id: 'Introspection' });

function noStore(_request: FastifyRequest, reply: FastifyReply): Promise<void> {
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
  return Promise.resolve();
}

/** `authenticate`: the token endpoint's caller hook: revocation and introspection share its request limit. */
export function tokenStatusRoutes(
  app: FastifyInstance, services: Services, v: { prefix: string; tag: string; params: boolean; authenticate: preHandlerAsyncHookHandler },
): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const errors = { 400: oauthErrorResponses[400], 401: oauthErrorResponses[401], 404: oauthErrorResponses[404], 413: oauthErrorResponses[413], 415: oauthErrorResponses[415], 429: oauthErrorResponses[429], 503: oauthErrorResponses[503] };
  const present = (token: string | undefined): string => {
    if (token === undefined || token === '') throw new CoreError('invalid_request', 'missing required parameter: token');
    return token;
  };

  r.post(`${v.prefix}/revoke`, {
    schema: {
      tags: [v.tag],
      summary: 'Token revocation (RFC 7009): a refresh token ends its grant; an access token is refused until it expires',
      consumes: [FORM],
      ...(v.params ? { params: envParams } : {}),
      body: tokenStatusBody,
      // type null: no body at all (OpenAPI: no content).
      response: { 200: z.void().meta({ type: 'null', description: 'Always 200 with an empty body, whether or not the token was known (RFC 7009 §2.2)' }), ...errors },
    },
    onRequest: noStore,
    preValidation: requireFormBody,
    preHandler: v.authenticate,
    config: { rateLimit: callerLimit(services.limits.token) },
    handler: async (request, reply) => {
      const env = request.env;
      await services.tokenStatus.revoke(env, callerOf(request), present(request.body.token), services.urls.issuers(env));
      return reply.code(200).send();
    },
  });

  r.post(`${v.prefix}/introspect`, {
    schema: {
      tags: [v.tag],
      summary: 'Token introspection (RFC 7662), for confidential clients (resource servers)',
      consumes: [FORM],
      ...(v.params ? { params: envParams } : {}),
      body: tokenStatusBody,
      response: { 200: introspection, ...errors },
    },
    onRequest: noStore,
    preValidation: requireFormBody,
    preHandler: v.authenticate,
    config: { rateLimit: callerLimit(services.limits.token) },
    handler: async (request) => {
      const env = request.env;
      return services.tokenStatus.introspect(env, callerOf(request), present(request.body.token), services.urls.issuers(env));
    },
  });
}
