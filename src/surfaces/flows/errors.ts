// PingOne's error envelope for the flow API: {id, code, message, details?[{code, target, message, innerError}]}.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CoreError, CoreErrorCode } from '../../core/errors.ts';

type Wire = [status: number, code: string, message: string, detailCode?: string];

const INVALID_DATA = 'The request could not be completed. One or more validation errors were in the request.';

const wire: Record<CoreErrorCode, Wire> = {
  invalid_request: [400, 'INVALID_DATA', INVALID_DATA, 'INVALID_VALUE'],
  invalid_client: [400, 'INVALID_DATA', INVALID_DATA],
  invalid_grant: [400, 'INVALID_DATA', INVALID_DATA],
  unauthorized_client: [400, 'INVALID_DATA', INVALID_DATA],
  unsupported_grant_type: [400, 'INVALID_DATA', INVALID_DATA],
  invalid_scope: [400, 'INVALID_DATA', INVALID_DATA],
  authorization_pending: [400, 'INVALID_DATA', INVALID_DATA],
  slow_down: [400, 'INVALID_DATA', INVALID_DATA],
  access_denied: [403, 'ACCESS_FAILED', 'You do not have access to this resource.'],
  expired_token: [400, 'INVALID_DATA', INVALID_DATA],
  not_found: [404, 'NOT_FOUND', 'The requested resource was not found.'],
  conflict: [409, 'INVALID_DATA', INVALID_DATA],
  invalid_credentials: [400, 'INVALID_DATA', INVALID_DATA, 'INVALID_VALUE'],
  invalid_user_code: [400, 'INVALID_DATA', INVALID_DATA, 'INVALID_VALUE'],
  user_code_expired: [400, 'INVALID_DATA', INVALID_DATA, 'INVALID_VALUE'],
  user_code_used: [400, 'INVALID_DATA', INVALID_DATA, 'INVALID_VALUE'],
  too_many_attempts: [400, 'INVALID_DATA', INVALID_DATA, 'INVALID_VALUE'],
  flow_not_found: [404, 'NOT_FOUND', 'The requested resource was not found.'],
  flow_wrong_state: [400, 'INVALID_REQUEST', 'The request is not valid for the current status of the flow.'],
  route_not_found: [404, 'NOT_FOUND', 'The requested resource was not found.'],
  unsupported_media_type: [415, 'INVALID_REQUEST', 'The request content type is not supported.'],
  payload_too_large: [413, 'INVALID_REQUEST', 'The request body is too large.'],
  rate_limited: [429, 'REQUEST_LIMITED', 'Too many requests. Try again later.'],
  server_error: [500, 'UNEXPECTED_ERROR', 'An unexpected error occurred.'],
};

export function sendFlowError(request: FastifyRequest, reply: FastifyReply, err: CoreError): FastifyReply {
  let [status, code, message, detailCode] = wire[err.code];
  // The per-source budget is a rate limit; a flow failed by too many codes is a validation error.
  if (err.code === 'too_many_attempts' && err.details.retryAfter !== undefined) {
    [status, code, message] = [429, 'REQUEST_LIMITED', 'Too many requests. Try again later.'];
    detailCode = 'LIMIT_EXCEEDED';
  }
  const body: Record<string, unknown> = { id: request.id, code, message };
  if (detailCode !== undefined) {
    const detail: Record<string, unknown> = { code: detailCode, message: err.message };
    if (err.details.target !== undefined) detail.target = err.details.target;
    if (err.details.failuresRemaining !== undefined) detail.innerError = { failuresRemaining: err.details.failuresRemaining };
    body.details = [detail];
  }
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}
