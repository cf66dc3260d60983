// Form-encoded bodies (RFC 6749 §3.2, RFC 8628 §3.1): checked before schema validation so that a
// wrong media type or a repeated parameter gets a precise error rather than a type mismatch.
import type { FastifyRequest } from 'fastify';
import { CoreError } from '../core/errors.ts';

export const FORM = 'application/x-www-form-urlencoded';

export function mediaType(request: FastifyRequest): string | undefined {
  return request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
}

export function requireFormBody(request: FastifyRequest): Promise<void> {
  const type = mediaType(request);
  if (type === undefined || request.body === undefined || request.body === null) {
    return Promise.reject(new CoreError('invalid_request', `expected a ${FORM} body`));
  }
  return formBody(request, type);
}

/** A form body if there is one: a request may also come without any (a POST carrying only a header). */
export function optionalFormBody(request: FastifyRequest): Promise<void> {
  const type = mediaType(request);
  if (request.body === undefined || request.body === null) return Promise.resolve();
  return formBody(request, type);
}

function formBody(request: FastifyRequest, type: string | undefined): Promise<void> {
  if (type !== FORM) return Promise.reject(new CoreError('unsupported_media_type', `content type must be ${FORM}`));
  for (const [name, value] of Object.entries(request.body as object)) {
    if (Array.isArray(value)) return Promise.reject(new CoreError('invalid_request', `parameter ${name} is repeated`));
  }
  return Promise.resolve();
}
