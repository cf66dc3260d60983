// The refresh_token grant (RFC 6749 §6) of the device-login client: a saved refresh token traded
// for a new access token (and, with rotation, a new refresh token), never retried.
import { discover, type AuthorizationServerMetadata } from './discovery.ts';
import { idTokenClaimsOf, tokenFrom, type DeviceLoginResult } from './device-login.ts';
import { DeviceLoginError, type DeviceLoginErrorCode } from './errors.ts';
import { oauthFailure, postForm, realClock, type ClientCredentials, type Clock, type TransportOptions } from './transport.ts';

export const REFRESH_TOKEN_GRANT_TYPE = 'refresh_token';

interface RefreshTokenCommon extends ClientCredentials, TransportOptions {
  /** The refresh token from the last token response. */
  refreshToken: string;
  /** Space-separated; may only narrow what was granted (RFC 6749 §6). The grant's scope when omitted. */
  scope?: string;
  /**
   * The `sub` of the ID token the login gave (its `idTokenClaims.sub`): a new ID token must name
   * the same person (OpenID Connect Core §12.2), else the refresh fails with `invalid_id_token`.
   */
  expectedSubject?: string;
  clock?: Clock;
}

/** Either the issuer (its metadata is discovered) or the metadata itself (no discovery). */
export type RefreshTokenOptions = RefreshTokenCommon & (
  | { issuer: string; metadata?: AuthorizationServerMetadata }
  | { metadata: AuthorizationServerMetadata; issuer?: string }
);

/**
 * The new token and where it came from; `token.refresh_token` is always set (the one to keep), and
 * `idTokenClaims` too when the answer carried an ID token (validated like a login's).
 */
export type RefreshTokenResult = DeviceLoginResult;

const REFRESH_ERROR_TEXT: Partial<Record<DeviceLoginErrorCode, string>> = {
  invalid_grant: 'the refresh token is no longer valid: it expired, was revoked or was already used',
  invalid_scope: 'the server refused the requested scope (a refresh may only narrow the scope that was granted)',
  unauthorized_client: 'this client may not use refresh tokens',
};

/**
 * RFC 6749 §6: trades a refresh token for a new access token. A server that rotates refresh tokens
 * (this one always does for public clients) sends a new one and the presented one is dead from then
 * on: keep `token.refresh_token` in its place. When the answer carries none, the presented token
 * stays valid and is returned there. A dead, revoked, reused or expired token is `invalid_grant`.
 * A new ID token is validated as a login's is, and must name `expectedSubject` when given
 * (OpenID Connect Core §12.2); the answer may also carry none. When it fails (`invalid_id_token`)
 * the refresh token presented may already be spent.
 *
 * Never retried: with rotation, a request the server handled but whose answer was lost would,
 * repeated, present a rotated-out token, which counts as reuse and revokes the whole grant.
 */
export async function refreshToken(opts: RefreshTokenOptions): Promise<RefreshTokenResult> {
  const clock = opts.clock ?? realClock;
  // JavaScript callers pass whatever their token file held.
  if (typeof (opts.refreshToken as unknown) !== 'string' || opts.refreshToken === '') throw new DeviceLoginError('invalid_request', 'there is no refresh token to present');
  const metadata = opts.metadata ?? (await discover(opts.issuer ?? '', opts));
  const params: Record<string, string> = { grant_type: REFRESH_TOKEN_GRANT_TYPE, refresh_token: opts.refreshToken };
  if (opts.scope !== undefined && opts.scope.trim() !== '') params.scope = opts.scope;
  const answer = await postForm(metadata.token_endpoint, params, opts, metadata, opts);
  if (answer.status !== 200) throw oauthFailure(answer, 'the refresh', REFRESH_ERROR_TEXT);
  const token = tokenFrom(answer);
  token.refresh_token ??= opts.refreshToken;
  const obtainedAt = clock.now();
  const idTokenClaims = await idTokenClaimsOf(token, { ...opts, metadata, clock });
  return idTokenClaims === undefined ? { token, metadata, obtainedAt } : { token, metadata, obtainedAt, idTokenClaims };
}
