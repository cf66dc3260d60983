// Generated from src/client by scripts/build-client.ts: do not edit.
import { type AuthorizationServerMetadata } from "./discovery.js";
import { type DeviceLoginResult } from "./device-login.js";
import { type ClientCredentials, type Clock, type TransportOptions } from "./transport.js";
export declare const REFRESH_TOKEN_GRANT_TYPE = "refresh_token";
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
export type RefreshTokenOptions = RefreshTokenCommon & ({
    issuer: string;
    metadata?: AuthorizationServerMetadata;
} | {
    metadata: AuthorizationServerMetadata;
    issuer?: string;
});
/**
 * The new token and where it came from; `token.refresh_token` is always set (the one to keep), and
 * `idTokenClaims` too when the answer carried an ID token (validated like a login's).
 */
export type RefreshTokenResult = DeviceLoginResult;
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
export declare function refreshToken(opts: RefreshTokenOptions): Promise<RefreshTokenResult>;
export {};
