// Generated from src/client by scripts/build-client.ts: do not edit.
import type { AuthorizationServerMetadata } from "./discovery.js";
import { type Clock, type TransportOptions } from "./transport.js";
/** How far the two clocks may disagree before `exp` or `iat` is held against a token, in seconds. */
export declare const ID_TOKEN_CLOCK_TOLERANCE_SECONDS = 60;
/** The claims of a validated ID token (OpenID Connect Core §2, §5.1); each typed one was checked to have its type. */
export interface IdTokenClaims {
    iss: string;
    /** The person, as the issuer identifies them: stable, never reassigned (OpenID Connect Core §5.7). */
    sub: string;
    aud: string | string[];
    exp: number;
    iat: number;
    azp?: string;
    auth_time?: number;
    nonce?: string;
    acr?: string;
    amr?: string[];
    sid?: string;
    name?: string;
    given_name?: string;
    family_name?: string;
    preferred_username?: string;
    email?: string;
    email_verified?: boolean;
    updated_at?: number;
    [claim: string]: unknown;
}
export interface ValidateIdTokenOptions extends TransportOptions {
    /** Where the token came from: its `issuer` must be the token's `iss`, its `jwks_uri` holds the keys. */
    metadata: AuthorizationServerMetadata;
    /** This client: the token's `aud` must contain it, and `azp`, when present, be it. */
    clientId: string;
    /** After a refresh: the `sub` of the ID token the login gave (OpenID Connect Core §12.2). */
    expectedSubject?: string;
    clock?: Clock;
}
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
export declare function validateIdToken(idToken: string, opts: ValidateIdTokenOptions): Promise<IdTokenClaims>;
