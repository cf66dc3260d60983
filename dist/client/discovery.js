// Generated from src/client by scripts/build-client.ts: do not edit.
// Authorization server discovery for the device-login client: RFC 8414 metadata, then OpenID
// Connect Discovery, checked to name the issuer asked for and to point at usable URLs.
import { DeviceLoginError, printable } from "./errors.js";
import { checkUrl, send } from "./transport.js";
const optionalStrings = (v) => Array.isArray(v) && v.every((s) => typeof s === 'string') ? v : undefined;
/**
 * Reads the authorization server metadata of `issuer`: RFC 8414 first
 * (`/.well-known/oauth-authorization-server` inserted before the issuer's path, so this server's
 * per-environment issuers `PUBLIC_URL/{envID}/as` work), then OpenID Connect Discovery
 * (`{issuer}/.well-known/openid-configuration`). The metadata must name the same issuer (a trailing
 * slash aside), else it is refused (RFC 8414 §3.3).
 */
export async function discover(issuer, opts = {}) {
    const allowHttp = opts.allowHttp === true;
    const url = checkUrl(issuer, 'the issuer', allowHttp, 'discovery_failed');
    if (url.search !== '' || url.hash !== '')
        throw new DeviceLoginError('discovery_failed', 'the issuer must not have a query or fragment');
    const path = url.pathname.replace(/\/+$/, '');
    const candidates = [
        `${url.origin}/.well-known/oauth-authorization-server${path}`,
        `${url.origin}${path}/.well-known/openid-configuration`,
    ];
    const misses = [];
    for (const candidate of candidates) {
        const answer = await send(candidate, { method: 'GET', headers: { accept: 'application/json' } }, opts);
        if (answer.status !== 200 || answer.json === undefined) {
            misses.push(`${candidate}: ${answer.status === 200 ? 'not JSON' : `HTTP ${answer.status}`}`);
            continue;
        }
        return metadataFrom(answer.json, issuer, allowHttp);
    }
    throw new DeviceLoginError('discovery_failed', `no authorization server metadata for ${printable(issuer)} (${misses.map((m) => printable(m)).join('; ')})`);
}
function metadataFrom(json, requested, allowHttp) {
    const issuer = json.issuer;
    const strip = (s) => s.replace(/\/+$/, '');
    if (typeof issuer !== 'string' || strip(issuer) !== strip(requested)) {
        const named = typeof issuer === 'string' ? `"${printable(issuer)}"` : 'no issuer';
        throw new DeviceLoginError('issuer_mismatch', `the metadata at ${printable(requested)} names ${named}: refusing it (RFC 8414 §3.3)`);
    }
    if (json.device_authorization_endpoint === undefined) {
        throw new DeviceLoginError('discovery_failed', `${printable(issuer)} does not offer the device authorization grant (no device_authorization_endpoint)`);
    }
    const metadata = {
        issuer,
        device_authorization_endpoint: checkUrl(json.device_authorization_endpoint, 'device_authorization_endpoint', allowHttp).href,
        token_endpoint: checkUrl(json.token_endpoint, 'token_endpoint', allowHttp).href,
    };
    if (typeof json.jwks_uri === 'string')
        metadata.jwks_uri = json.jwks_uri;
    const methods = optionalStrings(json.token_endpoint_auth_methods_supported);
    if (methods)
        metadata.token_endpoint_auth_methods_supported = methods;
    const grants = optionalStrings(json.grant_types_supported);
    if (grants)
        metadata.grant_types_supported = grants;
    const scopes = optionalStrings(json.scopes_supported);
    if (scopes)
        metadata.scopes_supported = scopes;
    return metadata;
}
