// Generated from src/client by scripts/build-client.ts: do not edit.
// ID token validation for the device-login client (OpenID Connect Core 1.0 §3.1.3.7, §12.2): the
// signature by a key of the issuer's JWKS (jose's createRemoteJWKSet, fetched through the client's
// own fetch), the issuer, the audience and authorized party, the lifetime, and the types of the
// claims the result promises. A token that fails any of it is a DeviceLoginError `invalid_id_token`
// naming what failed; its claims are never handed out.
import { createRemoteJWKSet, customFetch, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import { DeviceLoginError, printable } from "./errors.js";
import { aborted, checkUrl, DEFAULT_TIMEOUT_MS, networkReason, realClock } from "./transport.js";
/** How far the two clocks may disagree before `exp` or `iat` is held against a token, in seconds. */
export const ID_TOKEN_CLOCK_TOLERANCE_SECONDS = 60;
// Public-key algorithms only: "none" proves nothing, and an HMAC would be keyed with a client
// secret this client may not have (OpenID Connect Core §10.1).
const ALGORITHMS = ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA', 'Ed25519'];
const STRING_CLAIMS = ['azp', 'nonce', 'acr', 'sid', 'name', 'given_name', 'family_name', 'preferred_username', 'email'];
const NUMBER_CLAIMS = ['auth_time', 'updated_at'];
function invalid(what) {
    return new DeviceLoginError('invalid_id_token', `the ID token ${what}`);
}
/** A NumericDate (seconds) for a message: ISO 8601 when it is a date at all. */
function timeText(seconds) {
    const date = new Date(seconds * 1000);
    return Number.isNaN(date.getTime()) ? String(seconds) : date.toISOString();
}
/** A claim's value for a message: a string quoted (made printable), anything else by its type. */
const quoted = (value) => (typeof value === 'string' ? `"${printable(value, 100)}"` : `a ${Array.isArray(value) ? 'list' : typeof value}`);
/**
 * Validates an ID token from a token response (OpenID Connect Core §3.1.3.7): signed with a
 * public-key algorithm by a key the issuer publishes at `jwks_uri`, `typ` JWT when present (so an
 * access token, `at+jwt`, is not taken for one), `iss` exactly the issuer, `aud` containing the
 * client (with `azp` the client when present, and required when there are several audiences),
 * `exp` not passed and `iat` not in the future (give or take ID_TOKEN_CLOCK_TOLERANCE_SECONDS), a
 * `sub`, and `expectedSubject` when given. There is no `nonce` to compare: the device flow has no
 * authorization request to carry one. Returns the claims; throws `invalid_id_token` naming what
 * failed, `network` when the keys cannot be fetched, `invalid_response` when they are unusable.
 */
export async function validateIdToken(idToken, opts) {
    const { metadata, clientId } = opts;
    const now = (opts.clock ?? realClock).now();
    if (metadata.jwks_uri === undefined)
        throw invalid(`cannot be verified: ${printable(metadata.issuer)} publishes no jwks_uri`);
    const jwksUri = checkUrl(metadata.jwks_uri, 'jwks_uri', opts.allowHttp === true).href;
    let payload;
    try {
        ({ payload } = await jwtVerify(idToken, issuerKeys(jwksUri, opts), {
            algorithms: ALGORITHMS,
            currentDate: new Date(now),
            clockTolerance: ID_TOKEN_CLOCK_TOLERANCE_SECONDS,
        }));
    }
    catch (err) {
        throw verificationFailure(err, jwksUri);
    }
    // jwtVerify checked `typ` only if asked; an ID token need not carry one (OpenID Connect Core §2),
    // but one that says it is something else, such as an access token (RFC 9068 §2.1), is not one.
    const typ = decodeProtectedHeader(idToken).typ;
    if (typ !== undefined && !(typeof typ === 'string' && ['jwt', 'application/jwt'].includes(typ.toLowerCase())))
        throw invalid(`has typ ${quoted(typ)}, not JWT`);
    if (payload.iss !== metadata.issuer) {
        throw invalid(payload.iss === undefined ? 'has no iss' : `was issued by ${quoted(payload.iss)}, not by ${printable(metadata.issuer)} (iss)`);
    }
    const aud = payload.aud;
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) && aud.every((a) => typeof a === 'string') ? aud : undefined;
    if (audiences === undefined)
        throw invalid(aud === undefined ? 'has no aud' : `has an aud that is not a string or a list of strings`);
    if (!audiences.includes(clientId))
        throw invalid(`is meant for ${audiences.map(quoted).join(', ') || 'nobody'}, not for this client ${quoted(clientId)} (aud)`);
    const azp = payload.azp;
    if (azp !== undefined && azp !== clientId)
        throw invalid(`was issued to ${quoted(azp)}, not to this client ${quoted(clientId)} (azp)`);
    if (azp === undefined && audiences.length > 1)
        throw invalid('has several audiences and no azp naming this client');
    // jwtVerify held a present exp against the clock; it must also be there.
    if (typeof payload.exp !== 'number')
        throw invalid('has no exp');
    if (typeof payload.iat !== 'number' || !Number.isFinite(payload.iat))
        throw invalid('has no iat');
    if (payload.iat * 1000 > now + ID_TOKEN_CLOCK_TOLERANCE_SECONDS * 1000) {
        throw invalid(`was issued in the future (iat ${timeText(payload.iat)}): check this machine's clock`);
    }
    if (typeof payload.sub !== 'string' || payload.sub === '')
        throw invalid('has no sub');
    if (opts.expectedSubject !== undefined && payload.sub !== opts.expectedSubject) {
        throw invalid(`names another person (sub ${quoted(payload.sub)}) than the sign-in it renews (sub ${quoted(opts.expectedSubject)})`);
    }
    return claimsOf(payload);
}
/** The claims with the types IdTokenClaims promises (OpenID Connect Core §2, §5.1). */
function claimsOf(payload) {
    for (const claim of STRING_CLAIMS) {
        if (payload[claim] !== undefined && typeof payload[claim] !== 'string')
            throw invalid(`has a ${claim} that is not a string`);
    }
    for (const claim of NUMBER_CLAIMS) {
        const value = payload[claim];
        if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value)))
            throw invalid(`has a ${claim} that is not a number`);
    }
    const amr = payload.amr;
    if (amr !== undefined && !(Array.isArray(amr) && amr.every((m) => typeof m === 'string')))
        throw invalid('has an amr that is not a list of strings');
    if (payload.email_verified !== undefined && typeof payload.email_verified !== 'boolean')
        throw invalid('has an email_verified that is not a boolean');
    return payload;
}
/**
 * The issuer's keys, fetched with the caller's fetch, abort signal and timeout. Failures to get
 * them are this client's errors, not jose's: a network failure is `network`, keys that cannot be
 * fetched or parsed are `invalid_response`.
 */
