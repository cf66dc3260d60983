// Turns anything thrown while serving a request into a member of the closed error set. Surfaces
// then format CoreErrors only; what is not recognised here is a bug and becomes server_error.
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { CoreError, isCoreError } from '../core/errors.ts';
import { DatabaseUnavailableError } from '../store/store.ts';

/** A full disk is not fixed in a second; a client that comes back this much later may find room. */
export const STORAGE_FULL_RETRY_SECONDS = 30;
/** A database restart or failover takes seconds; a client that comes back this much later may find it back. */
export const DATABASE_UNAVAILABLE_RETRY_SECONDS = 5;

interface ZodLikeIssue {
  path?: readonly PropertyKey[];
  message?: string;
  code?: string;
  input?: unknown;
}

function describeValidation(issues: readonly ZodLikeIssue[], where: string): string {
  const issue = issues[0];
  if (!issue) return `invalid ${where}`;
  const name = issue.path?.map(String).join('.') ?? '';
  if (name === '') return `invalid ${where}: ${issue.message ?? 'malformed'}`;
  if (issue.code === 'invalid_type' && issue.input === undefined) return `missing required parameter: ${name}`;
  return `invalid parameter ${name}: ${issue.message ?? 'malformed'}`;
}

export function toCoreError(err: unknown): CoreError {
  if (isCoreError(err)) return err;
  // The store says so when the connection is what failed (store/postgres/db.ts), not the request.
  if (err instanceof DatabaseUnavailableError) {
    return new CoreError('database_unavailable', 'the server cannot reach its database right now; try again in a few seconds', {
      retryAfter: DATABASE_UNAVAILABLE_RETRY_SECONDS,
    });
  }
  if (hasZodFastifySchemaValidationErrors(err)) {
    const issues: ZodLikeIssue[] = err.validation.map((v) => ({
      path: v.instancePath.split('/').filter((p) => p !== ''),
      message: v.message,
      code: v.keyword,
      input: (v.params as { input?: unknown }).input,
    }));
    return new CoreError('invalid_request', describeValidation(issues, err.validationContext ?? 'request'));
  }
  if (err instanceof Error && 'code' in err && typeof err.code === 'string') {
    switch (err.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return new CoreError('payload_too_large', 'request body is too large');
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return new CoreError('unsupported_media_type', 'unsupported content type');
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return new CoreError('invalid_request', 'Content-Length does not match the body');
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return new CoreError('invalid_request', 'request body is empty');
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return new CoreError('invalid_request', 'malformed JSON body');
      case 'FST_ERR_BAD_URL':
      case 'FST_ERR_BAD_STATUS_CODE':
        return new CoreError('invalid_request', 'malformed request');
      case 'FST_ERR_VALIDATION':
        return new CoreError('invalid_request', err.message);
      // SQLite rolls the statement (or its transaction) back: nothing was written, and a retry
      // succeeds once there is room again. The store's own errors are not a client's, so this is
      // the one place they are recognised. PostgreSQL's disk_full (SQLSTATE 53100) is the same case.
      case 'SQLITE_FULL':
      case '53100':
        return new CoreError('storage_full', 'the server cannot store anything right now; try again later', { retryAfter: STORAGE_FULL_RETRY_SECONDS });
      default:
        break;
    }
  }
  // JSON.parse failures from the JSON content-type parser, and `__proto__` keys it refuses.
  if (err instanceof SyntaxError) return new CoreError('invalid_request', 'malformed JSON body');
  const status = err instanceof Error && 'statusCode' in err ? Number(err.statusCode) : 500;
  if (status === 415) return new CoreError('unsupported_media_type', 'unsupported content type');
  if (status === 413) return new CoreError('payload_too_large', 'request body is too large');
  if (status >= 400 && status < 500) return new CoreError('invalid_request', 'malformed request');
  return new CoreError('server_error', 'internal server error');
}
