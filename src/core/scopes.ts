// Scope parsing and checking (RFC 6749 §3.3).
import { CoreError } from './errors.ts';
import { REFRESH_TOKEN_GRANT, type Client } from '../model/records.ts';

/** The scope that asks for a refresh token (OpenID Connect Core §11). */
export const OFFLINE_ACCESS = 'offline_access';

// scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export function parseScopeList(value: string): string[] {
  return [...new Set(value.split(' ').filter((s) => s.length > 0))];
}

export function isValidScopeToken(token: string): boolean {
  return SCOPE_TOKEN.test(token);
}

/** The granted scope string: the request narrowed to the client's scopes, or all of them when omitted. */
export function resolveScope(client: Client, requested: string | undefined): string {
  if (requested === undefined || requested.trim() === '') return client.scopes.join(' ');
  const tokens = parseScopeList(requested);
  const bad = tokens.find((t) => !isValidScopeToken(t));
  if (bad !== undefined) throw new CoreError('invalid_scope', 'scope is malformed');
  // Before the general check: the client's scopes lack offline_access exactly when it issues no
  // refresh tokens, and the fix is the operator's one command.
  if (tokens.includes(OFFLINE_ACCESS) && !client.grantTypes.includes(REFRESH_TOKEN_GRANT)) {
    throw new CoreError('invalid_scope', `client ${client.clientId} does not issue refresh tokens, so it cannot ask for offline_access: `
      + `enable them with \`device-code-server client update ${client.clientId} --refresh\`, or leave offline_access out of the scope`);
  }
  const unknown = tokens.filter((t) => !client.scopes.includes(t));
  if (unknown.length > 0) throw new CoreError('invalid_scope', `scope not allowed for this client: ${unknown.join(' ')}`);
  return tokens.join(' ');
}
