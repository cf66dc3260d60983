// RFC 8628 device authorization, the token endpoint, discovery metadata and JWKS, served at the
// root for the default environment and under /{envID}/as/ for every environment.
import formbody from '@fastify/formbody';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { TOKEN_ENDPOINT_AUTH_METHODS } from '../../core/client-auth.ts';
import { OFFLINE_ACCESS } from '../../core/grants.ts';
import { CoreError } from '../../core/errors.ts';
import { ACR_VALUES_SUPPORTED, CLAIMS_SUPPORTED, OPENID } from '../../core/identity.ts';
import { KEY_ALGS } from '../../crypto/keys.ts';
import { security } from '../../http/api-doc.ts';
import { requireFormBody, FORM } from '../../http/form.ts';
import { resolveEnvironment } from '../../http/environment.ts';
import { limitBy, sourceKey } from '../../http/rate-limit.ts';
import { requestContext } from '../../http/request-context.ts';
import { ownWireFormat } from '../../http/wire-format.ts';
import { DEVICE_CODE_GRANT } from '../../model/records.ts';
import type { Services } from '../../services.ts';
import { authenticateCaller, callerLimit, callerOf, decorateCaller } from './caller.ts';
import { GRANT_TYPES_SUPPORTED, grantHandler } from './grant-types.ts';
import { tokenStatusRoutes } from './token-status.ts';
import { userInfoRoutes } from './userinfo.ts';
import { oauthErrorSender } from './errors.ts';
import {
  CLIENT_ERRORS, deviceAuthorizationBody, deviceAuthorizationResponse, envParams, jwksResponse, metadataResponse,
  oauthErrorResponses, openIdConfigurationResponse, tokenBody, tokenResponse,
} from './schemas.ts';

/** RFC 6749 §5.1: token and device responses must not be cached, errors included. */
function noStore(_request: FastifyRequest, reply: FastifyReply): Promise<void> {
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
  return Promise.resolve();
}

// The same operations for the default environment and per environment: operationIds of the latter end in InEnvironment.
const variants = [
  { prefix: '/oauth', params: undefined, suffix: '' },
  { prefix: '/:envId/as', params: envParams, suffix: 'InEnvironment' },
] as const;

/** Public clients send client_id alone; confidential ones authenticate with Basic or client_secret_post. */
const clientAuth = () => security(['clientBasic'], { optional: true });

