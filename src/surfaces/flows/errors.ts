// PingOne's error envelope for the flow API: {id, code, message, details?[{code, target, message, innerError}]}.
import type { CoreErrorCode } from '../../core/errors.ts';
import { randomUUID } from 'node:crypto';
import type { ErrorSender, RawErrorRenderer } from '../../http/wire-format.ts';

/** The envelope's `code` and a detail's `code`, as this API answers them: enums in openapi.yaml. */
export const FLOW_ERROR_CODES = ['INVALID_DATA', 'INVALID_REQUEST', 'NOT_FOUND', 'ACCESS_FAILED', 'REQUEST_LIMITED', 'REQUEST_FAILED', 'UNEXPECTED_ERROR'] as const;
export const FLOW_ERROR_DETAIL_CODES = ['INVALID_VALUE', 'LIMIT_EXCEEDED', 'NETWORK_MISMATCH'] as const;

type Wire = [code: (typeof FLOW_ERROR_CODES)[number], message: string, detailCode?: (typeof FLOW_ERROR_DETAIL_CODES)[number]];

const INVALID_DATA = 'The request could not be completed. One or more validation errors were in the request.';
const invalid: Wire = ['INVALID_DATA', INVALID_DATA];
const invalidValue: Wire = ['INVALID_DATA', INVALID_DATA, 'INVALID_VALUE'];
const notFound: Wire = ['NOT_FOUND', 'The requested resource was not found.'];
const denied: Wire = ['ACCESS_FAILED', 'You do not have access to this resource.'];

const wire: Record<CoreErrorCode, Wire> = {
  invalid_request: invalidValue,
  invalid_client: invalid,
  invalid_grant: invalid,
  unauthorized_client: invalid,
  unsupported_grant_type: invalid,
  invalid_scope: invalid,
  authorization_pending: invalid,
  slow_down: invalid,
  access_denied: denied,
  expired_token: invalid,
  invalid_token: denied,
  forbidden: denied,
  insufficient_scope: denied,
  not_found: notFound,
  conflict: invalid,
  invalid_credentials: invalidValue,
  sign_in_throttled: ['REQUEST_LIMITED', 'Too many requests. Try again later.', 'LIMIT_EXCEEDED'],
  invalid_user_code: invalidValue,
  user_code_expired: invalidValue,
  user_code_used: invalidValue,
  too_many_attempts: invalidValue,
  // The code was right, but the client wants its approver on the device's network (README "Device policy").
  network_mismatch: ['INVALID_DATA', INVALID_DATA, 'NETWORK_MISMATCH'],
  guess_budget_exhausted: ['REQUEST_LIMITED', 'Too many requests. Try again later.', 'LIMIT_EXCEEDED'],
  flow_not_found: notFound,
  federation_failed: ['REQUEST_FAILED', 'The sign-in with the identity provider did not complete.'],
  flow_wrong_state: ['INVALID_REQUEST', 'The request is not valid for the current status of the flow.'],
  registration_refused: denied,
  invalid_registration_code: invalidValue,
  route_not_found: notFound,
  method_not_allowed: ['INVALID_REQUEST', 'The request method is not supported for this resource.'],
  unsupported_media_type: ['INVALID_REQUEST', 'The request content type is not supported.'],
  payload_too_large: ['INVALID_REQUEST', 'The request body is too large.'],
  rate_limited: ['REQUEST_LIMITED', 'Too many requests. Try again later.'],
  storage_full: ['REQUEST_FAILED', 'The request could not be completed right now. Try again later.'],
  limits_unavailable: ['REQUEST_FAILED', 'The request could not be completed right now. Try again later.'],
  database_unavailable: ['REQUEST_FAILED', 'The request could not be completed right now. Try again later.'],
  server_error: ['UNEXPECTED_ERROR', 'An unexpected error occurred.'],
};

export const sendFlowError: ErrorSender = (request, reply, err) => {
  const [code, message, detailCode] = wire[err.code];
  const body: Record<string, unknown> = { id: request.id, code, message };
  if (detailCode !== undefined) {
    const detail: Record<string, unknown> = { code: detailCode, message: err.message };
    if (err.details.target !== undefined) detail.target = err.details.target;
    if (err.details.failuresRemaining !== undefined) detail.innerError = { failuresRemaining: err.details.failuresRemaining };
    body.details = [detail];
  }
  return reply.code(err.status).type('application/json; charset=utf-8').send(body);
};

/** A request the HTTP parser refused, in PingOne's envelope (no request id was assigned: a fresh one). */
export const flowRawError: RawErrorRenderer = (status) => ({
  contentType: 'application/json; charset=utf-8',
  body: JSON.stringify({
    id: randomUUID(), code: 'INVALID_REQUEST',
    message: status === 431 ? 'The request headers are too large.' : status === 408 ? 'The request took too long to arrive.' : 'The request could not be read.',
  }),
});
