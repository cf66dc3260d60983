// Request and response schemas of the OAuth surface: they validate input once at the edge, act as
// output allow-lists, and generate openapi.yaml.
import { z } from 'zod';
import { described, errorResponses, type ErrorStatus } from '../../http/api-doc.ts';
import { envIdParam, text } from '../../http/params.ts';
import { DEVICE_CODE_GRANT, REFRESH_TOKEN_GRANT } from '../../model/records.ts';
import { OAUTH_ERROR_CODES } from './errors.ts';

/** A form parameter: one value, bounded, no NUL bytes. Duplicates are refused before this runs. */
export const formParam = text(4096);

export const oauthError = z
  .object({
    error: z.enum(OAUTH_ERROR_CODES).describe('RFC 6749 §5.2, RFC 8628 §3.5 or RFC 6750 §3.1 error code'),
    error_description: z.string().optional().describe('For people, not programs: branch on error'),
  })
  .meta({
    id: 'OAuthError',
    description: 'RFC 6749 §5.2 error',
    examples: [{ error: 'authorization_pending', error_description: 'the user has not yet approved the request' }],
  });

/** The OAuth front end's error responses, each described (`says` where a route knows more). */
export function oauthErrorResponses(statuses: readonly ErrorStatus[], says: Partial<Record<ErrorStatus, string>> = {}) {
  return errorResponses(described(oauthError), statuses, says);
}

/** What a 400 or 401 from a client-authenticating endpoint means (RFC 6749 §5.2). */
export const CLIENT_ERRORS = {
  401: 'invalid_client: client authentication failed (an unknown client, a wrong secret); with HTTP Basic, WWW-Authenticate: Basic',
  404: 'Under /{envId}/as: no such environment',
} as const;

export const deviceAuthorizationBody = z.object({
  client_id: formParam.optional().describe('Required unless the client authenticates with HTTP Basic'),
  client_secret: formParam.optional().describe('client_secret_post authentication (confidential clients)'),
  scope: formParam.optional().describe('Space-separated scopes; the client\'s allowed scopes when omitted'),
});

export const deviceAuthorizationResponse = z
  .object({
    device_code: z.string().describe('dc_…: what the device polls the token endpoint with; never shown'),
    user_code: z.string().describe('Display form XXXX-XXXX: what the person types'),
    verification_uri: z.string().describe('Where the person goes: the verification page'),
    verification_uri_complete: z.string().describe('verification_uri with the user code, for a QR code or a link'),
    expires_in: z.number().int().describe('Seconds until device_code and user_code expire'),
    interval: z.number().int().describe('Seconds to wait between polls (RFC 8628 §3.5: add 5 on slow_down)'),
  })
  .meta({
    id: 'DeviceAuthorizationResponse',
    description: 'The device and user codes (RFC 8628 §3.2): show user_code and verification_uri, then poll the token endpoint every interval seconds',
    examples: [{
      device_code: 'dc_4Kb0m0GQqUWzc0mZFq3jx9V1tJ7cR2yNw8LhS5dPaEo',
      user_code: 'WDJB-MJHT',
      verification_uri: 'http://127.0.0.1:3000/device',
      verification_uri_complete: 'http://127.0.0.1:3000/device?user_code=WDJB-MJHT',
      expires_in: 600,
      interval: 5,
    }],
  });

export const tokenBody = z.object({
  // The enum is documented, not validated here: any other value is RFC 6749 §5.2's unsupported_grant_type, not a malformed request.
  grant_type: formParam.meta({ enum: [DEVICE_CODE_GRANT, REFRESH_TOKEN_GRANT], description: 'The device_code grant (RFC 8628 §3.4) or refresh_token (RFC 6749 §6)' }),
  device_code: formParam.optional().describe('device_code grant'),
  refresh_token: formParam.optional().describe('refresh_token grant'),
  scope: formParam.optional().describe('refresh_token grant: narrower than the grant\'s scope, or omitted'),
  client_id: formParam.optional(),
  client_secret: formParam.optional(),
});

export const tokenResponse = z
  .object({
    access_token: z.string().describe('JWT (typ at+jwt) signed with the environment\'s key'),
    token_type: z.literal('Bearer'),
    expires_in: z.number().int(),
    scope: z.string(),
    refresh_token: z.string().optional().describe('rt_…: when the client may use refresh tokens and offline_access was approved (or it always gets one)'),
    id_token: z.string().optional().describe('OpenID Connect ID token (typ JWT): when the scope holds openid; names the person who approved, with the claims of the approved scopes'),
  })
  .meta({
    id: 'TokenResponse',
    description: 'The tokens (RFC 6749 §5.1): the person approved the device, or the refresh token was exchanged',
    examples: [{
      access_token: 'eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c3JfMSIsInNjb3BlIjoib3BlbmlkIn0.c2lnbmF0dXJl',
      token_type: 'Bearer',
      expires_in: 3600,
      scope: 'openid profile offline_access',
      refresh_token: 'rt_Zq3vX0pL9sNc2WbT7yKd4fHa1mUe8RgJ6oIiQtYwBxC',
    }],
  });

export const metadataResponse = z
  .object({
    issuer: z.string(),
    device_authorization_endpoint: z.string(),
    token_endpoint: z.string(),
    jwks_uri: z.string(),
    revocation_endpoint: z.string(),
    introspection_endpoint: z.string(),
    revocation_endpoint_auth_methods_supported: z.array(z.string()),
    introspection_endpoint_auth_methods_supported: z.array(z.string()),
    grant_types_supported: z.array(z.string()),
    token_endpoint_auth_methods_supported: z.array(z.string()),
    scopes_supported: z.array(z.string()),
    response_types_supported: z.array(z.string()),
    token_endpoint_auth_signing_alg_values_supported: z.array(z.string()).optional(),
  })
  .meta({ id: 'AuthorizationServerMetadata', description: 'Authorization server metadata (RFC 8414 §2)' });

/** OpenID Connect Discovery 1.0 §3: the RFC 8414 metadata and what an OpenID Provider must say besides. */
export const openIdConfigurationResponse = metadataResponse
  .extend({
    userinfo_endpoint: z.string(),
    subject_types_supported: z.array(z.enum(['public'])),
    id_token_signing_alg_values_supported: z.array(z.string()),
    claims_supported: z.array(z.string()),
    acr_values_supported: z.array(z.string()),
    claims_parameter_supported: z.boolean(),
    request_parameter_supported: z.boolean(),
    request_uri_parameter_supported: z.boolean(),
  })
  .meta({ id: 'OpenIdConfiguration', description: 'OpenID Provider metadata (OpenID Connect Discovery 1.0 §3)' });

export const jwksResponse = z
  .object({ keys: z.array(z.looseObject({ kty: z.string(), kid: z.string().optional() })) })
  .meta({ id: 'JSONWebKeySet', description: 'The public keys that verify this environment\'s tokens (RFC 7517 §5)' });

export const envParams = z.object({ envId: envIdParam });