function issuerKeys(jwksUri, opts) {
    const fetchFn = opts.fetch ?? fetch;
    let status;
    const keys = createRemoteJWKSet(new URL(jwksUri), {
        // jose takes whole milliseconds only, and throws a TypeError otherwise.
        timeoutDuration: Math.max(0, Math.round(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS)),
        [customFetch]: async (url, init) => {
            const signal = opts.signal === undefined ? init.signal : AbortSignal.any([init.signal, opts.signal]);
            try {
                const res = await fetchFn(url, { ...init, signal });
                status = res.status;
                return res;
            }
            catch (err) {
                if (opts.signal?.aborted === true)
                    throw aborted();
                throw new DeviceLoginError('network', `cannot reach ${printable(url)} (${networkReason(err)})`, { cause: err });
            }
        },
    });
    return async (header, token) => {
        try {
            return await keys(header, token);
        }
        catch (err) {
            if (err instanceof DeviceLoginError || err instanceof errors.JWKSNoMatchingKey)
                throw err;
            const why = status !== undefined && status !== 200 ? `HTTP ${status}` : err instanceof Error ? printable(err.message, 100) : 'unusable';
            throw new DeviceLoginError('invalid_response', `cannot verify the ID token: the issuer's keys at ${printable(jwksUri)} are not usable (${why})`, { cause: err });
        }
    };
}
/** jose's verdict as a DeviceLoginError that says what failed. */
function verificationFailure(err, jwksUri) {
    if (err instanceof DeviceLoginError)
        return err;
    if (err instanceof errors.JWKSNoMatchingKey)
        return invalid(`is signed with a key that ${printable(jwksUri)} does not publish`);
    if (err instanceof errors.JWSSignatureVerificationFailed)
        return invalid(`has a signature that does not verify with the issuer's keys (${printable(jwksUri)})`);
    if (err instanceof errors.JOSEAlgNotAllowed)
        return invalid('is not signed with a public-key algorithm this client accepts (RS256, ES256, PS256, EdDSA and their kin)');
    if (err instanceof errors.JWTExpired) {
        const exp = err.payload.exp;
        return invalid(`expired${typeof exp === 'number' ? ` at ${timeText(exp)}` : ''} (exp)`);
    }
    if (err instanceof errors.JWTClaimValidationFailed)
        return invalid(err.claim === 'nbf' ? 'is not valid yet (nbf)' : `failed the ${err.claim} check (${printable(err.message, 100)})`);
    if (err instanceof errors.JOSEError)
        return invalid(`is not a valid signed JWT (${printable(err.message, 100)})`);
    throw err;
}
