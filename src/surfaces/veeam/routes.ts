// The Veeam-compatible facade (docs/vendors.md): a password grant for session tokens, and
// getDeviceCode, which starts a device authorization for the environment's account client and
// answers in ADAL's DeviceCodeResult shape. The device code then polls the standard token endpoint.
// Served at /api/… for the default environment and at /{envID}/api/… for every environment.
import formbody from '@fastify/formbody';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CoreError } from '../../core/errors.ts';
import type { IssuedSession } from '../../core/sessions.ts';
import { errorResponses, security } from '../../http/api-doc.ts';
import { bearerGuard } from '../../http/bearer.ts';
import { resolveEnvironment } from '../../http/environment.ts';
import { FORM, requireFormBody } from '../../http/form.ts';
import { methodNotAllowed } from '../../http/methods.ts';
import { envIdParam } from '../../http/params.ts';
import { limitBy, sourceKey } from '../../http/rate-limit.ts';
import { requestContext } from '../../http/request-context.ts';
import { ownWireFormat } from '../../http/wire-format.ts';
import type { User } from '../../model/records.ts';
import type { Services } from '../../services.ts';
import { veeamErrorSender, veeamRawError } from './errors.ts';
import { deviceCodeResponse, problem, sessionTokenBody, sessionTokenResponse } from './schemas.ts';

// The same operations for the default environment and per environment: operationIds of the latter end in InEnvironment.
const variants = [
  { prefix: '/api', params: undefined, suffix: '' },
  { prefix: '/:envId/api', params: z.object({ envId: envIdParam }), suffix: 'InEnvironment' },
] as const;

const asProblem = (description: string) => ({ description, content: { 'application/problem+json': { schema: problem } } });
// Both routes write (a session grant, a device authorization): 503 when that cannot be stored or the database cannot be reached, with Retry-After.
const errors = (says: Parameters<typeof errorResponses>[2]) => errorResponses(asProblem, [400, 401, 404, 405, 413, 415, 429, 503], {
  404: 'not_found: no such environment', 405: 'method_not_allowed: Allow lists the method this path answers', ...says,
});

/** ISO 8601 with microseconds and an explicit offset, as ADAL's DateTimeOffset serialises (Veeam's example). */
export function isoWithOffset(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00');
}

/** One of Veeam's two spellings; both at once must agree. */
function credential(lower: string | undefined, upper: string | undefined, name: string): string {
  if (lower !== undefined && upper !== undefined && lower !== upper) {
    throw new CoreError('invalid_request', `${name} is given twice with different values`);
  }
  const value = lower ?? upper;
  if (value === undefined || value === '') throw new CoreError('invalid_request', `missing required parameter: ${name}`);
  return value;
}

export const veeamPlugin: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  await ownWireFormat(app, veeamErrorSender(services.config.publicUrl), variants.map((v) => v.prefix), veeamRawError);
  await app.register(formbody, { bodyLimit: services.config.bodyLimit });
  const r = app.withTypeProvider<ZodTypeProvider>();
  app.addHook('preHandler', resolveEnvironment(services));
  const limit = services.limits.session;

  // Session tokens are per environment, so the guard runs once the environment is known.
  const guard = bearerGuard<User>((token, request) => services.sessions.authenticate(request.env, request.envUrls, token), (user) => user.id);

  for (const v of variants) {
    const params = v.params ? { params: v.params } : {};

    r.post(`${v.prefix}/oauth2/token`, {
      schema: {
        tags: ['veeam'],
        operationId: `createVeeamSession${v.suffix}`,
        summary: 'Session token: grant_type=Password&Username=…&Password=…, or grant_type=Refresh_token&refresh_token=…',
        consumes: [FORM],
        ...params,
        body: sessionTokenBody,
        response: {
          200: sessionTokenResponse,
          ...errors({
            400: 'invalid_grant (a wrong username or password, an unknown or used refresh token), invalid_request, unsupported_grant_type',
          }),
        },
      },
      onRequest: async (_request, reply) => {
        reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
      },
      config: { rateLimit: limitBy(limit, sourceKey) },
      preValidation: requireFormBody,
      handler: async (request, reply) => {
        const { env, envUrls: urls } = request;
        const body = request.body;
        const grant = body.grant_type?.toLowerCase();
        if (grant === undefined || grant === '') throw new CoreError('invalid_request', 'missing required parameter: grant_type');
        let session: IssuedSession;
        if (grant === 'password') {
          const username = credential(body.username, body.Username, 'username');
          const password = credential(body.password, body.Password, 'password');
          session = await services.sessions.passwordGrant(env, urls, username, password, requestContext(request, services.geoIp));
        } else if (grant === 'refresh_token') {
          session = await services.sessions.refresh(env, urls, credential(body.refresh_token, body.Refresh_token, 'refresh_token'), requestContext(request, services.geoIp));
        } else {
          throw new CoreError('unsupported_grant_type', `grant_type ${body.grant_type?.slice(0, 100) ?? ''} is not supported`);
        }
        reply.type('application/json; charset=utf-8');
        return {
          access_token: session.accessToken,
          token_type: 'Bearer' as const,
          refresh_token: session.refreshToken,
          expires_in: session.expiresIn,
          '.issued': new Date(session.issuedAt).toUTCString(),
          '.expires': new Date(session.expiresAt).toUTCString(),
        };
      },
    });
    methodNotAllowed(app, `${v.prefix}/oauth2/token`, ['POST']);

    r.get(`${v.prefix}/v1/accounts/created/getDeviceCode`, {
      schema: {
        tags: ['veeam'],
        operationId: `getVeeamDeviceCode${v.suffix}`,
        summary: 'Start a device authorization for the environment\'s account client (Veeam getDeviceCode)',
        description: 'Authorization: Bearer <session token>. The device code polls the standard token endpoint with client_id = clientId.',
        security: security(['veeamSession']),
        ...params,
        response: {
          200: deviceCodeResponse,
          ...errors({ 401: 'invalid_token: no session token, or one that is not active (expired, ended, another environment\'s); WWW-Authenticate: Bearer' }),
        },
      },

      // Every call starts a device authorization, so HEAD is not an alias of GET here.
      exposeHeadRoute: false,
      preHandler: guard.authenticate,
      config: { rateLimit: limitBy(limit, guard.rateLimitKey, 'preHandler') },
      handler: async (request, reply) => {
        guard.principal(request);
        const { env, envUrls: urls } = request;
        const client = await services.admin.accountClient(env);
        const started = await services.deviceFlow.start(env, client, undefined, requestContext(request, services.geoIp));
        reply.header('cache-control', 'no-store').header('pragma', 'no-cache').type('application/json; charset=utf-8');
        return {
          userCode: started.userCode,
          deviceCode: started.deviceCode,
          verificationUrl: urls.verificationUri,
          expiresOn: isoWithOffset(started.expiresAt),
          interval: started.interval,
          message: `To sign in, use a web browser to open the page ${urls.verificationUri} and enter the code ${started.userCode} to authenticate.`,
          clientId: client.clientId,
          resource: client.audience ?? urls.issuer,
        };
      },
    });
    methodNotAllowed(app, `${v.prefix}/v1/accounts/created/getDeviceCode`, ['GET']);
  }
};