export const oauthPlugin: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  await ownWireFormat(app, oauthErrorSender(services.config.publicUrl), ['/oauth', '/:envId/as', '/.well-known']);
  await app.register(formbody, { bodyLimit: services.config.bodyLimit });
  app.addHook('preHandler', resolveEnvironment(services));
  decorateCaller(app);
  const r = app.withTypeProvider<ZodTypeProvider>();
  const limits = services.limits;
  const authenticateForDeviceAuthorization = authenticateCaller(services, limits.deviceAuthorization);
  const authenticateForToken = authenticateCaller(services, limits.token);

  for (const v of variants) {
    r.post(`${v.prefix}/device_authorization`, {
      schema: {
        tags: ['oauth'],
        operationId: `requestDeviceAuthorization${v.suffix}`,
        summary: 'Device authorization request (RFC 8628 §3.1)',
        security: clientAuth(),
        consumes: [FORM],
        ...(v.params ? { params: v.params } : {}),
        body: deviceAuthorizationBody,
        response: {
          200: deviceAuthorizationResponse,
          ...oauthErrorResponses([400, 401, 403, 404, 413, 415, 429, 503], {
            ...CLIENT_ERRORS,
            400: 'invalid_request (an unknown client_id says so), invalid_scope (a scope the client may not ask for; offline_access '
              + 'without refresh tokens names the fix), unauthorized_client (not a device client, or not from the device\'s network: README "Device policy")',
          }),
        },
      },
      onRequest: noStore,
      preValidation: requireFormBody,
      preHandler: authenticateForDeviceAuthorization,
      config: { rateLimit: callerLimit(limits.deviceAuthorization) },
      handler: async (request) => {
        // Where the request came from: shown on the consent screen (RFC 8628 §5.4); its address is
        // also judged against the client's device networks (README "Device policy").
        const started = await services.deviceFlow.start(request.env, callerOf(request), request.body.scope, requestContext(request, services.geoIp));
        const { verificationUri } = request.envUrls;
        return {
          device_code: started.deviceCode,
          user_code: started.userCode,
          verification_uri: verificationUri,
          verification_uri_complete: `${verificationUri}?user_code=${encodeURIComponent(started.userCode)}`,
          expires_in: started.expiresIn,
          interval: started.interval,
        };
      },
    });

    r.post(`${v.prefix}/token`, {
      schema: {
        tags: ['oauth'],
        operationId: `requestToken${v.suffix}`,
        summary: 'Token request: device_code polling (RFC 8628 §3.4) and refresh_token (RFC 6749 §6)',
        security: clientAuth(),
        consumes: [FORM],
        ...(v.params ? { params: v.params } : {}),
        body: tokenBody,
        response: {
          200: tokenResponse,
          ...oauthErrorResponses([400, 401, 403, 404, 413, 415, 429, 503], {
            ...CLIENT_ERRORS,
            400: 'While polling (RFC 8628 §3.5): authorization_pending (poll again after interval), slow_down (add 5 seconds to the interval), '
              + 'access_denied (the person denied), expired_token (start again); and invalid_grant, invalid_request, invalid_scope, '
              + 'unsupported_grant_type (RFC 6749 §5.2)',
          }),
        },
      },
      onRequest: noStore,
      preValidation: requireFormBody,
      preHandler: [
        // The grant's own parameters are judged before the client's secret is checked.
        (request, _reply, done) => {
          const body = request.body;
          try {
            grantHandler(body.grant_type);
            if (body.grant_type === DEVICE_CODE_GRANT && (body.device_code ?? '') === '') {
              throw new CoreError('invalid_request', 'missing required parameter: device_code');
            }
            done();
          } catch (err) {
            done(err as Error);
          }
        },
        authenticateForToken,
      ],
      config: { rateLimit: callerLimit(limits.token) },
      handler: async (request) => {
        const body = request.body;
        const from = () => requestContext(request, services.geoIp);
        return grantHandler(body.grant_type)(services, { env: request.env, issuer: request.envUrls.issuer, from }, callerOf(request), body);
      },
    });

    tokenStatusRoutes(app, services, { prefix: v.prefix, suffix: v.suffix, params: v.params !== undefined, authenticate: authenticateForToken });
    userInfoRoutes(app, services, { prefix: v.prefix, suffix: v.suffix, params: v.params !== undefined });

    r.get(`${v.prefix}/jwks`, {
      schema: {
        tags: ['oauth'],
        operationId: `getJwks${v.suffix}`,
        summary: 'JSON Web Key Set of the environment (active and still-valid retired keys)',
        ...(v.params ? { params: v.params } : {}),
        response: {
          200: jwksResponse,
          ...oauthErrorResponses(v.params ? [400, 404, 429, 503] : [404, 429, 503], {
            400: 'invalid_request: an envId that is too long or badly percent-encoded',
            404: v.params ? 'No such environment' : 'Not found',
            503: 'temporarily_unavailable: the environment\'s first key could not be stored, or the database cannot be reached (Retry-After)',
          }),
        },
      },
      config: { rateLimit: limitBy(limits.discovery, sourceKey) },
      handler: async (request, reply) => {
        reply.header('cache-control', 'public, max-age=60');
        return services.keys.jwks(request.env.id);
      },
    });
  }

  // Discovery (RFC 8414 and OpenID Connect Discovery), in every place clients look for it. The
  // OpenID Connect document is the RFC 8414 one and what an OpenID Provider must say besides.
  const metadataPaths = [
    { url: '/.well-known/oauth-authorization-server', params: false, openid: false, operationId: 'getAuthorizationServerMetadata' },
    { url: '/.well-known/openid-configuration', params: false, openid: true, operationId: 'getOpenIdConfiguration' },
    { url: '/:envId/as/.well-known/oauth-authorization-server', params: true, openid: false, operationId: 'getAuthorizationServerMetadataInEnvironment' },
    { url: '/:envId/as/.well-known/openid-configuration', params: true, openid: true, operationId: 'getOpenIdConfigurationInEnvironment' },
    // RFC 8414 §3.1: the well-known segment inserted before the issuer's path.
    { url: '/.well-known/oauth-authorization-server/:envId/as', params: true, openid: false, operationId: 'getAuthorizationServerMetadataForIssuer' },
  ];
  for (const m of metadataPaths) {
    r.get(m.url, {
      schema: {
        tags: ['oauth'],
        operationId: m.operationId,
        summary: m.openid ? 'OpenID Provider configuration (OpenID Connect Discovery 1.0)' : 'Authorization server metadata (RFC 8414)',
        ...(m.params ? { params: envParams } : {}),
        response: {
          200: m.openid ? openIdConfigurationResponse : metadataResponse,
          ...oauthErrorResponses(m.params ? [400, 404, 429, 503] : [404, 429, 503], {
            400: 'invalid_request: an envId that is too long or badly percent-encoded',
            404: m.params ? 'No such environment' : 'Not found',
            503: 'temporarily_unavailable: the database cannot be reached (Retry-After)',
          }),
        },
      },
      config: { rateLimit: limitBy(limits.discovery, sourceKey) },
      handler: async (request, reply) => {
        const ctx = request.envUrls;
        const clients = await services.store.clients.list(request.env.id);
        reply.header('cache-control', 'public, max-age=60');
        const metadata = {
          issuer: ctx.issuer,
          device_authorization_endpoint: ctx.deviceAuthorizationEndpoint,
          token_endpoint: ctx.tokenEndpoint,
          jwks_uri: ctx.jwksUri,
          revocation_endpoint: ctx.revocationEndpoint,
          introspection_endpoint: ctx.introspectionEndpoint,
          grant_types_supported: GRANT_TYPES_SUPPORTED,
          token_endpoint_auth_methods_supported: [...TOKEN_ENDPOINT_AUTH_METHODS],
          revocation_endpoint_auth_methods_supported: [...TOKEN_ENDPOINT_AUTH_METHODS],
          introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
          scopes_supported: [...new Set([...clients.flatMap((c) => c.scopes), OFFLINE_ACCESS])].sort(),
          response_types_supported: [],
        } satisfies z.input<typeof metadataResponse>;
        if (!m.openid) return metadata;
        return {
          ...metadata,
          // An OpenID Provider serves openid (OpenID Connect Core §3.1.2.1), whichever clients exist.
          scopes_supported: [...new Set([...metadata.scopes_supported, OPENID])].sort(),
          userinfo_endpoint: ctx.userinfoEndpoint,
          subject_types_supported: ['public' as const],
          id_token_signing_alg_values_supported: [...KEY_ALGS],
          claims_supported: CLAIMS_SUPPORTED,
          acr_values_supported: ACR_VALUES_SUPPORTED,
          // The device flow has no authorization request to carry these (RFC 8628 §3.1).
          claims_parameter_supported: false,
          request_parameter_supported: false,
          request_uri_parameter_supported: false,
        } satisfies z.input<typeof openIdConfigurationResponse>;
      },
    });
  }
};
