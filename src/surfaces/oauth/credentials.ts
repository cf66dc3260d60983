// Client credentials as sent on the wire: HTTP Basic (RFC 6749 §2.3.1, form-urlencoded parts) or body.
import type { FastifyRequest } from 'fastify';
import type { ClientCredentials } from '../../core/client-auth.ts';
import { CoreError } from '../../core/errors.ts';

/** A Basic credential part, form-urlencoded; most ids and secrets have nothing encoded and come back as they are. */
function formDecode(part: string): string {
  if (!part.includes('%') && !part.includes('+')) return part;
  return decodeURIComponent(part.replace(/\+/g, ' '));
}

export function clientCredentials(request: FastifyRequest, body: { client_id?: string | undefined; client_secret?: string | undefined }): ClientCredentials {
  const creds: ClientCredentials = {};
  if (body.client_id !== undefined) creds.clientId = body.client_id;
  if (body.client_secret !== undefined) creds.clientSecret = body.client_secret;
  const header = request.headers.authorization;
  if (header === undefined) return creds;
  const match = /^Basic[ ]+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  const fail = () => new CoreError('invalid_client', 'malformed Basic credentials', { usedBasic: true });
  if (!match?.[1]) {
    if (/^Basic\b/i.test(header)) throw fail();
    throw new CoreError('invalid_request', 'unsupported Authorization scheme; use Basic or none');
  }
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw fail();
  try {
    creds.basic = { clientId: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    throw fail();
  }
  return creds;
}
