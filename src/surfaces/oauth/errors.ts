// The RFC 6749 §5.2 wire format for every OAuth endpoint: {error, error_description} JSON.
import type { FastifyReply } from 'fastify';
import type { CoreError, CoreErrorCode } from '../../core/errors.ts';

type OAuthError =
  | 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type'
  | 'invalid_scope' | 'authorization_pending' | 'slow_down' | 'access_denied' | 'expired_token'
  | 'temporarily_unavailable' | 'server_error';

const wire: Record<CoreErrorCode, [status: number, error: OAuthError]> = {
  invalid_request: [400, 'invalid_request'],
  invalid_client: [401, 'invalid_client'],
  invalid_grant: [400, 'invalid_grant'],
  unauthorized_client: [400, 'unauthorized_client'],
  unsupported_grant_type: [400, 'unsupported_grant_type'],
  invalid_scope: [400, 'invalid_scope'],
  authorization_pending: [400, 'authorization_pending'],
  slow_down: [400, 'slow_down'],
  access_denied: [400, 'access_denied'],
  expired_token: [400, 'expired_token'],
  not_found: [404, 'invalid_request'],
  conflict: [409, 'invalid_request'],
  invalid_credentials: [400, 'invalid_request'],
  invalid_user_code: [400, 'invalid_request'],
  user_code_expired: [400, 'invalid_request'],
  user_code_used: [400, 'invalid_request'],
  too_many_attempts: [429, 'temporarily_unavailable'],
  flow_not_found: [404, 'invalid_request'],
  flow_wrong_state: [400, 'invalid_request'],
  route_not_found: [404, 'invalid_request'],
  unsupported_media_type: [415, 'invalid_request'],
  payload_too_large: [413, 'invalid_request'],
  rate_limited: [429, 'temporarily_unavailable'],
  server_error: [500, 'server_error'],
};

export function sendOAuthError(reply: FastifyReply, err: CoreError, realm: string): FastifyReply {
  const [status, error] = wire[err.code];
  if (err.code === 'invalid_client' && err.details.usedBasic) {
    // RFC 6749 §5.2: a failed Basic authentication answers 401 with a challenge for that scheme.
    reply.header('www-authenticate', `Basic realm="${realm}", charset="UTF-8"`);
  }
  return reply.code(status).type('application/json; charset=utf-8').send({ error, error_description: err.message });
}
