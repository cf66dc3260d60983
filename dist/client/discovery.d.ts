// Generated from src/client by scripts/build-client.ts: do not edit.
import { type TransportOptions } from "./transport.js";
/** The RFC 8414 fields this client uses. */
export interface AuthorizationServerMetadata {
    issuer: string;
    device_authorization_endpoint: string;
    token_endpoint: string;
    jwks_uri?: string;
    token_endpoint_auth_methods_supported?: string[];
    grant_types_supported?: string[];
    scopes_supported?: string[];
}
/**
 * Reads the authorization server metadata of `issuer`: RFC 8414 first
 * (`/.well-known/oauth-authorization-server` inserted before the issuer's path, so this server's
 * per-environment issuers `PUBLIC_URL/{envID}/as` work), then OpenID Connect Discovery
 * (`{issuer}/.well-known/openid-configuration`). The metadata must name the same issuer (a trailing
 * slash aside), else it is refused (RFC 8414 §3.3).
 */
export declare function discover(issuer: string, opts?: TransportOptions): Promise<AuthorizationServerMetadata>;
